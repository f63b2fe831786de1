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
- transactional batches and markers are replayed into destination
  transactions (transactions.py) as on any topic: an uncleaned one and a
  marker go as they are; a cleaned transactional batch is rebuilt inside its
  source transaction; a batch the cleaner emptied is holes. A rebuilt batch
  (fillers too) belongs to the transaction of the record it holds or copies
  (``rebuild.transaction_of``), so a filler is visible to read_committed
  readers exactly when the record it copies is. LogAppendTime batches and
  legacy magic stop the partition (BLOCKED) as on any topic;
- idempotent producers: the destination's producer sequences are tracked
  (``sequences``). When whole batches of a producer the destination knows
  vanished, the fillers of the holes before its next batch carry its id,
  epoch and the vanished sequences, so that batch goes verbatim and in
  sequence. Holes wait (``held``, up to ``LOOK_AHEAD_BYTES``) while a known
  producer with later batches on the source has not shown its next batch yet;
  a gap that no hole offset is left to carry stops the partition (BLOCKED,
  naming the producer) instead of rebuilding an uncleaned batch.
"""
from __future__ import annotations

import bisect
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Union

from kproto.records.batch import BatchView, LegacyEntry
from kproto.records.decode import iter_records
from kproto.records.layout import Codec
from kproto.records.record import Record
from kproto.records.reproducibility import classify
from linker.mirror.checks import blocking_reason, position_problem
from linker.mirror.partition import FrameCharge, PartitionMirror
from linker.mirror.rebuild import Producer, rebuild_range, source_producer, transaction_of
from linker.mirror.sequences import SEQUENCE_WRAP, Seq, gap, note, pending
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


#: Fetched bytes a partition holds back at most while a hole waits for the next batch of a producer
#: whose sequence gap it may have to carry; past it the holes are planned with what is known.
LOOK_AHEAD_BYTES = 8 * 1024 * 1024


@dataclass
class CompactPlan:
    """What to queue, where the destination will end, and what waits for more data;
    ``producers``: the destination's producer sequences once ``queue`` is stored."""
    queue: list[BatchView] = field(default_factory=list)
    end: int = 0
    held: list[Entry] = field(default_factory=list)
    stop: Stop | None = None
    producers: dict[int, Seq] = field(default_factory=dict)
    #: Known producers whose next batch lay beyond the look-ahead when a hole was planned.
    unresolved: set[int] = field(default_factory=set)


def _unmirrorable(b: Entry) -> str | None:
    return blocking_reason(b, compacted=True)


def _replayed_verbatim(b: BatchView) -> bool:
    """A marker, or a transactional data batch the source did not clean: replayed as it is."""
    if b.is_control:
        return b.record_count == 1
    return b.is_transactional and b.record_count == b.last_offset_delta + 1 and b.record_count > 0


def _first_record_after(entries: list[Entry], i: int) -> tuple[Record, BatchView] | Stop | None:
    """The first data record from ``entries[i]`` on, and its batch (None: not fetched yet)."""
    for b in entries[i:]:
        why = _unmirrorable(b)
        if why is not None:
            return Stop(PartitionState.BLOCKED, b.base_offset if isinstance(b, BatchView) else b.offset,
                        f"holes before an unmirrorable batch: {why}")
        if b.record_count > 0 and not (isinstance(b, BatchView) and b.is_control):
            assert isinstance(b, BatchView)
            return next(iter(iter_records(b))), b
    return None


def _by_producer(entries: list[Entry]) -> dict[int, list[int]]:
    """Indexes of each idempotent producer's batches in ``entries``."""
    out: dict[int, list[int]] = {}
    for i, b in enumerate(entries):
        if isinstance(b, BatchView) and b.producer_id >= 0 and b.base_sequence >= 0 and not b.is_transactional:
            out.setdefault(b.producer_id, []).append(i)
    return out


def _next_batches(entries: list[Entry], index: dict[int, list[int]], i: int) -> dict[int, BatchView]:
    """Each producer's first batch from ``entries[i]`` on."""
    out: dict[int, BatchView] = {}
    for pid, where in index.items():
        k = bisect.bisect_left(where, i)
        if k < len(where):
            b = entries[where[k]]
            assert isinstance(b, BatchView)
            out[pid] = b
    return out


