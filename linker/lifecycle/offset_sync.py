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

import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from linker.client import LATEST_TIMESTAMP, Admin, Client, ClientError, KafkaError, TopicPartition as TP
from linker.naming import MirrorNames

log = logging.getLogger("linker.lifecycle")


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


async def list_groups(client: Client) -> list[str]:
    """Every group on every broker of ``client`` (ListGroups is answered per broker)."""
    return sorted({g.group_id for g in await Admin(client).list_groups()})


async def fetch_committed(client: Client, group: str, topics: set[str]) -> dict[TP, int]:
    """Committed offsets of ``group`` for ``topics`` (partitions without a commit left out)."""
    committed = await Admin(client).offset_fetch(group)
    return {tp: c.offset for tp, c in committed.items() if tp[0] in topics and c.offset >= 0}


async def active_members(client: Client, group: str) -> int:
    """Members of ``group`` on ``client`` under either group protocol (0 = safe to commit)."""
    admin = Admin(client)
    members = 0
    try:
        g = (await admin.describe_groups([group]))[group]
        members = len(g.members)
        if g.group_state not in ("Dead", "Empty", "") and not members:
            members = 1   # rebalancing with no member list yet: treat as active
    except KafkaError:
        pass   # e.g. a KIP-848 consumer group: described below
    try:
        c = (await admin.describe_consumer_groups([group]))[group]
        members = max(members, len(c.members))
    except ClientError:
        pass   # a classic group, or a broker without KIP-848 groups
    return members


async def commit(client: Client, group: str, offsets: dict[TP, int]) -> dict[TP, str]:
    """Admin commit (generation -1, no member); returns per-partition errors by name."""
    errors = await Admin(client).offset_commit(group, dict(sorted(offsets.items())), metadata="",
                                               return_errors=True)
    return {tp: exc.name for tp, exc in errors.items()}


async def sync_group(source: Client, dest: Client, group: str, topics: set[str],
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
    ends = await dest.offsets(list(src), LATEST_TIMESTAMP)
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


async def sync_groups(source: Client, dest: Client, topics: set[str],
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
        except ClientError as exc:
            r = GroupSync(group)
            r.skipped = f"error: {exc}"
            results.append(r)
    return results
