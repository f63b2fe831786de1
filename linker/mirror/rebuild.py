"""Rebuilt batches for offsets a source cleaner compacted away.

A cleaned v2 batch keeps its base and last offset but holds fewer records
than offsets, and whole batches may vanish (holes between batches). The
broker refuses such a batch from a client (count must be lastOffsetDelta+1),
so the range is rebuilt record by record: every retained record keeps its
offset, key, value, headers and timestamp, and every hole offset gets a
*filler*: a copy (key, value, headers, timestamp) of the next retained record.
A filler changes no key->value state a consumer rebuilds (the same upsert or
tombstone follows at a later offset) and the destination's cleaner removes it
(its key has a later record). A rebuilt cleaned batch keeps the source
batch's producer id, epoch and sequence numbers (same offsets, so the same
last sequence: the destination's producer state stays in step and the
producer's next uncleaned batch, forwarded verbatim, is in sequence); fillers
for vanished batches carry none, except those that carry a producer's
vanished sequences (``producer``, decided by ``compacted`` from
``sequences``). On a transactional compacted topic a rebuilt batch belongs
to the source transaction of the record it holds or copies (transactional,
that source producer's id): it is replayed inside that transaction's
destination transaction, so a filler becomes visible (read_committed) when
the record it copies does, and never when that one is aborted. Rebuilt batches keep the source batch's
codec and are cut at ``CHUNK_BYTES`` of record data so a run of large fillers
stays under ``max.message.bytes``.
"""
from __future__ import annotations

from collections.abc import Sequence

from kproto.records.batch import BatchView
from kproto.records.builder import NewRecord, build_batch
from kproto.records.layout import Codec
from kproto.records.record import Record
from linker.metrics import MirrorMetrics
from linker.mirror.partition import PartitionMirror
from linker.mirror.sequences import SEQUENCE_WRAP
from linker.mirror.state import Fidelity

#: Record bytes (keys, values, headers) per rebuilt batch before it is cut.
CHUNK_BYTES = 512 * 1024
#: Per-record overhead counted towards ``CHUNK_BYTES`` (length, attributes, deltas).
RECORD_OVERHEAD = 16


class RebuiltBatch(BatchView):
    """A batch built by the linker (not the source's bytes); ``fillers``: hole offsets in it."""

    __slots__ = ("fillers",)

    def __init__(self, buffer: bytes, fillers: int) -> None:
        super().__init__(buffer)
        self.fillers = fillers


def record_bytes(r: Record) -> int:
    """The record data a rebuilt batch carries for ``r`` (what ``CHUNK_BYTES`` counts)."""
    size = RECORD_OVERHEAD + len(r.key or b"") + len(r.value or b"")
    for hk, hv in r.headers:
        size += len(hk) + len(hv or b"")
    return size


def fill_range(start: int, end: int, retained: Sequence[Record], after: Record | None) -> list[tuple[Record, bool]]:
    """For each offset ``start..end-1``: (the record to write there, whether it is a filler).

    ``retained`` are the source records in the range, in offset order; a hole takes
    the next retained record, past the last one ``after`` (the first record after
    the range). Raises ValueError when a hole has no later record to copy.
    """
    by_offset = {r.offset: r for r in retained if start <= r.offset < end}
    out: list[tuple[Record, bool]] = [None] * (end - start)  # type: ignore[list-item]
    nxt = after
    for off in range(end - 1, start - 1, -1):
        r = by_offset.get(off)
        if r is not None:
            nxt = r
            out[off - start] = (r, False)
        elif nxt is None:
            raise ValueError(f"offset {off} is a hole with no later record to copy")
        else:
            out[off - start] = (nxt, True)
    return out


#: (producer id, producer epoch, sequence of the first offset rebuilt)
Producer = tuple[int, int, int]


def source_producer(b: BatchView, start: int) -> Producer | None:
    """The producer fields a rebuild of ``b`` from offset ``start`` carries (None: not idempotent)."""
    if b.producer_id < 0 or b.base_sequence < 0:
        return None
    return b.producer_id, b.producer_epoch, (b.base_sequence + start - b.base_offset) % SEQUENCE_WRAP


def transaction_of(b: BatchView) -> Producer | None:
    """The source transaction a data batch belongs to, as rebuilt batches carry it (None: none)."""
    if not b.is_transactional or b.is_control or b.producer_id < 0:
        return None
    return b.producer_id, b.producer_epoch, 0


def rebuild_range(start: int, end: int, retained: Sequence[Record], after: Record | None, codec: Codec,
                  epoch: int = -1, producer: Producer | None = None,
                  chunk_bytes: int = CHUNK_BYTES, transactional: bool = False) -> list[RebuiltBatch]:
    """Produce-ready batches covering offsets ``start..end-1`` exactly (see ``fill_range``);
    ``transactional``: they belong to ``producer``'s source transaction (replayed into its
    destination transaction, which re-stamps the producer fields)."""
    slots = fill_range(start, end, retained, after)
    out: list[RebuiltBatch] = []
    first, size = 0, 0
    for i, (r, _) in enumerate(slots):
        size += record_bytes(r)
        if size >= chunk_bytes or i == len(slots) - 1:
            out.append(_batch(start + first, slots[first:i + 1], codec, epoch, producer, first, transactional))
            first, size = i + 1, 0
    return out


def _batch(base: int, slots: list[tuple[Record, bool]], codec: Codec, epoch: int, producer: Producer | None,
           skip: int, transactional: bool = False) -> RebuiltBatch:
    records = [NewRecord(r.value, key=r.key, headers=r.headers, timestamp=r.timestamp, offset_delta=i)
               for i, (r, _) in enumerate(slots)]
    ids = {} if producer is None else {"producer_id": producer[0], "producer_epoch": producer[1],
                                       "base_sequence": (producer[2] + skip) % SEQUENCE_WRAP}
    raw = build_batch(records, codec=codec, base_offset=base, partition_leader_epoch=epoch,
                      last_offset_delta=len(slots) - 1, transactional=transactional and producer is not None, **ids)
    return RebuiltBatch(raw, sum(1 for _, filler in slots if filler))


def note_rebuilt(pm: PartitionMirror, batch: RebuiltBatch, metrics: MirrorMetrics) -> None:
    """The destination acknowledged a rebuilt batch of ``pm``: count it; the partition is record-exact now."""
    pm.rebuilt_batches += 1
    metrics.rebuilt_batches_total.inc()
    metrics.rebuilt_bytes_total.inc(batch.size)
    metrics.compaction_fillers_total.inc(batch.fillers)
    mark_record_exact(pm)


def mark_record_exact(pm: PartitionMirror) -> None:
    """Some of ``pm``'s offsets are equal by records, not bytes (rebuilt, or cleaned on a side)."""
    if pm.status.fidelity is Fidelity.EXACT:
        pm.status.fidelity = Fidelity.RECORD_EXACT
    elif pm.status.fidelity is Fidelity.TXN_EXACT:
        pm.status.fidelity = Fidelity.RECORD_TXN_EXACT