def _hole(start: int, end: int, nexts: dict[int, BatchView], seqs: dict[int, Seq], after: Record,
          codec: Codec, epoch: int, txn: Producer | None = None) -> list[BatchView]:
    """Fillers for ``start..end-1``: first the sequence gaps of known producers whose next batch
    follows (earliest next batch first), the rest without producer fields, in ``txn`` (the
    source transaction of ``after``) if any."""
    demands = []
    for pid, nb in nexts.items():
        first, count = gap(seqs.get(pid), nb.producer_epoch, nb.base_sequence)
        if count:
            demands.append((nb.base_offset, pid, nb.producer_epoch, first, count))
    out: list[BatchView] = []
    pos = start
    for _, pid, p_epoch, first, count in sorted(demands):
        k = min(count, end - pos)
        if k <= 0:
            break
        out += rebuild_range(pos, pos + k, [], after, codec, epoch, (pid, p_epoch, first))
        pos += k
    if pos < end:
        out += rebuild_range(pos, end, [], after, codec, epoch, txn, transactional=True)
    return out


def _out_of_sequence(b: BatchView, first: int, seqs: dict[int, Seq], room: int) -> str | None:
    """Why ``b`` (planned from offset ``first``) would be out of sequence on the destination."""
    if b.producer_id < 0 or b.base_sequence < 0 or b.is_transactional:
        return None
    seq = (b.base_sequence + first - b.base_offset) % SEQUENCE_WRAP
    known = seqs.get(b.producer_id)
    _, count = gap(known, b.producer_epoch, seq)
    if not count or known is None:
        return None
    return (f"producer {b.producer_id}'s batch at offset {b.base_offset} has sequence {seq} (epoch "
            f"{b.producer_epoch}) but the destination's last sequence for it is {known[1]} (epoch {known[0]}): "
            f"{count} of its sequences are still missing (they vanished with batches the source cleaner "
            f"removed) and the {room} hole offset(s) right before the batch cannot carry them; forwarding "
            "the batch would be refused as out of sequence, and an uncleaned batch is never rebuilt")


def _rebuild(b: BatchView, first: int, retained: list[Record], after: Record | None,
             after_txn: Producer | None) -> list[BatchView]:
    """A cleaned (or emptied) batch from ``first`` on: its records in its own source transaction
    (or with its producer's sequences); holes after its last record copy ``after`` and belong to
    ``after``'s transaction, except in an idempotent batch, whose sequences must cover them."""
    codec, epoch = b.codec, b.partition_leader_epoch
    own = transaction_of(b)
    producer = own if b.is_transactional else source_producer(b, first)
    if not b.is_transactional and (producer is not None or after_txn is None):
        return list(rebuild_range(first, b.next_offset, retained, after, codec, epoch, producer))
    end = retained[-1].offset + 1 if retained else first
    out: list[BatchView] = []
    if end > first:
        out += rebuild_range(first, end, retained, None, codec, epoch, own, transactional=True)
    if end < b.next_offset:
        out += rebuild_range(end, b.next_offset, [], after, codec, epoch, after_txn, transactional=True)
    return out


