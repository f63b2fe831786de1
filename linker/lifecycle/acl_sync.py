"""Optional ACL sync: source ACLs of the mirror topics and the selected groups are
created on the destination (so clients keep their rights after a cutover).

Copied: LITERAL topic ACLs whose resource is a mirror topic, LITERAL group ACLs
of groups the offset-sync filters select, minus principals matched by
``lifecycle.acl_principals_exclude``. Not copied: prefixed and wildcard
patterns (they may cover topics that are not mirrored), cluster and
transactional-id ACLs, the linker's own read-only DENY. Never deleted on the
destination: an ACL removed on the source stays (additive, documented).
"""
from __future__ import annotations

import dataclasses
import logging
import re
from typing import Callable

from kproto.errors import ErrorCode
from linker.client import AclBinding, AclFilter, Admin, Client, KafkaError, PatternType, ResourceType
from linker.lifecycle.acls import NoAuthorizer, is_read_only
from linker.naming import MirrorNames

log = logging.getLogger("linker.lifecycle")


async def describe_acls(client: Client) -> list[AclBinding]:
    """Every ACL of the cluster (DescribeAcls with match-any filters)."""
    try:
        return await Admin(client).describe_acls(AclFilter())
    except KafkaError as exc:
        if exc.code == ErrorCode.SECURITY_DISABLED:
            raise NoAuthorizer(f"{client.label}: no authorizer (SECURITY_DISABLED): no ACLs to sync") from exc
        raise


def select_bindings(bindings: list[AclBinding], topics: set[str], group_selected: Callable[[str], bool],
                    principals_exclude: tuple[str, ...]) -> list[AclBinding]:
    """The source ACLs to copy (pure)."""
    out = []
    for b in bindings:
        if b.pattern_type != PatternType.LITERAL or any(re.fullmatch(p, b.principal) for p in principals_exclude):
            continue
        if b.resource_type == ResourceType.TOPIC and b.resource_name in topics:
            if is_read_only(b):
                continue   # a read-only DENY is the linker's business, never copied
            out.append(b)
        elif b.resource_type == ResourceType.GROUP and group_selected(b.resource_name):
            out.append(b)
    return sorted(out)


def to_mirror(b: AclBinding, names: MirrorNames) -> AclBinding:
    """A source topic ACL as it applies on the destination: to the mirror topic."""
    return (dataclasses.replace(b, resource_name=names.mirror_topic(b.resource_name))
            if b.resource_type == ResourceType.TOPIC else b)


async def sync_acls(source: Client, dest: Client, topics: set[str], group_selected: Callable[[str], bool],
                    principals_exclude: tuple[str, ...], names: MirrorNames = MirrorNames()) -> list[AclBinding]:
    """Create the selected source ACLs missing on the destination; returns those created."""
    want = [to_mirror(b, names) for b in
            select_bindings(await describe_acls(source), topics, group_selected, principals_exclude)]
    have = set(await describe_acls(dest))
    todo = [b for b in want if b not in have]
    if not todo:
        return []
    await Admin(dest).create_acls(todo)
    log.info("ACL sync: created %d ACLs on the destination", len(todo))
    return todo
