"""`linker verify`: compare source and destination independently of the engine.

For every mirrored partition, from the later of the two log starts up to the
destination's log end, the batches on both sides must have the same offsets,
the same record count, the same CRC and the same CRC-covered bytes. The first
divergence of each partition is reported.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from kproto.records.batch import BatchView
from kproto.records.layout import ATTRIBUTES_POS
from kproto.records.walk import walk_batches
from linker.client.kafka_errors import error_name
from linker.settings import LinkConfig
from linker.mirror.kafka_io import EARLIEST, LATEST, TP, ClusterIO
from linker.naming import MirrorNames
from linker.selection import TopicSelector

FETCH_BYTES = 4 * 1024 * 1024


@dataclass
class PartitionReport:
    topic: str
    partition: int
    checked_from: int = 0
    checked_to: int = 0
    checked_batches: int = 0
    divergence: str | None = None
    mirror_topic: str = ""      # the destination topic (differs with a [topics] prefix)

    @property
    def ok(self) -> bool:
        return self.divergence is None


@dataclass
class VerifyReport:
    partitions: list[PartitionReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(p.ok for p in self.partitions)

    def render(self) -> str:
        lines = [f"problem: {p}" for p in self.problems]
        for p in sorted(self.partitions, key=lambda r: (r.topic, r.partition)):
            name = f"{p.topic}-{p.partition}"
            if p.mirror_topic and p.mirror_topic != p.topic:
                name += f" -> {p.mirror_topic}-{p.partition}"
            if p.ok:
                lines.append(f"OK        {name}: offsets {p.checked_from}..{p.checked_to} "
                             f"({p.checked_batches} batches) identical")
            else:
                lines.append(f"DIVERGED  {name}: {p.divergence}")
        n_bad = sum(1 for p in self.partitions if not p.ok) + len(self.problems)
        lines.append(f"{len(self.partitions)} partitions checked, {n_bad} problem(s)")
        return "\n".join(lines) + "\n"


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
    if src.crc != dst.crc:
        return f"batch at {src.base_offset}: CRC source {src.crc:#010x}, destination {dst.crc:#010x}"
    if src.size != dst.size or src.buffer[ATTRIBUTES_POS:] != dst.buffer[ATTRIBUTES_POS:]:
        return f"batch at {src.base_offset}: CRC-covered bytes differ (same CRC field)"
    return None


async def _batches_from(io: ClusterIO, tp: TP, offset: int) -> list[BatchView]:
    size = FETCH_BYTES
    while True:
        p = await io.fetch_once(tp, offset, size)
        if p.error_code:
            raise RuntimeError(f"{io.label} fetch of {tp[0]}-{tp[1]} at {offset}: {error_name(p.error_code)}")
        walk = walk_batches(p.records)
        out = [b for b in walk if isinstance(b, BatchView) and b.next_offset > offset]
        if out or not walk.truncated:
            return out
        size *= 4


async def verify_partition(source: ClusterIO, dest: ClusterIO, tp: TP, s_start: int, s_hw: int,
                           d_start: int, d_end: int, dest_tp: TP | None = None) -> PartitionReport:
    """Compare ``tp`` on the source with ``dest_tp`` (default: the same name) on the destination."""
    dest_tp = dest_tp or tp
    rep = PartitionReport(tp[0], tp[1], mirror_topic=dest_tp[0])
    if d_end > s_hw:
        rep.divergence = (f"destination log end {d_end} is beyond the source high watermark {s_hw}: "
                          "the destination holds offsets the source does not")
        return rep
    start = max(s_start, d_start)
    rep.checked_from = rep.checked_to = start
    pos = start
    while pos < d_end:
        src, dst = await asyncio.gather(_batches_from(source, tp, pos), _batches_from(dest, dest_tp, pos))
        if not dst:
            rep.divergence = f"destination returned no batch at offset {pos} below its log end {d_end}"
            return rep
        if not src:
            rep.divergence = f"source returned no batch at offset {pos} (destination has one)"
            return rep
        for s, d in zip(src, dst):
            if d.base_offset >= d_end:
                break
            why = compare_batches(s, d)
            if why is not None:
                rep.divergence = f"first divergence at offset {min(s.base_offset, d.base_offset)}: {why}"
                return rep
            rep.checked_batches += 1
            pos = d.next_offset
        rep.checked_to = pos
    return rep


async def verify_link(config: LinkConfig, topic: str | None = None) -> VerifyReport:
    source = ClusterIO(config.source, "source", f"{config.source.client_id}-verify")
    dest = ClusterIO(config.destination, "destination", f"{config.destination.client_id}-verify")
    report = VerifyReport()
    try:
        src = await source.refresh()
        dst = await dest.refresh()
        selected, missing = TopicSelector(config.topics).select(
            t for t, i in src.topics.items() if not i.error_code)
        names = MirrorNames(config.topics.prefix)
        if topic is not None:
            chosen = names.resolve(topic, set(selected))
            if chosen is None:
                report.problems.append(f"topic {topic} is not mirrored by link {config.name} "
                                       "(give the source or the mirror topic name)")
                return report
            selected = [chosen]
        report.problems += [f"topic {m} is named in the link but missing on the source" for m in missing]
        tps: list[TP] = []
        for t in selected:
            m = names.mirror_topic(t)
            if m not in dst.topics or dst.topics[m].error_code:
                report.problems.append(f"mirror topic {m} of {t} is missing on the destination")
                continue
            n_src, n_dst = len(src.topics[t].partitions), len(dst.topics[m].partitions)
            if n_src != n_dst:
                report.problems.append(f"topic {t}: source has {n_src} partitions, destination {n_dst}")
                continue
            tps += [(t, i) for i in range(n_src)]
        if not tps:
            return report
        s_start, s_hw, d_start, d_end = await asyncio.gather(
            source.list_offsets(tps, EARLIEST), source.list_offsets(tps, LATEST),
            dest.list_offsets([names.mirror_tp(tp) for tp in tps], EARLIEST),
            dest.list_offsets([names.mirror_tp(tp) for tp in tps], LATEST))
        d_start, d_end = names.by_source(d_start, tps), names.by_source(d_end, tps)
        sem = asyncio.Semaphore(8)

        async def one(tp: TP) -> PartitionReport:
            async with sem:
                return await verify_partition(source, dest, tp, s_start[tp], s_hw[tp], d_start[tp], d_end[tp],
                                              dest_tp=names.mirror_tp(tp))
        report.partitions = list(await asyncio.gather(*(one(tp) for tp in tps)))
        return report
    finally:
        await source.close()
        await dest.close()
