"""The rights the linker's principals lack on each cluster, asked read-only.

The brokers say themselves what the caller may do: Metadata with
``include_topic_authorized_operations`` (per topic) and DescribeCluster with
``include_cluster_authorized_operations`` (cluster). A topic that does not exist yet
has no operations to report: whether the destination principal may CREATE it is
the cluster's CREATE, else read from DescribeAcls (MATCH filter) when the principal
may describe ACLs and the link file names it (SASL); otherwise "not checked".
Without an authorizer the brokers report every operation: nothing is missing.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from linker.client import (AclFilter, AclOperation, AclPermission, Admin, Client, ClientError, PatternType,
                           ResourceType)
from linker.client.inspect import cluster_operations, group_operations, topic_operations

# What `linker run` does with each kind of resource (docs/operations.md lists them).
SOURCE_TOPIC = (AclOperation.DESCRIBE, AclOperation.READ, AclOperation.DESCRIBE_CONFIGS)
DEST_TOPIC = (AclOperation.DESCRIBE, AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE_CONFIGS,
              AclOperation.ALTER_CONFIGS)
#: cluster rights for ACL management (manage_acls, sync_acls): DescribeAcls and CreateAcls/DeleteAcls
ACL_MANAGEMENT = (AclOperation.DESCRIBE, AclOperation.ALTER)
#: offset sync on the destination: DescribeGroups (members), OffsetCommit
DEST_GROUP = (AclOperation.DESCRIBE, AclOperation.READ)
#: at most this many of the source's groups are probed on the destination
GROUP_PROBES = 50


@dataclass
class AccessFindings:
    """Missing rights (each blocks something `linker run` does) and what could not be checked."""
    missing: list[str] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _names(ops: tuple[AclOperation, ...] | list[AclOperation]) -> str:
    return ", ".join(op.name for op in ops)


def _missing_ops(have: frozenset[AclOperation] | None, need: tuple[AclOperation, ...]) -> list[AclOperation]:
    if have is None or AclOperation.ALL in have:
        return []
    return [op for op in need if op not in have]


async def _cluster_ops(client: Client, side: str, out: AccessFindings) -> frozenset[AclOperation] | None:
    try:
        return await cluster_operations(client)
    except ClientError as exc:
        out.not_checked.append(f"{side}: cluster operations (DescribeCluster): {exc}")
        return None


async def check_source(client: Client, topics: list[str], sync_acls: bool, out: AccessFindings) -> None:
    """Source topics: DESCRIBE, READ, DESCRIBE_CONFIGS; with sync_acls the cluster's DESCRIBE."""
    ops = await topic_operations(client, topics)
    for t in topics:
        lack = _missing_ops(ops.get(t), SOURCE_TOPIC)
        if lack:
            out.missing.append(f"source: topic {t}: {_names(lack)}")
    cluster = await _cluster_ops(client, "source", out)
    if cluster is not None and AclOperation.ALL not in cluster and AclOperation.DESCRIBE not in cluster:
        if sync_acls:
            out.missing.append("source: cluster DESCRIBE (lifecycle.sync_acls reads the source's ACLs)")
        out.notes.append("source: no cluster DESCRIBE: ListGroups shows only groups the principal may "
                         "describe (offset sync skips the others), DescribeLogDirs is refused")


async def _may_create(client: Client, topic: str, principal: str | None) -> bool | None:
    """Does an ACL let ``principal`` CREATE ``topic`` (None: cannot tell)?"""
    if principal is None:
        return None
    try:
        acls = await Admin(client).describe_acls(AclFilter(ResourceType.TOPIC, topic, pattern_type=PatternType.MATCH))
    except ClientError:
        return None
    mine = [a for a in acls if a.principal in (principal, "User:*")
            and a.operation in (AclOperation.CREATE, AclOperation.ALL)]
    if any(a.permission == AclPermission.DENY for a in mine):
        return False
    return any(a.permission == AclPermission.ALLOW for a in mine)


async def check_destination(client: Client, existing: list[str], to_create: list[str], principal: str | None,
                            manage_acls: bool, out: AccessFindings) -> None:
    """Existing mirror topics (and the state topic): DESCRIBE, READ, WRITE, DESCRIBE_CONFIGS,
    ALTER_CONFIGS; missing ones: CREATE; with manage_acls or sync_acls the cluster's DESCRIBE, ALTER."""
    ops = await topic_operations(client, existing)
    for t in existing:
        lack = _missing_ops(ops.get(t), DEST_TOPIC)
        if lack:
            out.missing.append(f"destination: topic {t}: {_names(lack)}")
    cluster = await _cluster_ops(client, "destination", out)
    if to_create and cluster is not None and AclOperation.ALL not in cluster and AclOperation.CREATE not in cluster:
        for t in to_create:
            allowed = await _may_create(client, t, principal)
            if allowed is None:
                out.not_checked.append(f"destination: CREATE of topic {t}: no cluster CREATE, and topic ACLs "
                                       "could not be read (DescribeAcls refused, or no SASL principal)")
            elif not allowed:
                out.missing.append(f"destination: topic {t}: CREATE (it does not exist yet)")
    if manage_acls and cluster is not None:
        lack = _missing_ops(cluster, ACL_MANAGEMENT)
        if lack:
            out.missing.append(f"destination: cluster {_names(lack)} (lifecycle.manage_acls/sync_acls "
                               "create and delete ACLs)")


async def check_groups(source: Client, dest: Client, selected: Callable[[str], bool], out: AccessFindings) -> None:
    """Offset sync: the groups the source shows (ListGroups lists only those the principal may
    describe) that the link selects; on the destination each needs DESCRIBE and READ."""
    try:
        groups = sorted({g.group_id for g in await Admin(source).list_groups() if selected(g.group_id)})
    except ClientError as exc:
        out.not_checked.append(f"source: consumer groups (ListGroups): {exc}")
        return
    if len(groups) > GROUP_PROBES:
        out.notes.append(f"{len(groups)} consumer groups selected for offset sync: the first {GROUP_PROBES} "
                         "were checked on the destination")
        groups = groups[:GROUP_PROBES]
    try:
        ops = await group_operations(dest, groups)
    except ClientError as exc:
        out.not_checked.append(f"destination: consumer groups (DescribeGroups): {exc}")
        return
    for g in groups:
        lack = _missing_ops(ops.get(g), DEST_GROUP)
        if lack:
            out.missing.append(f"destination: group {g}: {_names(lack)} (offset sync commits its offsets)")
