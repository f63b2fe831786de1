"""What a failover lost: the old source's records at and after the failover offsets.

After a failover the old source may come back holding records the mirror never got:
everything at offsets >= the failover offset recorded in the STOPPED record. Below that
offset the old source must still be an exact prefix of the promoted topic (the mirror
copied it batch for batch); this is checked with the one batch comparison
(``linker.mirror.compare``), so a divergence older than the failover is named too.
The tail is read batch by batch and decoded (control batches skipped: they carry no
user data), so the report gives exact counts, offset and time ranges, and an exporter
can hand every lost record to the user. A tail made of the promoted topic's own batches
(failback run again after the reverse link began mirroring back) is no loss.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from kproto.records.decode import iter_records
from kproto.records.record import Record
from linker.client import EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, Client
from linker.mirror.compare import batches_from, compare_range

#: Bytes asked for per fetch of the tail (grown while one batch does not fit).
TAIL_FETCH_BYTES = 4 * 1024 * 1024

RecordSink = Callable[[str, int, Record], None]


@dataclass
class PartitionDiff:
    """One partition of the old source against the failover offset."""
    topic: str
    partition: int
    failover_offset: int
    old_start: int
    old_end: int                       # the old source's high watermark
    prefix_problem: str | None = None  # the old source below the failover offset differs from the promoted topic
    lost: int = 0                      # records at offsets >= failover_offset (control records not counted)
    mirrored_back: int = 0             # offsets >= failover_offset that are the promoted topic's own batches
    first_offset: int | None = None
    last_offset: int | None = None
    first_ms: int | None = None        # record timestamps: smallest and largest
    last_ms: int | None = None

    @property
    def reusable(self) -> bool:
        """Nothing beyond the failover offset and an exact prefix: the old topic can be mirrored into."""
        return (self.old_end <= self.failover_offset or self.mirrored_back > 0) and self.prefix_problem is None

    def line(self) -> str:
        s = f"{self.topic}-{self.partition}: failover offset {self.failover_offset}, old source ends at {self.old_end}"
        if self.mirrored_back:
            s += (f"; offsets {self.failover_offset}..{self.old_end - 1} are the promoted topic's batches "
                  "(mirrored back already): nothing lost")
        elif self.lost:
            s += (f"; lost {self.lost} records at offsets {self.first_offset}..{self.last_offset}, "
                  f"timestamps {_utc(self.first_ms)} .. {_utc(self.last_ms)}")
        elif self.old_end > self.failover_offset:
            s += f"; {self.old_end - self.failover_offset} offsets beyond it hold no data records"
        else:
            s += "; nothing lost"
        if self.prefix_problem:
            s += (f"; below the failover offset the old source differs from the promoted topic ({self.prefix_problem}; "
                  "source = the promoted topic, destination = the old source)")
        return s


def _utc(ms: int | None) -> str:
    if ms is None:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d} UTC"


async def diff_topic(old: Client, promoted: Client, topic: str, failover: dict[int, int],
                     promoted_topic: str | None = None, sink: RecordSink | None = None,
                     compacted: bool = False) -> list[PartitionDiff]:
    """Diff every partition of ``topic`` on the old source (``old``) against its failover offset
    (``failover``: {partition: offset}) and the promoted topic (``promoted``). ``sink`` gets every
    lost record, in offset order per partition. A ``compacted`` topic is compared by records where
    a side's cleaner removed some (the two clusters clean independently)."""
    promoted_topic = promoted_topic or topic
    tps = [(topic, p) for p in sorted(failover)]
    ptps = [(promoted_topic, p) for p in sorted(failover)]
    starts = await old.offsets(tps, EARLIEST_TIMESTAMP)
    ends = await old.offsets(tps, LATEST_TIMESTAMP)
    p_starts = await promoted.offsets(ptps, EARLIEST_TIMESTAMP)
    p_ends = await promoted.offsets(ptps, LATEST_TIMESTAMP)
    out = []
    for (t, p), ptp in zip(tps, ptps):
        d = PartitionDiff(t, p, failover[p], starts[(t, p)], ends[(t, p)])
        lo, hi = max(d.old_start, p_starts[ptp]), min(d.old_end, d.failover_offset)
        if lo < hi:
            rep = await compare_range(promoted, old, ptp, (t, p), lo, hi, compacted=compacted)
            d.prefix_problem = rep.divergence
        if d.old_end > d.failover_offset and d.prefix_problem is None and d.old_end <= p_ends[ptp]:
            # Failback run again after the reverse link started: the tail is its copy of the promoted topic.
            rep = await compare_range(promoted, old, ptp, (t, p), max(d.failover_offset, d.old_start), d.old_end,
                                      compacted=compacted)
            if rep.divergence is None:
                d.mirrored_back = d.old_end - d.failover_offset
        if d.old_end > d.failover_offset and not d.mirrored_back:
            await _read_tail(old, d, sink)
        out.append(d)
    return out


async def _read_tail(old: Client, d: PartitionDiff, sink: RecordSink | None) -> None:
    """Count (and hand to ``sink``) the data records of ``old`` in [failover offset, old end)."""
    tp = (d.topic, d.partition)
    pos = max(d.failover_offset, d.old_start)
    while pos < d.old_end:
        batches, _ = await batches_from(old, tp, pos, TAIL_FETCH_BYTES)
        if not batches:
            break   # nothing more below the high watermark (e.g. transaction markers only)
        for b in batches:
            if b.base_offset >= d.old_end:
                pos = d.old_end
                break
            if not b.is_control:
                for r in iter_records(b):
                    if r.offset < d.failover_offset or r.offset < pos or r.offset >= d.old_end:
                        continue
                    _count(d, r)
                    if sink is not None:
                        sink(d.topic, d.partition, r)
            pos = b.next_offset


def _count(d: PartitionDiff, r: Record) -> None:
    d.lost += 1
    d.first_offset = r.offset if d.first_offset is None else d.first_offset
    d.last_offset = r.offset
    d.first_ms = r.timestamp if d.first_ms is None else min(d.first_ms, r.timestamp)
    d.last_ms = r.timestamp if d.last_ms is None else max(d.last_ms, r.timestamp)
