"""`linker verify`: compare source and destination independently of the engine.

For every mirrored partition, from the later of the two log starts up to the
destination's log end, the batches on both sides must be the same
(``linker.mirror.compare``: offsets, record count, CRC and CRC-covered bytes).
The first divergence of each partition is reported.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from linker.settings import LinkConfig
from linker.mirror.compare import PartitionReport, compare_partition
from linker.client import EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, TopicPartition
from linker.connect import connect
from linker.naming import MirrorNames
from linker.selection import TopicSelector


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


async def verify_link(config: LinkConfig, topic: str | None = None) -> VerifyReport:
    source = connect(config.source, "source", f"{config.source.client_id}-verify")
    dest = connect(config.destination, "destination", f"{config.destination.client_id}-verify")
    report = VerifyReport()
    try:
        src = await source.refresh_metadata()
        dst = await dest.refresh_metadata()
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
        tps: list[TopicPartition] = []
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
            source.offsets(tps, EARLIEST_TIMESTAMP), source.offsets(tps, LATEST_TIMESTAMP),
            dest.offsets([names.mirror_tp(tp) for tp in tps], EARLIEST_TIMESTAMP),
            dest.offsets([names.mirror_tp(tp) for tp in tps], LATEST_TIMESTAMP))
        d_start, d_end = names.by_source(d_start, tps), names.by_source(d_end, tps)
        sem = asyncio.Semaphore(8)

        async def one(tp: TopicPartition) -> PartitionReport:
            async with sem:
                return await compare_partition(source, dest, tp, s_start[tp], s_hw[tp], d_start[tp], d_end[tp],
                                              dest_tp=names.mirror_tp(tp))
        report.partitions = list(await asyncio.gather(*(one(tp) for tp in tps)))
        return report
    finally:
        await source.close()
        await dest.close()
