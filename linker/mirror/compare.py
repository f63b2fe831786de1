"""The one batch comparison: is a destination batch the source batch, byte for byte?

Used by the locator (the destination's last batch at start), the auditor (a
running spot check and the prefix check of adopted data) and ``linker verify``
(whole partitions). Exact means the same offsets, the same record count, the
same CRC and the same CRC-covered bytes; the baseOffset and the partition
leader epoch lie outside the CRC and may differ. Transactional batches and
markers are replayed (``transactions.py``): equal by offsets, records and
control type (``replayed_problem``), not by bytes.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

from kproto.records.batch import BatchView
from kproto.records.control import ControlType
from kproto.records.layout import ATTRIBUTES_POS, CONTROL_BIT, TRANSACTIONAL_BIT
from kproto.records.walk import walk_batches
from linker.client import Client, TopicPartition
from linker.client.kafka_errors import error_name
from linker.mirror.recordwise import compare_compacted
from linker.mirror.checks import marker_type

#: Bytes asked for per fetch while comparing (grown while one batch does not fit).
COMPARE_FETCH_BYTES = 4 * 1024 * 1024


def compare_batches(src: BatchView, dst: BatchView) -> str | None:
    """Why two batches that should be the same are not, or None."""
    if src.base_offset != dst.base_offset:
        return f"batch base offset: source {src.base_offset}, destination {dst.base_offset}"
    if src.last_offset_delta != dst.last_offset_delta:
        return (f"batch at {src.base_offset}: last offset source {src.last_offset}, "
                f"destination {dst.last_offset}")
    if src.record_count != dst.record_count:
        return (f"batch at {src.base_offset}: record count source {src.record_count}, "
                f"destination {dst.record_count}")
    if src.attributes & _REPLAYED_BITS:
        return replayed_problem(src, dst)
    if src.crc != dst.crc:
        return f"batch at {src.base_offset}: CRC source {src.crc:#010x}, destination {dst.crc:#010x}"
    if src.size != dst.size or src.buffer[ATTRIBUTES_POS:] != dst.buffer[ATTRIBUTES_POS:]:
        return f"batch at {src.base_offset}: CRC-covered bytes differ (same CRC field)"
    return None


#: Attributes .. maxTimestamp and recordCount .. end: what a re-stamped batch keeps (the producer
#: id, epoch and base sequence in between, and so the CRC, are the linker's).
_KEPT_HEAD = slice(ATTRIBUTES_POS, 43)
_KEPT_TAIL = 57
_REPLAYED_BITS = CONTROL_BIT | TRANSACTIONAL_BIT


def replayed_problem(src: BatchView, dst: BatchView) -> str | None:
    """Why a replayed transactional batch or marker differs from the source's, or None.

    A transactional data batch must equal the source's in every CRC-covered byte except
    the producer id, epoch and base sequence; a marker must be a marker of the same type
    (its producer, coordinator epoch and timestamps are the destination coordinator's)."""
    at = src.base_offset
    if src.is_control:
        if not dst.is_control:
            return f"batch at {at}: source has a transaction marker, destination a data batch"
        s_type, d_type = marker_type(src), marker_type(dst)
        if s_type != d_type:
            return f"marker at {at}: source {_type_name(s_type)}, destination {_type_name(d_type)}"
        return None
    if not dst.is_transactional or dst.is_control:
        return f"batch at {at}: source batch is transactional, the destination's is not"
    s_buf, d_buf = src.buffer, dst.buffer
    if src.size != dst.size or s_buf[_KEPT_HEAD] != d_buf[_KEPT_HEAD] or s_buf[_KEPT_TAIL:] != d_buf[_KEPT_TAIL:]:
        return f"transactional batch at {at}: records or header fields other than the producer's differ"
    return None


def _type_name(ctype: int) -> str:
    try:
        return ControlType(ctype).name
    except ValueError:
        return f"control type {ctype}"


def batch_containing(records: memoryview | bytes | None, offset: int) -> BatchView | None:
    """The v2 batch in a fetched records blob that holds ``offset``, if any."""
    if not records:
        return None
    for b in walk_batches(records):
        if type(b) is BatchView and b.base_offset <= offset <= b.last_offset:
            return b
    return None


@dataclass
class PartitionReport:
    """How far one partition was compared and where it first differed."""
    topic: str
    partition: int
    checked_from: int = 0
    checked_to: int = 0
    checked_batches: int = 0
    divergence: str | None = None
    mirror_topic: str = ""      # the destination topic (differs with a [topics] prefix)
    records_compared: int = 0   # compacted partitions: records compared where a side was cleaned
    replayed_batches: int = 0   # transactional batches and markers compared by records, offsets and type
    bytes_read: int = 0         # record bytes fetched, both clusters together

    @property
    def ok(self) -> bool:
        return self.divergence is None


async def batches_from(client: Client, tp: TopicPartition, offset: int, size: int) -> tuple[list[BatchView], int]:
    """The whole batches from the one holding ``offset`` on, and the bytes fetched."""
    read = 0
    while True:
        p = await client.fetch_partition(tp, offset, size)
        if p.error_code:
            raise RuntimeError(f"{client.label} fetch of {tp[0]}-{tp[1]} at {offset}: {error_name(p.error_code)}")
        read += len(p.records or b"")
        walk = walk_batches(p.records)
        out = [b for b in walk if isinstance(b, BatchView) and b.next_offset > offset]
        if out or not walk.truncated:
            return out, read
        size *= 4


async def compare_partition(source: Client, dest: Client, tp: TopicPartition, s_start: int, s_hw: int,
                            d_start: int, d_end: int, dest_tp: TopicPartition | None = None,
                            compacted: bool = False) -> PartitionReport:
    """Compare ``tp`` on the source with ``dest_tp`` (default: the same name) on the
    destination, batch by batch, from the later log start up to the destination end.
    A ``compacted`` partition is compared by records where a side was cleaned (``recordwise``)."""
    dest_tp = dest_tp or tp
    if d_end > s_hw:
        rep = PartitionReport(tp[0], tp[1], mirror_topic=dest_tp[0])
        rep.divergence = (f"destination log end {d_end} is beyond the source high watermark {s_hw}: "
                          "the destination holds offsets the source does not")
        return rep
    return await compare_range(source, dest, tp, dest_tp, max(s_start, d_start), d_end, compacted=compacted)


async def compare_range(source: Client, dest: Client, tp: TopicPartition, dest_tp: TopicPartition,
                        start: int, end: int, budget: int | None = None, compacted: bool = False) -> PartitionReport:
    """Compare the batches holding offsets ``start..end-1``, or, with a ``budget``, only as
    many as fit in about ``budget`` bytes fetched from each cluster (the last fetch may return
    one batch larger than what is left). ``checked_to`` tells where the comparison stopped."""
    rep = PartitionReport(tp[0], tp[1], checked_from=start, checked_to=start, mirror_topic=dest_tp[0])
    if compacted:
        async def fetch(client: Client, at: TopicPartition, pos: int) -> list[BatchView]:
            size = COMPARE_FETCH_BYTES if budget is None else \
                max(1, min(COMPARE_FETCH_BYTES, budget - rep.bytes_read // 2))
            batches, read = await batches_from(client, at, pos, size)
            rep.bytes_read += read
            return batches
        rep.divergence, rep.checked_to, rep.checked_batches, rep.records_compared = await compare_compacted(
            source, dest, tp, dest_tp, start, end, fetch, compare_batches,
            lambda: budget is None or rep.bytes_read < 2 * budget)
        return rep
    pos = start
    while pos < end and (budget is None or rep.bytes_read < 2 * budget):
        size = COMPARE_FETCH_BYTES if budget is None else max(1, min(COMPARE_FETCH_BYTES, budget - rep.bytes_read // 2))
        (src, s_read), (dst, d_read) = await asyncio.gather(batches_from(source, tp, pos, size),
                                                            batches_from(dest, dest_tp, pos, size))
        rep.bytes_read += s_read + d_read
        if not dst:
            rep.divergence = f"destination returned no batch at offset {pos} below its log end {end}"
            return rep
        if not src:
            rep.divergence = f"source returned no batch at offset {pos} (destination has one)"
            return rep
        for s, d in zip(src, dst):
            if d.base_offset >= end:
                break
            why = compare_batches(s, d)
            if why is not None:
                rep.divergence = f"first divergence at offset {min(s.base_offset, d.base_offset)}: {why}"
                return rep
            rep.checked_batches += 1
            if s.attributes & _REPLAYED_BITS:
                rep.replayed_batches += 1
            pos = d.next_offset
        rep.checked_to = pos
    return rep


async def tail_problem(source: Client, dest: Client, tp: TopicPartition, dest_tp: TopicPartition, end: int,
                       budget: int | None = None) -> str | None:
    """Why the destination's last offset before ``end`` differs from the source's, for a compacted
    partition (by bytes if neither side cleaned it, else by records), or None."""
    return (await compare_range(source, dest, tp, dest_tp, end - 1, end, budget, compacted=True)).divergence