def plan_compacted(entries: list[Entry], expected: int, producers: Mapping[int, Seq] | None = None,
                   source: Mapping[int, Seq] | None = None, look_ahead_full: bool = False) -> CompactPlan:
    """Plan fetched ``entries`` (in log order) for a destination that ends at ``expected``.

    ``producers``: the destination's producer sequences at ``expected``; ``source``: the
    source's (DescribeProducers at locate), which tells which known producers have later
    batches. A hole waits for their next batch unless ``look_ahead_full``."""
    plan = CompactPlan(end=expected, producers=dict(producers or {}))
    seqs = plan.producers
    index = _by_producer(entries)
    for i, b in enumerate(entries):
        if b.next_offset <= plan.end:
            continue
        start = plan.end
        why = _unmirrorable(b)
        if why is not None:
            plan.stop = Stop(PartitionState.BLOCKED, start, why)
            return plan
        assert isinstance(b, BatchView)
        exact = classify(b).exact or _replayed_verbatim(b)
        if exact and b.base_offset < start:
            _, reason = position_problem(b.base_offset, b.next_offset, start) or ("", "")
            plan.stop = Stop(PartitionState.FAILED, start, reason)
            return plan
        if exact and b.base_offset == start:
            why = _out_of_sequence(b, start, seqs, 0)
            if why is not None:
                plan.stop = Stop(PartitionState.BLOCKED, start, why)
                return plan
            plan.queue.append(b)
            note(seqs, b)
            plan.end = b.next_offset
            continue
        if exact:
            retained = [] if b.is_control else [next(iter(iter_records(b)))]
        else:
            retained = [r for r in iter_records(b) if r.offset >= start]
        after: Record | None = None
        after_txn: Producer | None = None
        if not retained or (not exact and retained[-1].offset < b.last_offset):
            found = _first_record_after(entries, i + 1)
            if isinstance(found, Stop):
                found.offset = start
                plan.stop = found
                return plan
            if found is None:
                plan.held = entries[i:]
                return plan
            after, after_txn = found[0], transaction_of(found[1])
        codec, epoch = b.codec, b.partition_leader_epoch
        first = max(start, b.base_offset)
        batches: list[BatchView] = []
        trial = dict(seqs)
        if b.base_offset > start:
            nexts = _next_batches(entries, index, i)
            waiting = {pid for pid in pending(seqs, source or {}) if pid not in nexts}
            if waiting and not look_ahead_full:
                plan.held = entries[i:]
                return plan
            plan.unresolved |= waiting
            gap_next, gap_txn = (retained[0], transaction_of(b)) if retained else (after, after_txn)
            assert gap_next is not None
            batches += _hole(start, b.base_offset, nexts, seqs, gap_next, codec, epoch, gap_txn)
            for f in batches:
                note(trial, f)
        why = _out_of_sequence(b, first, trial, first - start)
        if why is not None:
            plan.stop = Stop(PartitionState.BLOCKED, start, why)
            return plan
        if exact:
            batches.append(b)
        else:
            batches += _rebuild(b, first, retained, after, after_txn)
        for q in batches:
            note(seqs, q)
        plan.queue += batches
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
    # Nothing more to look ahead at: the window is full, or it reaches the source's high watermark.
    hw = pm.status.source_high_watermark
    # Held bytes are charged to the byte budget: the window is also the partition's share of it, and
    # a full budget (other partitions' holes) plans now rather than wait for a fetch that cannot come.
    window = min(LOOK_AHEAD_BYTES, table.share())
    full = (sum(b.size for b in entries if isinstance(b, BatchView)) >= window or table.budget.full
            or (bool(entries) and hw is not None and entries[-1].next_offset >= hw))
    plan = plan_compacted(entries, expected, pm.dest_producers, pm.source_producers, full)
    pm.dest_producers = plan.producers
    if plan.unresolved:
        log.warning("partition %s-%d: holes planned before the next batch of producer(s) %s was fetched "
                    "(%d bytes ahead at most); their sequence gaps, if any, are left to later holes",
                    pm.tp[0], pm.tp[1], sorted(plan.unresolved), window)
    for b in plan.queue:
        table.enqueue(pm, b, frame)
    pm.first_base = None
    own = {id(b) for b in pm.held}
    # Own copies (the frame goes back); batches held already are copies.
    table.keep_held(pm, [b if id(b) in own else BatchView(bytes(b.buffer)) for b in plan.held])
    pm.held_from = plan.end
    if plan.stop is not None:
        table.keep_held(pm, [])
        if plan.stop.state is PartitionState.FAILED:
            table.move(pm, PartitionState.FAILED, plan.stop.reason, offset=plan.stop.offset)
        else:
            table.block_after_queue(pm, plan.stop.offset, plan.stop.reason)
        return bool(plan.queue)
    if entries:
        last = entries[-1]
        pm.next_fetch, pm.fetch_epoch = last.next_offset, last.partition_leader_epoch
    return bool(plan.queue)
