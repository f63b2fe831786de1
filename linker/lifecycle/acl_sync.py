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

import logging
import re
from typing import Callable, NamedTuple

from kproto import messages
from linker.client.errors import ClientError
from linker.client.kafka_errors import error_name
from linker.lifecycle.acls import DENY, EVERYONE, LITERAL, TOPIC, WRITE, NoAuthorizer, SECURITY_DISABLED
from linker.mirror.kafka_io import ClusterIO
from linker.naming import MirrorNames

log = logging.getLogger("linker.lifecycle")

GROUP, ANY = 3, 1


class Binding(NamedTuple):
    resource_type: int
    name: str
    pattern_type: int
    principal: str
    host: str
    operation: int
    permission: int


async def describe_acls(io: ClusterIO) -> list[Binding]:
    """Every ACL of the cluster (DescribeAcls with match-any filters)."""
    R = messages.DescribeAclsRequest
    conn = await io.any_connection()
    resp = await conn.request(R(resource_type_filter=ANY, resource_name_filter=None, pattern_type_filter=ANY,
                                principal_filter=None, host_filter=None, operation=ANY, permission_type=ANY))
    if resp.error_code == SECURITY_DISABLED:
        raise NoAuthorizer(f"{io.label}: no authorizer (SECURITY_DISABLED): no ACLs to sync")
    if resp.error_code:
        raise ClientError(f"{io.label}: DescribeAcls: {error_name(resp.error_code)} {resp.error_message or ''}")
    return [Binding(r.resource_type, r.resource_name, r.pattern_type, a.principal, a.host, a.operation,
                    a.permission_type) for r in resp.resources for a in r.acls]


def select_bindings(bindings: list[Binding], topics: set[str], group_selected: Callable[[str], bool],
                    principals_exclude: tuple[str, ...]) -> list[Binding]:
    """The source ACLs to copy (pure)."""
    out = []
    for b in bindings:
        if b.pattern_type != LITERAL or any(re.fullmatch(p, b.principal) for p in principals_exclude):
            continue
        if b.resource_type == TOPIC and b.name in topics:
            if (b.principal, b.operation, b.permission) == (EVERYONE, WRITE, DENY):
                continue   # a read-only DENY is the linker's business, never copied
            out.append(b)
        elif b.resource_type == GROUP and group_selected(b.name):
            out.append(b)
    return sorted(out)


def to_mirror(b: Binding, names: MirrorNames) -> Binding:
    """A source topic ACL as it applies on the destination: to the mirror topic."""
    return b._replace(name=names.mirror_topic(b.name)) if b.resource_type == TOPIC else b


async def sync_acls(source: ClusterIO, dest: ClusterIO, topics: set[str], group_selected: Callable[[str], bool],
                    principals_exclude: tuple[str, ...], names: MirrorNames = MirrorNames()) -> list[Binding]:
    """Create the selected source ACLs missing on the destination; returns those created."""
    want = [to_mirror(b, names) for b in
            select_bindings(await describe_acls(source), topics, group_selected, principals_exclude)]
    have = set(await describe_acls(dest))
    todo = [b for b in want if b not in have]
    if not todo:
        return []
    R = messages.CreateAclsRequest
    conn = await dest.any_connection()
    resp = await conn.request(R(creations=[R.AclCreation(
        resource_type=b.resource_type, resource_name=b.name, resource_pattern_type=b.pattern_type,
        principal=b.principal, host=b.host, operation=b.operation, permission_type=b.permission) for b in todo]))
    for b, r in zip(todo, resp.results):
        if r.error_code:
            raise ClientError(f"{dest.label}: CreateAcls {b}: {error_name(r.error_code)} {r.error_message or ''}")
    log.info("ACL sync: created %d ACLs on the destination", len(todo))
    return todo
