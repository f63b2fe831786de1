"""Consumer offset sync: committed offsets of selected groups, source -> destination.

Offsets are identical on both clusters (exact mirror), so nothing is translated. Rules:

- a group with members on the destination is never overwritten (classic groups via
  DescribeGroups, KIP-848 consumer groups via ConsumerGroupDescribe): reported as skipped;
- an offset is clamped to the destination high watermark (what a consumer can read), reported;
- a destination offset never moves backwards (as MirrorMaker 2): a commit ahead of the
  source's stays and is reported as kept (consumers progressed on the destination);
- commit metadata is copied (Kafka Streams keeps partition time there); the committed leader
  epoch is -1: the source's epochs mean nothing on the destination, and -1 makes clients skip
  the epoch check rather than fail it (MirrorMaker 2 commits no epoch either);
- the commit is an admin commit (generation -1, no member id);
- share groups (KIP-932) get their share partitions' start offsets copied the same way
  (DescribeShareGroupOffsets / AlterShareGroupOffsets): clamped, never backwards, never while
  the destination group has members (NON_EMPTY_GROUP). Records the source group had acquired
  but not acknowledged lie at or above the start offset: delivered again, never lost.

Bounded: ListGroups goes to each source broker on its own (one that does not answer in time
is reported, the groups of the others are synced), groups are synced concurrently, and a pass
ends at its time bound, reporting the groups it did not reach.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Callable

from kproto.errors import ErrorCode
from linker.client import LATEST_TIMESTAMP, Admin, Client, ClientError, CommittedOffset, KafkaError, TopicPartition as TP
from linker.naming import MirrorNames

log = logging.getLogger("linker.lifecycle")

NO_EPOCH = -1
NO_COMMITS = "no committed offsets for the mirror topics"
PARALLEL_GROUPS = 8


@dataclass
class GroupSync:
    """One group's outcome; ``lag`` is source offsets minus what was written (clamps)."""
    group: str
    at: float = field(default_factory=time.time)
    committed: dict[TP, int] = field(default_factory=dict)
    clamped: dict[TP, tuple[int, int]] = field(default_factory=dict)   # tp: (source offset, written)
    kept: dict[TP, tuple[int, int]] = field(default_factory=dict)      # tp: (source offset, destination's, ahead)
    skipped: str = ""
    errors: dict[TP, str] = field(default_factory=dict)

    def standing(self) -> tuple:
        """What holds across passes (clamps, kept commits, a skip, errors), without when."""
        return (self.clamped, self.kept, self.skipped, self.errors)

    @property
    def lag(self) -> int:
        return sum(s - w for s, w in self.clamped.values())

    def line(self) -> str:
        if self.skipped:
            return f"group {self.group}: skipped ({self.skipped})"
        clamps = "".join(f"; {t}-{p} clamped {s} -> {w}" for (t, p), (s, w) in sorted(self.clamped.items()))
        kept = "".join(f"; {t}-{p} kept {d} (source {s}: never rewound)"
                       for (t, p), (s, d) in sorted(self.kept.items()))
        errs = "".join(f"; {t}-{p} {e}" for (t, p), e in sorted(self.errors.items()))
        return (f"group {self.group}: synced {len(self.committed)} partitions at "
                f"{time.strftime('%H:%M:%S', time.localtime(self.at))}, sync lag {self.lag}{clamps}{kept}{errs}")


SHARE = "share"   # ListGroups type of a KIP-932 share group


async def list_groups(client: Client, timeout: float | None = None) -> tuple[list[str], list[str]]:
    """Every group on the brokers of ``client`` that answer ListGroups within ``timeout``, and a
    description of each broker that did not (its groups are left out, not the whole pass)."""
    types, missing = await list_group_types(client, timeout)
    return sorted(types), missing


async def list_group_types(client: Client, timeout: float | None = None) -> tuple[dict[str, str], list[str]]:
    """``list_groups`` with each group's type (``consumer``, ``classic``, ``share``, ...)."""
    if not client.snapshot.brokers:
        await client.refresh_metadata()
    nodes = sorted(client.snapshot.brokers)
    answers = await asyncio.gather(*(asyncio.wait_for(Admin(client).list_groups_on(n), timeout) for n in nodes),
                                   return_exceptions=True)
    groups: dict[str, str] = {}
    missing: list[str] = []
    for node, answer in zip(nodes, answers):
        if isinstance(answer, asyncio.TimeoutError):
            missing.append(f"broker {node}: no answer within {timeout:.1f}s")
        elif isinstance(answer, (ClientError, OSError)):
            missing.append(f"broker {node}: {answer}")
        elif isinstance(answer, BaseException):
            raise answer
        else:
            groups.update((g.group_id, g.group_type or g.protocol_type) for g in answer)
    return groups, missing


async def fetch_commits(client: Client, group: str, topics: set[str]) -> dict[TP, CommittedOffset]:
    """Committed offsets (with epoch and metadata) of ``group`` for ``topics``; no commit: left out."""
    committed = await Admin(client).offset_fetch(group)
    return {tp: c for tp, c in committed.items() if tp[0] in topics and c.offset >= 0}


