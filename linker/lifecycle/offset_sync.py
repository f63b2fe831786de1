"""Consumer offset sync: committed offsets of selected groups, source -> destination.

Offsets are identical on both clusters (exact mirror), so nothing is
translated. Rules: a group with members on the destination is never
overwritten (classic groups via DescribeGroups, KIP-848 consumer groups via
ConsumerGroupDescribe); an offset is clamped to the destination high watermark
(what a consumer can read) and the clamp is reported; the commit is an admin
commit (generation -1, no member id), which the group coordinator accepts for
a group without members.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

from kproto import messages
from linker.client.errors import ClientError
from linker.client.kafka_errors import error_name
from linker.mirror.kafka_io import LATEST, TP, ClusterIO, PartitionError
from linker.naming import MirrorNames

log = logging.getLogger("linker.lifecycle")

# Versions that still name topics (OffsetFetch/OffsetCommit 10+ use topic ids).
OFFSET_FETCH_V = 8
OFFSET_COMMIT_V = 8
GROUP_ID_NOT_FOUND = 69
COORDINATOR_RETRY = (14, 15, 16)   # loading, not available, not coordinator


@dataclass
class GroupSync:
    """One group's outcome; ``lag`` is source offsets minus what was written (clamps)."""
    group: str
    at: float = field(default_factory=time.time)
    committed: dict[TP, int] = field(default_factory=dict)
    clamped: dict[TP, tuple[int, int]] = field(default_factory=dict)   # tp: (source offset, written)
    skipped: str = ""
    errors: dict[TP, str] = field(default_factory=dict)

    @property
    def lag(self) -> int:
        return sum(s - w for s, w in self.clamped.values())

    def line(self) -> str:
        if self.skipped:
            return f"group {self.group}: skipped ({self.skipped})"
        clamps = "".join(f"; {t}-{p} clamped {s} -> {w}" for (t, p), (s, w) in sorted(self.clamped.items()))
        errs = "".join(f"; {t}-{p} {e}" for (t, p), e in sorted(self.errors.items()))
        return (f"group {self.group}: synced {len(self.committed)} partitions at "
                f"{time.strftime('%H:%M:%S', time.localtime(self.at))}, sync lag {self.lag}{clamps}{errs}")


async def coordinator(io: ClusterIO, group: str) -> Any:
    """A connection to ``group``'s coordinator."""
    R = messages.FindCoordinatorRequest
    for attempt in range(10):
        conn = await io.any_connection()
        resp = await conn.request(R(key="", key_type=0, coordinator_keys=[group]))
        c = resp.coordinators[0]
        if c.error_code == 0:
            if c.node_id not in io.snapshot.brokers:
                await io.refresh([])
            return await io.connection(c.node_id)
        if c.error_code not in COORDINATOR_RETRY:
            raise ClientError(f"{io.label}: FindCoordinator({group}): {error_name(c.error_code)}")
        await asyncio.sleep(0.1 * 2 ** min(attempt, 4))
    raise ClientError(f"{io.label}: no coordinator for group {group}")


async def list_groups(io: ClusterIO) -> list[str]:
    """Every group on every broker of ``io`` (ListGroups is answered per broker)."""
    if not io.snapshot.brokers:
        await io.refresh([])
    names: set[str] = set()
    for node in list(io.snapshot.brokers):
        conn = await io.connection(node)
        resp = await conn.request(messages.ListGroupsRequest(states_filter=[], types_filter=[]))
        if resp.error_code:
            raise ClientError(f"{io.label}: ListGroups on broker {node}: {error_name(resp.error_code)}")
        names.update(g.group_id for g in resp.groups)
    return sorted(names)


async def fetch_committed(io: ClusterIO, group: str, topics: set[str]) -> dict[TP, int]:
    """Committed offsets of ``group`` for ``topics`` (partitions without a commit left out)."""
    R = messages.OffsetFetchRequest
    for attempt in range(10):
        conn = await coordinator(io, group)
        resp = await conn.request(R(groups=[R.OffsetFetchRequestGroup(group_id=group, member_id=None,
                                                                       member_epoch=-1, topics=None)],
                                    require_stable=False), version=OFFSET_FETCH_V)
        g = resp.groups[0]
        if g.error_code in COORDINATOR_RETRY:
            await asyncio.sleep(0.1 * 2 ** min(attempt, 4))
            continue
        if g.error_code == GROUP_ID_NOT_FOUND:
            return {}
        if g.error_code:
            raise ClientError(f"{io.label}: OffsetFetch({group}): {error_name(g.error_code)}")
        return {(t.name, p.partition_index): p.committed_offset for t in g.topics if t.name in topics
                for p in t.partitions if p.error_code == 0 and p.committed_offset >= 0}
    raise ClientError(f"{io.label}: OffsetFetch({group}): coordinator kept moving")


