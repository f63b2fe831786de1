"""Read-only mirrors on a destination with an authorizer: DENY WRITE for ``User:*``.

Kafka ACLs have no "everyone but X": a DENY for ``User:*`` on the mirror topic
blocks every principal, and DENY wins over any ALLOW. Only super users bypass
the authorizer, so the linker's destination principal must be in the
destination's ``super.users`` (checked: the first mirrored produce would fail
with TOPIC_AUTHORIZATION_FAILED and the partition goes FAILED, loudly).
Removed when the topic is STOPPED. A destination without an authorizer answers
SECURITY_DISABLED: then nothing is managed (documented limits).
"""
from __future__ import annotations

import logging

from kproto import messages
from linker.client.errors import ClientError
from linker.client.kafka_errors import error_name
from linker.mirror.kafka_io import ClusterIO

log = logging.getLogger("linker.lifecycle")

TOPIC, LITERAL, WRITE, DENY = 2, 3, 4, 2
SECURITY_DISABLED = 54
EVERYONE = "User:*"


class NoAuthorizer(ClientError):
    """The destination has no authorizer: ACLs cannot make mirrors read-only."""


async def deny_writes(io: ClusterIO, topics: list[str]) -> None:
    """DENY WRITE for User:* on each topic (creating an existing ACL again is a no-op)."""
    if not topics:
        return
    R = messages.CreateAclsRequest
    conn = await io.any_connection()
    resp = await conn.request(R(creations=[R.AclCreation(
        resource_type=TOPIC, resource_name=t, resource_pattern_type=LITERAL, principal=EVERYONE, host="*",
        operation=WRITE, permission_type=DENY) for t in topics]))
    for t, r in zip(topics, resp.results):
        if r.error_code == SECURITY_DISABLED:
            raise NoAuthorizer(f"{io.label}: no authorizer (SECURITY_DISABLED): mirrors cannot be made read-only")
        if r.error_code:
            raise ClientError(f"{io.label}: CreateAcls DENY WRITE on {t}: {error_name(r.error_code)} "
                              f"{r.error_message or ''}")


async def allow_writes(io: ClusterIO, topics: list[str]) -> int:
    """Remove the linker's DENY WRITE ACLs from ``topics``; returns how many were removed."""
    if not topics:
        return 0
    R = messages.DeleteAclsRequest
    conn = await io.any_connection()
    resp = await conn.request(R(filters=[R.DeleteAclsFilter(
        resource_type_filter=TOPIC, resource_name_filter=t, pattern_type_filter=LITERAL,
        principal_filter=EVERYONE, host_filter="*", operation=WRITE, permission_type=DENY) for t in topics]))
    removed = 0
    for t, r in zip(topics, resp.filter_results):
        if r.error_code == SECURITY_DISABLED:
            return 0
        if r.error_code:
            raise ClientError(f"{io.label}: DeleteAcls on {t}: {error_name(r.error_code)} {r.error_message or ''}")
        removed += len(r.matching_acls)
    return removed
