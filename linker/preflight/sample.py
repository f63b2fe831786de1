"""A bounded sample of one source partition: what kinds of batches it holds and how fast
this host can fetch it. Two fetches (the head from the log start, the tail before the high
watermark) of at most ``sample_bytes`` each; every batch is judged with the engine's rule."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from kproto.records.batch import BatchView
from kproto.records.walk import walk_batches
from linker.client import Client, TopicPartition
from linker.client.kafka_errors import kafka_error
from linker.mirror.checks import LOG_APPEND_TIME_BIT, blocking_reason

#: default bytes fetched from each end of a partition
SAMPLE_BYTES = 256 * 1024


@dataclass
class Sample:
    """What the sampled batches of one partition showed."""
    batches: int = 0
    records: int = 0
    offsets: int = 0          # offsets spanned by the sampled batches
    bytes: int = 0
    seconds: float = 0.0      # time spent in the fetches
    codecs: Counter = field(default_factory=Counter)
    transactional: int = 0
    control: int = 0
    idempotent: int = 0
    log_append_time: int = 0
    legacy: int = 0
    cleaned: int = 0          # batches with fewer records than offsets, or holes between batches
    largest_batch: int = 0
    blocker: tuple[int, str] | None = None   # (offset, reason) of the first batch the engine stops at

    def add(self, other: Sample) -> None:
        for name in ("batches", "records", "offsets", "bytes", "seconds", "transactional", "control",
                     "idempotent", "log_append_time", "legacy", "cleaned"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.codecs.update(other.codecs)
        self.largest_batch = max(self.largest_batch, other.largest_batch)
        if self.blocker is None:
            self.blocker = other.blocker

    @property
    def bytes_per_offset(self) -> float:
        return self.bytes / self.offsets if self.offsets else 0.0


async def _read(client: Client, tp: TopicPartition, offset: int, end: int, max_bytes: int, compacted: bool,
                out: Sample) -> int:
    """Fetch once at ``offset`` and fold the batches below ``end`` into ``out``; the next offset."""
    began = time.monotonic()
    p = await client.fetch_partition(tp, offset, max_bytes)
    out.seconds += time.monotonic() - began
    if p.error_code:
        raise kafka_error(p.error_code, tp=tp, api="Fetch")
    expected = offset
    for b in walk_batches(p.records):
        if type(b) is not BatchView:
            out.legacy += 1
            out.batches += 1
            if out.blocker is None:
                out.blocker = (b.offset, blocking_reason(b, compacted) or "legacy batch")
            expected = b.offset + 1
            continue
        if b.next_offset <= offset or b.base_offset >= end:
            continue
        out.batches += 1
        out.records += b.record_count
        out.offsets += b.next_offset - max(b.base_offset, offset)
        out.bytes += b.size
        out.largest_batch = max(out.largest_batch, b.size)
        out.codecs[b.codec.name.lower()] += 1
        out.transactional += b.is_transactional and not b.is_control
        out.control += b.is_control
        out.idempotent += b.is_idempotent and not b.is_transactional
        out.log_append_time += bool(b.attributes & LOG_APPEND_TIME_BIT)
        if b.record_count != b.last_offset_delta + 1 or b.base_offset > expected:
            out.cleaned += 1
        why = blocking_reason(b, compacted)
        if why is not None and out.blocker is None:
            out.blocker = (b.base_offset, why)
        expected = b.next_offset
    return expected


async def sample_partition(client: Client, tp: TopicPartition, log_start: int, high_watermark: int,
                           compacted: bool, sample_bytes: int = SAMPLE_BYTES) -> Sample:
    """Sample the head (from ``log_start``) and, when the partition is larger, the tail."""
    out = Sample()
    if high_watermark <= log_start:
        return out
    head_end = await _read(client, tp, log_start, high_watermark, sample_bytes, compacted, out)
    if head_end >= high_watermark or not out.bytes_per_offset:
        return out
    tail_from = max(head_end, high_watermark - int(sample_bytes / out.bytes_per_offset))
    await _read(client, tp, tail_from, high_watermark, sample_bytes, compacted, out)
    return out
