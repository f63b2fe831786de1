"""Read-only mirrors on a destination with an authorizer: DENY WRITE for ``User:*``.

Kafka ACLs have no "everyone but X": a DENY for ``User:*`` on the mirror topic
blocks every principal, and DENY wins over any ALLOW. Only super users bypass
the authorizer, so this form is used only when the linker's destination
principal is in the destination's ``super.users`` (probed at start: ``acls_bind``).
Removed when the topic is STOPPED. A destination without an authorizer answers
SECURITY_DISABLED: then nothing is managed (documented limits).

Fencing the linker itself (issue 21, finding 2): before a topic is recorded STOPPED, a DENY WRITE
for the linker's own principal on that mirror topic, kept for good, so a stale linker (a paused
process resumed, a partitioned old owner) is refused by the broker. An ACL binds only a principal
that is not a super user, and a DENY for ``User:*`` would bind such a linker too: a linker that
ACLs bind (``acls_bind``) therefore gets no ``User:*`` DENY, and other principals are kept off its
mirrors only by having no ALLOW WRITE there (docs/lifecycle.md, "Who may write when").
"""
from __future__ import annotations

import logging

from kproto.errors import ErrorCode
from linker.client import (AclBinding, AclFilter, AclOperation, AclPermission, Admin, Client,
                           ClientError, ConfigResourceType, KafkaError, PatternType, ResourceType,
                           SaslCredentials)

log = logging.getLogger("linker.lifecycle")

EVERYONE = "User:*"


class NoAuthorizer(ClientError):
    """The destination has no authorizer: ACLs cannot make mirrors read-only."""


def read_only(topic: str) -> AclBinding:
    """The linker's DENY WRITE for everyone on one topic."""
    return AclBinding(ResourceType.TOPIC, topic, EVERYONE, AclOperation.WRITE, AclPermission.DENY,
                      "*", PatternType.LITERAL)


def fence_binding(topic: str, principal: str) -> AclBinding:
    """DENY WRITE for the linker's own principal on a promoted mirror topic (never removed)."""
    return AclBinding(ResourceType.TOPIC, topic, principal, AclOperation.WRITE, AclPermission.DENY,
                      "*", PatternType.LITERAL)


def linker_principal(sasl: SaslCredentials | None) -> str | None:
    """The principal the destination credentials authenticate as, when the link file tells it:
    ``User:<username>`` for SASL (Kafka's default principal builder). A TLS client certificate's
    principal depends on the broker's mapping rules: None (no fence by ACL; documented)."""
    return f"User:{sasl.username}" if sasl is not None else None


def _as_filter(b: AclBinding) -> AclFilter:
    return AclFilter(b.resource_type, b.resource_name, b.principal, b.operation, b.permission, b.host,
                     b.pattern_type)


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


async def fence_linker(client: Client, principal: str, topics: list[str]) -> None:
    """DENY WRITE for the linker's principal on promoted mirror topics (idempotent)."""
    if not topics:
        return
    try:
        await Admin(client).create_acls([fence_binding(t, principal) for t in topics])
    except KafkaError as exc:
        if exc.code == ErrorCode.SECURITY_DISABLED:
            raise NoAuthorizer(f"{client.label}: no authorizer (SECURITY_DISABLED): "
                               "the linker cannot be fenced by ACLs") from exc
        raise


async def acls_bind(client: Client, principal: str, probe_topic: str) -> bool:
    """Do ACLs bind ``principal`` (False: a super user)? A DENY DESCRIBE_CONFIGS for it on a topic
    name nobody uses, then DescribeConfigs of that topic: refused only if the DENY applies. The
    broker does not tell its ``super.users`` (DescribeConfigs returns it as null)."""
    deny = AclBinding(ResourceType.TOPIC, probe_topic, principal, AclOperation.DESCRIBE_CONFIGS,
                      AclPermission.DENY, "*", PatternType.LITERAL)
    admin = Admin(client)
    await admin.create_acls([deny])
    try:
        await admin.describe_configs([(ConfigResourceType.TOPIC, probe_topic)])
    except KafkaError as exc:
        return exc.code == ErrorCode.TOPIC_AUTHORIZATION_FAILED
    finally:
        await admin.delete_acls([_as_filter(deny)])
    return False


async def allow_writes(client: Client, topics: list[str]) -> int:
    """Remove the linker's DENY WRITE ACLs from ``topics``; returns how many were removed."""
    if not topics:
        return 0
    try:
        return await Admin(client).delete_acls([_as_filter(read_only(t)) for t in topics])
    except KafkaError as exc:
        if exc.code == ErrorCode.SECURITY_DISABLED:
            return 0
        raise
