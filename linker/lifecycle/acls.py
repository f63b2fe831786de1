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

from kproto.errors import ErrorCode
from linker.client import (AclBinding, AclFilter, AclOperation, AclPermission, Admin, Client,
                           ClientError, KafkaError, PatternType, ResourceType)

log = logging.getLogger("linker.lifecycle")

EVERYONE = "User:*"


class NoAuthorizer(ClientError):
    """The destination has no authorizer: ACLs cannot make mirrors read-only."""


def read_only(topic: str) -> AclBinding:
    """The linker's DENY WRITE for everyone on one topic."""
    return AclBinding(ResourceType.TOPIC, topic, EVERYONE, AclOperation.WRITE, AclPermission.DENY,
                      "*", PatternType.LITERAL)


def is_read_only(b: AclBinding) -> bool:
    return (b.resource_type, b.principal, b.operation, b.permission) == (
        ResourceType.TOPIC, EVERYONE, AclOperation.WRITE, AclPermission.DENY)


async def deny_writes(client: Client, topics: list[str]) -> None:
    """DENY WRITE for User:* on each topic (creating an existing ACL again is a no-op)."""
    if not topics:
        return
    try:
        await Admin(client).create_acls([read_only(t) for t in topics])
    except KafkaError as exc:
        if exc.code == ErrorCode.SECURITY_DISABLED:
            raise NoAuthorizer(f"{client.label}: no authorizer (SECURITY_DISABLED): "
                               "mirrors cannot be made read-only") from exc
        raise


async def allow_writes(client: Client, topics: list[str]) -> int:
    """Remove the linker's DENY WRITE ACLs from ``topics``; returns how many were removed."""
    if not topics:
        return 0
    mine = [read_only(t) for t in topics]
    try:
        return await Admin(client).delete_acls([AclFilter(
            b.resource_type, b.resource_name, b.principal, b.operation, b.permission, b.host,
            b.pattern_type) for b in mine])
    except KafkaError as exc:
        if exc.code == ErrorCode.SECURITY_DISABLED:
            return 0
        raise