async def fetch_committed(client: Client, group: str, topics: set[str]) -> dict[TP, int]:
    """Committed offsets of ``group`` for ``topics`` (partitions without a commit left out)."""
    return {tp: c.offset for tp, c in (await fetch_commits(client, group, topics)).items()}


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


async def commit(client: Client, group: str, offsets: dict[TP, CommittedOffset]) -> dict[TP, str]:
    """Admin commit (generation -1, no member); returns per-partition errors by name."""
    errors = await Admin(client).offset_commit(group, dict(sorted(offsets.items())), return_errors=True)
    return {tp: exc.name for tp, exc in errors.items()}


async def sync_group(source: Client, dest: Client, group: str, topics: set[str],
                     names: MirrorNames = MirrorNames()) -> GroupSync:
    """Copy ``group``'s committed offsets for source ``topics`` to their mirror topics, clamped,
    never backwards. Results (committed, clamped, kept, errors) name the mirror partitions."""
    out = GroupSync(group)
    src = {names.mirror_tp(tp): c for tp, c in (await fetch_commits(source, group, topics)).items()}
    if not src:
        out.skipped = NO_COMMITS
        return out
    members = await active_members(dest, group)
    if members:
        out.skipped = f"{members} active member(s) on the destination"
        return out
    ends = await dest.offsets(list(src), LATEST_TIMESTAMP)
    current = await fetch_commits(dest, group, {names.mirror_topic(t) for t in topics})
    write: dict[TP, CommittedOffset] = {}
    for tp, c in src.items():
        w = min(c.offset, ends[tp])
        if w < c.offset:
            out.clamped[tp] = (c.offset, w)
        cur = current.get(tp)
        if cur is not None and cur.offset > w:
            out.kept[tp] = (c.offset, cur.offset)
        elif cur is None or (cur.offset, cur.metadata) != (w, c.metadata):
            write[tp] = CommittedOffset(w, NO_EPOCH, c.metadata)
    if write:
        out.errors = await commit(dest, group, write)
    out.committed = {tp: c.offset for tp, c in write.items() if tp not in out.errors}
    for tp, (s, w) in out.clamped.items():
        log.warning("offset sync: group %s %s-%d at %d is beyond the destination end; committed %d",
                    group, tp[0], tp[1], s, w)
    return out


async def sync_share_group(source: Client, dest: Client, group: str, topics: set[str],
                           names: MirrorNames = MirrorNames()) -> GroupSync:
    """Copy share group ``group``'s start offsets on source ``topics`` to their mirror topics, by
    the rules of ``sync_group`` (clamped, never backwards, never over members)."""
    out = GroupSync(group)
    src = {names.mirror_tp(tp): o for tp, o in (await Admin(source).share_group_offsets(group)).items()
           if tp[0] in topics}
    if not src:
        out.skipped = NO_COMMITS
        return out
    ends = await dest.offsets(list(src), LATEST_TIMESTAMP)
    current = await Admin(dest).share_group_offsets(group, list(src))
    write: dict[TP, int] = {}
    for tp, o in src.items():
        w = min(o, ends[tp])
        if w < o:
            out.clamped[tp] = (o, w)
        cur = current.get(tp)
        if cur is not None and cur > w:
            out.kept[tp] = (o, cur)
        elif cur != w:
            write[tp] = w
    if write:
        try:
            await Admin(dest).alter_share_group_offsets(group, write)
        except KafkaError as exc:
            if exc.code != ErrorCode.NON_EMPTY_GROUP:
                raise
            out.skipped = "active member(s) on the destination"
            return out
    out.committed = write
    return out


async def sync_groups(source: Client, dest: Client, topics: set[str], selected: Callable[[str], bool],
                      names: MirrorNames = MirrorNames(), timeout: float | None = None) -> list[GroupSync]:
    """Every selected source group, up to PARALLEL_GROUPS at a time, within ``timeout`` seconds
    (half of it for ListGroups): groups not reached in time are returned as skipped."""
    if not topics:
        return []
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    groups, missing = await list_group_types(source, None if timeout is None else timeout / 2)
    for m in missing:
        log.warning("offset sync: ListGroups %s; groups it coordinates are not synced this pass", m)
    gate = asyncio.Semaphore(PARALLEL_GROUPS)

    async def one(group: str) -> GroupSync:
        async with gate:
            try:
                if groups[group] == SHARE:
                    return await sync_share_group(source, dest, group, topics, names)
                return await sync_group(source, dest, group, topics, names)
            except (ClientError, OSError) as exc:
                return GroupSync(group, skipped=f"error: {exc}")
    tasks = {g: asyncio.create_task(one(g)) for g in groups if selected(g)}
    if not tasks:
        return []
    left = None if deadline is None else max(0.0, deadline - loop.time())
    await asyncio.wait(tasks.values(), timeout=left)
    results = []
    for g, task in tasks.items():
        if task.done():
            results.append(task.result())
        else:
            task.cancel()
            results.append(GroupSync(g, skipped=f"not synced within the {timeout:.1f}s bound of this pass"))
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    return results