async def active_members(io: ClusterIO, group: str) -> int:
    """Members of ``group`` on ``io`` under either group protocol (0 = safe to commit)."""
    conn = await coordinator(io, group)
    resp = await conn.request(messages.DescribeGroupsRequest(groups=[group], include_authorized_operations=False))
    g = resp.groups[0]
    members = len(g.members) if g.error_code == 0 else 0
    if g.error_code == 0 and g.group_state not in ("Dead", "Empty", "") and not members:
        members = 1   # rebalancing with no member list yet: treat as active
    try:
        resp2 = await conn.request(messages.ConsumerGroupDescribeRequest(
            group_ids=[group], include_authorized_operations=False))
        c = resp2.groups[0]
        if c.error_code == 0:
            members = max(members, len(c.members))
    except ClientError:
        pass   # a broker without KIP-848 groups
    return members


async def commit(io: ClusterIO, group: str, offsets: dict[TP, int]) -> dict[TP, str]:
    """Admin commit (generation -1, no member); returns per-partition errors."""
    R = messages.OffsetCommitRequest
    by_topic: dict[str, list[Any]] = defaultdict(list)
    for (t, p), off in sorted(offsets.items()):
        by_topic[t].append(R.OffsetCommitRequestPartition(partition_index=p, committed_offset=off,
                                                          committed_leader_epoch=-1, committed_metadata=""))
    for attempt in range(10):
        conn = await coordinator(io, group)
        resp = await conn.request(R(group_id=group, generation_id_or_member_epoch=-1, member_id="",
                                    group_instance_id=None, retention_time_ms=-1,
                                    topics=[R.OffsetCommitRequestTopic(name=t, partitions=ps)
                                            for t, ps in by_topic.items()]), version=OFFSET_COMMIT_V)
        errs = {(t.name, p.partition_index): error_name(p.error_code)
                for t in resp.topics for p in t.partitions if p.error_code}
        if errs and all(e in ("COORDINATOR_LOAD_IN_PROGRESS", "COORDINATOR_NOT_AVAILABLE", "NOT_COORDINATOR")
                        for e in errs.values()):
            await asyncio.sleep(0.1 * 2 ** min(attempt, 4))
            continue
        return errs
    return {tp: "coordinator kept moving" for tp in offsets}


async def sync_group(source: ClusterIO, dest: ClusterIO, group: str, topics: set[str],
                     names: MirrorNames = MirrorNames()) -> GroupSync:
    """Copy ``group``'s committed offsets for source ``topics`` to their mirror topics, clamped.

    Results (committed, clamped, errors) name the mirror partitions: that is where they landed.
    """
    out = GroupSync(group)
    src = {names.mirror_tp(tp): off for tp, off in (await fetch_committed(source, group, topics)).items()}
    if not src:
        out.skipped = "no committed offsets for the mirror topics"
        return out
    members = await active_members(dest, group)
    if members:
        out.skipped = f"{members} active member(s) on the destination"
        return out
    ends = await dest.list_offsets(list(src), LATEST)
    write: dict[TP, int] = {}
    for tp, off in src.items():
        w = min(off, ends[tp])
        write[tp] = w
        if w < off:
            out.clamped[tp] = (off, w)
    current = await fetch_committed(dest, group, {names.mirror_topic(t) for t in topics})
    write = {tp: o for tp, o in write.items() if current.get(tp) != o}
    if write:
        out.errors = await commit(dest, group, write)
    out.committed = {tp: o for tp, o in write.items() if tp not in out.errors}
    for tp, (s, w) in out.clamped.items():
        log.warning("offset sync: group %s %s-%d at %d is beyond the destination end; committed %d",
                    group, tp[0], tp[1], s, w)
    return out


async def sync_groups(source: ClusterIO, dest: ClusterIO, topics: set[str],
                      selected: Callable[[str], bool], names: MirrorNames = MirrorNames()) -> list[GroupSync]:
    """Every selected source group, one after another (group counts are small)."""
    if not topics:
        return []
    results = []
    for group in await list_groups(source):
        if not selected(group):
            continue
        try:
            results.append(await sync_group(source, dest, group, topics, names))
        except (ClientError, PartitionError) as exc:
            r = GroupSync(group)
            r.skipped = f"error: {exc}"
            results.append(r)
    return results
