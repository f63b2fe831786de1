"""Mirroring a compacted partition: uncleaned batches verbatim, cleaned ranges rebuilt.

The fetcher hands a compacted partition's fetched batches here instead of its
exact-only path. ``plan_compacted`` (pure) decides, batch by batch from the
offset the destination ends at:

- an uncleaned batch (count = lastOffsetDelta+1) starting there goes verbatim,
  byte-exact, as on any topic; it is never rebuilt;
- offsets the source no longer holds before a batch (whole batches the cleaner
  emptied, a log start above the destination end) and a cleaned batch (fewer
  records than offsets, or none) are rebuilt (``rebuild``): retained records at
  their offsets, copies of the next retained record at the holes;
- holes after a cleaned batch's last record need the next batch's first
  record: when the fetched data ends first, the batches wait (``held``) for
  the next fetch. Only a log emptied by retention (compact,delete) has no later
  record at all; such a tail waits for the next record the source writes;
- transactional and control batches, LogAppendTime batches and legacy magic
  stop the partition (BLOCKED) as on any topic;
- a producer whose batch the destination refused as out of sequence (whole
  batches of it vanished on the source) gets its batches rebuilt without
  producer fields (``strip_producer``), uncleaned ones too: record-exact.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Union

from kproto.errors import ErrorCode
from kproto.records.batch import BatchView, LegacyEntry
from kproto.records.decode import iter_records
from kproto.records.record import Record
from kproto.records.reproducibility import classify
from linker.mirror.checks import blocking_reason, position_problem
from linker.mirror.partition import FrameCharge, PartitionMirror
from linker.mirror.rebuild import rebuild_range, source_producer
from linker.mirror.state import PartitionState
from linker.mirror.table import PartitionTable

Entry = Union[BatchView, LegacyEntry]
log = logging.getLogger("linker.mirror")


@dataclass
class Stop:
    """The partition stops at ``offset`` (everything planned before it is produced)."""
    state: PartitionState
    offset: int
    reason: str


@dataclass
class CompactPlan:
    """What to queue, where the destination will end, and what waits for more data."""
    queue: list[BatchView] = field(default_factory=list)
    end: int = 0
    held: list[Entry] = field(default_factory=list)
    stop: Stop | None = None


def _unmirrorable(b: Entry) -> str | None:
    return blocking_reason(b, compacted=True)


def _first_record_after(entries: list[Entry], i: int) -> Record | Stop | None:
    """The first record of the first non-empty batch from ``entries[i]`` on (None: not fetched yet)."""
    for b in entries[i:]:
        why = _unmirrorable(b)
        if why is not None:
            return Stop(PartitionState.BLOCKED, b.base_offset if isinstance(b, BatchView) else b.offset,
                        f"holes before an unmirrorable batch: {why}")
        if b.record_count > 0:
            return next(iter(iter_records(b)))
    return None


def plan_compacted(entries: list[Entry], expected: int, strip: frozenset[int] | set[int] = frozenset()
                   ) -> CompactPlan:
    """Plan fetched ``entries`` (in log order) for a destination that ends at ``expected``;
    batches of the producer ids in ``strip`` are rebuilt without their producer fields."""
    plan = CompactPlan(end=expected)
    for i, b in enumerate(entries):
        if b.next_offset <= plan.end:
            continue
        start = plan.end
        why = _unmirrorable(b)
        if why is not None:
            plan.stop = Stop(PartitionState.BLOCKED, start, why)
            return plan
        assert isinstance(b, BatchView)
        stripped = b.producer_id in strip
        exact = classify(b).exact and not stripped
        if exact and b.base_offset == start:
            plan.queue.append(b)
            plan.end = b.next_offset
            continue
        if exact and b.base_offset < start:
            _, reason = position_problem(b.base_offset, b.next_offset, start) or ("", "")
            plan.stop = Stop(PartitionState.FAILED, start, reason)
            return plan
        if exact:
            retained = [next(iter(iter_records(b)))]
        else:
            retained = [r for r in iter_records(b) if r.offset >= start]
        after: Record | None = None
        if not retained or (not exact and retained[-1].offset < b.last_offset):
            found = _first_record_after(entries, i + 1)
            if isinstance(found, Stop):
                found.offset = start
                plan.stop = found
                return plan
            if found is None:
                plan.held = entries[i:]
                return plan
            after = found
        codec, epoch = b.codec, b.partition_leader_epoch
        if b.base_offset > start:
            gap_next = retained[0] if retained else after
            plan.queue += rebuild_range(start, b.base_offset, [], gap_next, codec, epoch)
        if exact:
            plan.queue.append(b)
        else:
            first = max(start, b.base_offset)
            plan.queue += rebuild_range(first, b.next_offset, retained, after, codec, epoch,
                                        None if stripped else source_producer(b, first))
        plan.end = b.next_offset
    return plan


def queue_compacted(table: PartitionTable, pm: PartitionMirror, fetched: list[Entry], frame: FrameCharge) -> bool:
    """Queue what ``plan_compacted`` allows of ``pm``'s held and ``fetched`` batches; True if any was queued."""
    if pm.held:
        expected, seen = pm.held_from, pm.held[-1].next_offset
    else:
        expected = pm.next_fetch if pm.first_base is None else pm.first_base
        seen = expected
    entries = pm.held + [b for b in fetched if b.next_offset > seen]
    plan = plan_compacted(entries, expected, pm.strip_producers)
    for b in plan.queue:
        table.enqueue(pm, b, frame)
    pm.first_base = None
    pm.held = [BatchView(bytes(b.buffer)) for b in plan.held]   # own copies: the frame goes back
    pm.held_from = plan.end
    if plan.stop is not None:
        pm.held = []
        if plan.stop.state is PartitionState.FAILED:
            table.move(pm, PartitionState.FAILED, plan.stop.reason, offset=plan.stop.offset)
        else:
            table.block_after_queue(pm, plan.stop.offset, plan.stop.reason)
        return bool(plan.queue)
    if entries:
        last = entries[-1]
        pm.next_fetch, pm.fetch_epoch = last.next_offset, last.partition_leader_epoch
    return bool(plan.queue)


def strip_producer(pm: PartitionMirror, batch: BatchView, code: int) -> bool:
    """The destination refused ``batch`` of compacted ``pm`` as out of sequence: the source cleaner
    removed whole batches of its producer, so the destination's producer state is behind. From
    now on that producer's batches are rebuilt without producer fields (record-exact); True if
    this is new (the caller re-locates the partition), False if it was already stripped."""
    if not pm.compacted or code != ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER or batch.producer_id < 0 \
            or batch.producer_id in pm.strip_producers:
        return False
    pm.strip_producers.add(batch.producer_id)
    log.warning("partition %s-%d: the destination refused producer %d's batch at %d as out of sequence "
                "(the source cleaner removed some of its batches); its batches are rebuilt without "
                "producer fields from here on", pm.tp[0], pm.tp[1], batch.producer_id, batch.base_offset)
    return True
