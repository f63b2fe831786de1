"""Comparing a compacted partition: by bytes where neither side cleaned, by records where one did.

A compacted partition's two logs may legitimately differ in batches: the
source cleaner may have rewritten batches after they were mirrored, the linker
rebuilt batches the source had cleaned before (``rebuild``), and the
destination's own cleaner rewrites the mirror. What must still hold, over the
compared offsets:

- a batch uncleaned on both sides (count = lastOffsetDelta+1, same offsets) is
  byte-equal (``compare.compare_batches``), always;
- an offset holding a record on both sides holds the same record: key, value,
  headers and timestamp;
- an offset holding a record on one side only is a hole of the other side's
  cleaner: it lies in a cleaned batch there, or between its batches. (A hole
  where the other side has an uncleaned batch is a divergence.) Fillers are
  such records wherever they sit, those that carry a producer's id and
  sequences (``sequences``) too: the source has no batch there.
"""
from __future__ import annotations

import asyncio
import bisect
from collections.abc import Awaitable, Callable, Sequence

from kproto.records.batch import BatchView
from kproto.records.decode import iter_records
from kproto.records.record import Record
from linker.client import Client, TopicPartition

BatchesFrom = Callable[[Client, TopicPartition, int], Awaitable[list[BatchView]]]


def cleaned(b: BatchView) -> bool:
    """Fewer records than offsets: a cleaner removed some (or all) of them."""
    return b.record_count != b.last_offset_delta + 1


class _Side:
    """One side's batches of a window: its records by offset, and where it has holes."""

    def __init__(self, batches: Sequence[BatchView], skip: set[tuple[int, int]], lo: int, hi: int) -> None:
        self.bases = [b.base_offset for b in batches]
        self.batches = list(batches)
        self.records: dict[int, Record] = {}
        for b in batches:
            if (b.base_offset, b.next_offset) in skip or b.next_offset <= lo or b.base_offset >= hi:
                continue
            for r in iter_records(b):
                if lo <= r.offset < hi:
                    self.records[r.offset] = r

    def hole_allowed(self, offset: int) -> bool:
        """``offset`` has no record here: true when a cleaner can have removed it."""
        i = bisect.bisect_right(self.bases, offset) - 1
        if i < 0 or self.batches[i].last_offset < offset:
            return True          # between batches: a whole batch was cleaned away
        return cleaned(self.batches[i])


def _same(a: Record, b: Record) -> str | None:
    for name in ("key", "value", "headers", "timestamp"):
        if getattr(a, name) != getattr(b, name):
            return name
    return None


def compare_window(src: Sequence[BatchView], dst: Sequence[BatchView], lo: int, hi: int,
                   compare_batches: Callable[[BatchView, BatchView], str | None]) -> tuple[str | None, int, int]:
    """Compare offsets ``lo..hi-1``: (first difference, batches equal by bytes, records compared)."""
    dst_by_bounds = {(d.base_offset, d.next_offset): d for d in dst}
    equal: set[tuple[int, int]] = set()
    for s in src:
        bounds = (s.base_offset, s.next_offset)
        d = dst_by_bounds.get(bounds)
        if s.next_offset <= lo or d is None or cleaned(s) or cleaned(d):
            continue
        why = compare_batches(s, d)
        if why is not None:
            return why, 0, 0
        equal.add(bounds)
    s_side, d_side = _Side(src, equal, lo, hi), _Side(dst, equal, lo, hi)
    compared = 0
    for off in sorted(s_side.records.keys() | d_side.records.keys()):
        a, b = s_side.records.get(off), d_side.records.get(off)
        if a is not None and b is not None:
            field = _same(a, b)
            if field is not None:
                return f"record at offset {off}: {field} differs", 0, 0
            compared += 1
        elif a is not None and not d_side.hole_allowed(off):
            return f"destination lacks the record at offset {off} inside an uncleaned batch", 0, 0
        elif b is not None and not s_side.hole_allowed(off):
            return (f"destination holds a record at offset {off} where the source has an uncleaned batch "
                    "without it"), 0, 0
    whole = sum(1 for b in equal if b[1] <= hi)
    return None, whole, compared


async def compare_compacted(source: Client, dest: Client, tp: TopicPartition, dest_tp: TopicPartition,
                            start: int, d_end: int, batches_from: BatchesFrom,
                            compare_batches: Callable[[BatchView, BatchView], str | None],
                            keep_going: Callable[[], bool] = lambda: True) -> tuple[str | None, int, int, int]:
    """Compare ``start..d_end-1`` window by window while ``keep_going()`` (a byte budget):
    (divergence, checked to, batches by bytes, records)."""
    pos, by_bytes, by_records = start, 0, 0
    while pos < d_end and keep_going():
        src, dst = await asyncio.gather(batches_from(source, tp, pos), batches_from(dest, dest_tp, pos))
        if not dst:
            return f"destination returned no batch at offset {pos} below its log end {d_end}", pos, by_bytes, by_records
        if not src:
            return f"source returned no batch at offset {pos} (destination has one)", pos, by_bytes, by_records
        hi = min(src[-1].next_offset, dst[-1].next_offset, d_end)
        why, n_bytes, n_records = compare_window(src, dst, pos, hi, compare_batches)
        if why is not None:
            return f"first divergence in offsets {pos}..{hi - 1}: {why}", pos, by_bytes, by_records
        by_bytes += n_bytes
        by_records += n_records
        pos = hi
    return None, pos, by_bytes, by_records
