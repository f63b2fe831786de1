"""Optional ACL sync: source ACLs of the mirror topics, the selected groups and transactional ids
are created on the destination (so clients keep their rights after a cutover).

Copied, minus principals matched by ``lifecycle.acl_principals_exclude``:

- topic ACLs whose LITERAL name is a mirror topic, or whose PREFIXED name covers at least one
  (the prefix gets the mirror's ``[topics] prefix`` in front). A mirror is read-only, so as
  MirrorMaker 2 does: ALLOW WRITE is dropped and ALLOW ALL becomes ALLOW READ. ``promoted``
  topics (STOPPED) get their source ACLs unchanged, WRITE included: they are writable now;
- group ACLs (LITERAL or PREFIXED) whose name the offset-sync filters select;
- transactional-id ACLs (LITERAL or PREFIXED): they give no right on a topic by themselves, and
  transactional producers need them once they write to the destination.

Not copied: the wildcard ``*`` resource (it may cover topics that are not mirrored), cluster ACLs,
the linker's own read-only DENY. Never deleted on the destination: an ACL removed on the source
stays (additive, documented). What ACLs cannot carry (SCRAM credentials, client quotas) is
reported by ``sync_acls_and_report`` (``access_report.py``).
"""
from __future__ import annotations

import dataclasses
import logging
import re
from typing import Callable

from kproto.errors import ErrorCode
from linker.client import (AclBinding, AclFilter, AclOperation, AclPermission, Admin, Client, KafkaError,
                           PatternType, ResourceType)
from linker.lifecycle.access_report import AccessReport, report_access
from linker.lifecycle.acls import NoAuthorizer, is_read_only
from linker.naming import MirrorNames

log = logging.getLogger("linker.lifecycle")

PATTERNS = (PatternType.LITERAL, PatternType.PREFIXED)


async def describe_acls(client: Client) -> list[AclBinding]:
    """Every ACL of the cluster (DescribeAcls with match-any filters)."""
    try:
        return await Admin(client).describe_acls(AclFilter())
    except KafkaError as exc:
        if exc.code == ErrorCode.SECURITY_DISABLED:
            raise NoAuthorizer(f"{client.label}: no authorizer (SECURITY_DISABLED): no ACLs to sync") from exc
        raise


def _covers(b: AclBinding, topics: set[str]) -> set[str]:
    """The topics of ``topics`` a topic ACL applies to."""
    if b.pattern_type == PatternType.LITERAL:
        return {b.resource_name} & topics
    return {t for t in topics if t.startswith(b.resource_name)}


def read_only_form(b: AclBinding) -> AclBinding | None:
    """A topic ACL as it may stand on a read-only mirror (MirrorMaker 2's rule), or None."""
    if b.permission == AclPermission.ALLOW and b.operation == AclOperation.WRITE:
        return None
    if b.permission == AclPermission.ALLOW and b.operation == AclOperation.ALL:
        return dataclasses.replace(b, operation=AclOperation.READ)
    return b


def select_bindings(bindings: list[AclBinding], topics: set[str], group_selected: Callable[[str], bool],
                    principals_exclude: tuple[str, ...], promoted: set[str] = frozenset()) -> list[AclBinding]:
    """The source ACLs to copy, in their destination form before topic renaming (pure)."""
    out = set()
    for b in bindings:
        if (b.pattern_type not in PATTERNS or b.resource_name == "*"
                or any(re.fullmatch(p, b.principal) for p in principals_exclude)):
            continue
        if b.resource_type == ResourceType.TOPIC:
            if is_read_only(b):
                continue   # a read-only DENY is the linker's business, never copied
            covered = _covers(b, topics | promoted)
            if covered and covered <= promoted:
                out.add(b)
            elif covered and (ro := read_only_form(b)) is not None:
                out.add(ro)
        elif b.resource_type == ResourceType.GROUP and group_selected(b.resource_name):
            out.add(b)
        elif b.resource_type == ResourceType.TRANSACTIONAL_ID:
            out.add(b)
    return sorted(out)


def to_mirror(b: AclBinding, names: MirrorNames) -> AclBinding:
    """A source topic ACL as it applies on the destination: to the mirror topic (or prefix)."""
    return (dataclasses.replace(b, resource_name=names.mirror_topic(b.resource_name))
            if b.resource_type == ResourceType.TOPIC else b)


async def wanted_acls(source: Client, topics: set[str], group_selected: Callable[[str], bool],
                      principals_exclude: tuple[str, ...], names: MirrorNames = MirrorNames(),
                      promoted: set[str] = frozenset()) -> list[AclBinding]:
    """The selected source ACLs in their destination form (topic names mirrored)."""
    return [to_mirror(b, names) for b in
            select_bindings(await describe_acls(source), topics, group_selected, principals_exclude, promoted)]


async def create_missing(dest: Client, want: list[AclBinding]) -> list[AclBinding]:
    """Create the ACLs of `want` the destination lacks; returns those created."""
    have = set(await describe_acls(dest))
    todo = [b for b in want if b not in have]
    if not todo:
        return []
    await Admin(dest).create_acls(todo)
    log.info("ACL sync: created %d ACLs on the destination", len(todo))
    return todo


async def sync_acls(source: Client, dest: Client, topics: set[str], group_selected: Callable[[str], bool],
                    principals_exclude: tuple[str, ...], names: MirrorNames = MirrorNames(),
                    promoted: set[str] = frozenset()) -> list[AclBinding]:
    """Create the selected source ACLs missing on the destination; returns those created."""
    return await create_missing(dest, await wanted_acls(source, topics, group_selected, principals_exclude,
                                                        names, promoted))


async def sync_acls_and_report(source: Client, dest: Client, topics: set[str],
                               group_selected: Callable[[str], bool], principals_exclude: tuple[str, ...],
                               names: MirrorNames = MirrorNames(), promoted: set[str] = frozenset()
                               ) -> tuple[list[AclBinding], AccessReport]:
    """`sync_acls`, then what the destination still lacks for those ACLs' principals: SCRAM
    credentials, SCRAM users, client quotas (`access_report`)."""
    want = await wanted_acls(source, topics, group_selected, principals_exclude, names, promoted)
    created = await create_missing(dest, want)
    return created, await report_access(source, dest, {b.principal for b in want})
