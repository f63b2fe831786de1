"""`linker verify`: judge source and destination independently of the engine.

For every mirrored partition it reads both log starts and log ends (the
destination first, so a live mirror is never seen ahead of the source), then
compares the batches on both sides from the later log start up to the
destination's log end (``linker.mirror.compare``: offsets, record count, CRC
and CRC-covered bytes). Each partition gets one verdict:

- EXACT: everything the source holds is on the destination, batch for batch
  (a destination that still keeps records the source's retention removed is
  exact; that range is named and not compared); a compacted topic is compared
  by records where a cleaner rewrote batches on either side (``recordwise``),
  and the line says how many records were compared so (record-exact);
  transactional batches and markers, replayed through destination
  transactions, are compared by offsets, records and marker type (the line
  counts them: offset-exact, headers re-stamped);
- BEHIND: what the destination holds is exact, but it ends N offsets before
  the source (a linker catching up, or not running);
- INCOMPLETE: exact so far, but it will not catch up by itself: its topic is
  BLOCKED, FAILED, DIVERGED or STOPPED in the state topic, or the destination
  lost the start of the log (its log start is above the source's);
- DIVERGED: a batch differs, or the destination holds offsets the source does not;
- NOT-CHECKED: a cluster could not be read (its reason is shown, and what the
  other side holds).

Exit codes (``exit_code``): 0 every partition EXACT (with ``allow_lag``,
BEHIND counts as exact so far); 1 a divergence or a problem with the link
(a mirror topic missing, partition counts differ, nothing selected); 4 a
cluster could not be read; 3 otherwise (BEHIND or INCOMPLETE).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from linker.client import EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, Admin, Client, ClientError, TopicPartition
from linker.connect import both_clusters
from linker.mirror.compare import PartitionReport, compare_partition
from linker.mirror.topics import is_compacted
from linker.naming import MirrorNames
from linker.reach import EXIT_UNREACHABLE, REACH_TIMEOUT_S, Deadline, Unreachable, read_both, topics_without_source
from linker.selection import TopicSelector
from linker.settings import LinkConfig
from linker.status import read_link_state

EXACT, BEHIND, INCOMPLETE, DIVERGED, NOT_CHECKED = "EXACT", "BEHIND", "INCOMPLETE", "DIVERGED", "NOT-CHECKED"
EXIT_OK, EXIT_DIVERGED, EXIT_BEHIND = 0, 1, 3
#: Topic states after which the linker does not write the mirror again (until a person acts).
STUCK_STATES = frozenset({"BLOCKED", "FAILED", "DIVERGED", "STOPPED"})


@dataclass
class PartitionVerdict:
    """Both sides' log range of one partition, and how far their batches were compared."""
    topic: str
    partition: int
    mirror_topic: str = ""
    source_start: int | None = None
    source_end: int | None = None        # the source high watermark
    dest_start: int | None = None
    dest_end: int | None = None          # the destination high watermark
    compared: PartitionReport | None = None
    lifecycle: str = ""                  # the topic's state in the state topic ("" when unknown)
    lifecycle_reason: str = ""
    not_checked: str = ""                # why nothing was compared (a side could not be read)

    @property
    def state(self) -> str:
        if self.not_checked or self.compared is None:
            return NOT_CHECKED
        if self.compared.divergence is not None:
            return DIVERGED
        if self.missing_head or (self.lag and self.lifecycle in STUCK_STATES):
            return INCOMPLETE
        return BEHIND if self.lag else EXACT

    @property
    def lag(self) -> int:
        """Offsets the destination ends before the source (0 when unknown)."""
        if self.source_end is None or self.dest_end is None:
            return 0
        return max(0, self.source_end - self.dest_end)

    @property
    def missing_head(self) -> int:
        """Offsets at the start of the source's log that the destination no longer holds."""
        if self.source_start is None or self.dest_start is None or self.dest_start <= self.source_start:
            return 0
        return min(self.dest_start, self.source_end or 0) - self.source_start

    # What tests and callers read from the comparison itself.
    @property
    def ok(self) -> bool:
        return self.state == EXACT

    @property
    def divergence(self) -> str | None:
        return self.compared.divergence if self.compared else None

    @property
    def checked_from(self) -> int:
        return self.compared.checked_from if self.compared else 0

    @property
    def checked_to(self) -> int:
        return self.compared.checked_to if self.compared else 0

    @property
    def checked_batches(self) -> int:
        return self.compared.checked_batches if self.compared else 0

    def name(self) -> str:
        n = f"{self.topic}-{self.partition}"
        return n if not self.mirror_topic or self.mirror_topic == self.topic else \
            f"{n} -> {self.mirror_topic}-{self.partition}"

    def line(self) -> str:
        """One output line; it says what was compared and never more."""
        state = self.state
        if state == NOT_CHECKED:
            return f"{state:<12}{self.name()}: {self.not_checked}; {self._ranges()}"
        if state == DIVERGED:
            return f"{state:<12}{self.name()}: {self.divergence}"
        parts = []
        if state == INCOMPLETE and self.missing_head:
            parts.append(f"the destination log starts at {self.dest_start}, the source's at {self.source_start}: "
                         f"{self.missing_head} offsets are missing at the start")
        if self.lag:
            why = (f"; topic {self.lifecycle} in the state topic" + (f" ({self.lifecycle_reason})"
                                                                    if self.lifecycle_reason else "")
                   + ": the linker does not write it again") if self.lifecycle in STUCK_STATES else ""
            parts.append(f"{self.lag} offsets behind (destination log end {self.dest_end}, "
                         f"source {self.source_end}){why}")
        records = self.compared.records_compared if self.compared else 0
        replayed = self.compared.replayed_batches if self.compared else 0
        if self.checked_batches or records:
            parts.append(f"offsets {self.checked_from}..{self.checked_to} compared: "
                         f"{self.checked_batches} batches identical"
                         + (f", {records} records identical where a cleaner rewrote batches "
                            "(record-exact, compacted)" if records else "")
                         + (f", {replayed} of them transactional batches and markers equal by records, "
                            "offsets and marker type (offset-exact (transactional, headers re-stamped))"
                            if replayed else ""))
        elif self.dest_end == self.dest_start:
            parts.append("the destination is empty: nothing to compare" if self.lag else
                         f"empty on both sides at offset {self.source_end}")
        else:
            parts.append(f"offsets {self.checked_from}..{self.checked_to}: no batch to compare")
        if self.dest_start is not None and self.source_start is not None and self.dest_start < self.source_start:
            parts.append(f"the destination also keeps offsets {self.dest_start}..{self.source_start} that the "
                         "source no longer holds (not compared)")
        return f"{state:<12}{self.name()}: " + "; ".join(parts)

    def _ranges(self) -> str:
        def rng(label: str, start: int | None, end: int | None) -> str:
            return f"{label} log {start}..{end}" if start is not None and end is not None else f"{label} log unknown"
        return rng("source", self.source_start, self.source_end) + ", " + \
            rng("destination", self.dest_start, self.dest_end)


@dataclass
class VerifyReport:
    partitions: list[PartitionVerdict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)   # side -> reason

    @property
    def ok(self) -> bool:
        """Every partition exact and complete, nothing else wrong."""
        return self.exit_code() == EXIT_OK

    def exit_code(self, allow_lag: bool = False) -> int:
        states = {p.state for p in self.partitions}
        if self.problems or DIVERGED in states:
            return EXIT_DIVERGED
        if self.unreachable or NOT_CHECKED in states:
            return EXIT_UNREACHABLE
        if INCOMPLETE in states or (BEHIND in states and not allow_lag):
            return EXIT_BEHIND
        return EXIT_OK

    def render(self, allow_lag: bool = False) -> str:
        lines = [f"{side} UNREACHABLE: {why}" for side, why in sorted(self.unreachable.items())]
        lines += [f"problem: {p}" for p in self.problems]
        for p in sorted(self.partitions, key=lambda r: (r.topic, r.partition)):
            lines.append(p.line())
        counts: dict[str, int] = {}
        for p in self.partitions:
            counts[p.state] = counts.get(p.state, 0) + 1
        lag = sum(p.lag for p in self.partitions if p.state in (BEHIND, INCOMPLETE))
        shown = ", ".join(f"{counts[s]} {s.lower()}" + (f" ({lag} offsets)" if s == BEHIND and lag else "")
                          for s in (EXACT, BEHIND, INCOMPLETE, DIVERGED, NOT_CHECKED) if counts.get(s))
        lines.append(f"{len(self.partitions)} partitions" + (f": {shown}" if shown else "")
                     + f"; {len(self.problems)} problem(s)")
        lines.append(_verdict(self.exit_code(allow_lag), allow_lag))
        return "\n".join(lines) + "\n"


def _verdict(code: int, allow_lag: bool) -> str:
    if code == EXIT_OK:
        return ("result: exact so far (lag allowed by --allow-lag)" if allow_lag else
                "result: exact: the destination holds everything the source holds")
    if code == EXIT_DIVERGED:
        return "result: NOT exact (exit 1)"
    if code == EXIT_UNREACHABLE:
        return f"result: UNKNOWN: a cluster could not be read (exit {EXIT_UNREACHABLE})"
    return (f"result: exact so far but incomplete (exit {EXIT_BEHIND}"
            + ("" if allow_lag else "; --allow-lag accepts partitions that are only behind") + ")")


@dataclass
class _SourceView:
    selected: list[str]
    missing: list[str]
    partitions: dict[str, int]     # topic -> partition count
    compacted: set[str] = field(default_factory=set)   # compared by records where cleaned


async def verify_link(config: LinkConfig, topic: str | None = None,
                      timeout: float = REACH_TIMEOUT_S) -> VerifyReport:
    """Verdicts for every partition the link mirrors (or only ``topic``); each side is read within
    ``timeout`` seconds."""
    async with both_clusters(config, "verify") as (source, dest):
        return await _verify(config, source, dest, topic, timeout)


async def _verify(config: LinkConfig, source: Client, dest: Client, topic: str | None,
                  timeout: float) -> VerifyReport:
    report = VerifyReport()
    selector, names = TopicSelector(config.topics), MirrorNames(config.topics.prefix)
    s_time, d_time = Deadline("source", timeout), Deadline("destination", timeout)

    async def read_source() -> _SourceView:
        src = await source.refresh_metadata()
        selected, missing = selector.select(t for t, i in src.topics.items() if not i.error_code)
        try:
            configs = await Admin(source).topic_configs(selected)
        except ClientError:   # no DescribeConfigs right: compare by bytes only
            configs = {}
        return _SourceView(selected, missing, {t: len(src.topics[t].partitions) for t in selected},
                           {t for t in selected if is_compacted(configs.get(t, {}))})

    async def read_dest() -> tuple:
        return await dest.refresh_metadata(), await read_link_state(config, dest)

    s_view, d_view = await read_both(read_source(), read_dest(), s_time, d_time, report.unreachable)
    dst, link_state = d_view if d_view is not None else (None, None)
    recorded = link_state[0].topics if link_state else {}

    if isinstance(s_view, _SourceView):
        selected, counts = s_view.selected, s_view.partitions
        report.problems += [f"topic {m} is named in the link but missing on the source" for m in s_view.missing]
    elif dst is not None:
        selected = topics_without_source(selector, names, dst, recorded)
        counts = {t: len(dst.topics[names.mirror_topic(t)].partitions) for t in selected
                  if names.mirror_topic(t) in dst.topics and not dst.topics[names.mirror_topic(t)].error_code}
        selected = [t for t in selected if t in counts]
    else:
        return report
    if topic is not None:
        chosen = names.resolve(topic, set(selected))
        if chosen is None:
            report.problems.append(f"topic {topic} is not mirrored by link {config.name} "
                                   "(give the source or the mirror topic name)")
            return report
        selected = [chosen]
    elif not selected and isinstance(s_view, _SourceView) and not s_view.missing:
        report.problems.append("the link selects no topic on the source (topics.names/include/exclude match "
                               "nothing): nothing was verified")
        return report

    verdicts: dict[TopicPartition, PartitionVerdict] = {}
    for t in selected:
        m = names.mirror_topic(t)
        if dst is not None:
            if m not in dst.topics or dst.topics[m].error_code:
                report.problems.append(f"mirror topic {m} of {t} is missing on the destination")
                continue
            n_dst = len(dst.topics[m].partitions)
            if n_dst != counts[t]:
                report.problems.append(f"topic {t}: source has {counts[t]} partitions, destination {n_dst}")
                continue
        r = recorded.get(t)
        state = r.state.value if r else ("" if dst is None else "ACTIVE")   # no record: ACTIVE
        for i in range(counts[t]):
            verdicts[(t, i)] = PartitionVerdict(t, i, m, lifecycle=state, lifecycle_reason=r.reason if r else "")
    report.partitions = list(verdicts.values())
    if not verdicts:
        return report
    tps = list(verdicts)
    # The destination first: read after it, the source's end can only be further on.
    if dst is not None:
        try:
            mtps = [names.mirror_tp(tp) for tp in tps]
            d_start, d_end = await d_time.run(asyncio.gather(dest.offsets(mtps, EARLIEST_TIMESTAMP),
                                                             dest.offsets(mtps, LATEST_TIMESTAMP)))
            for tp in tps:
                v = verdicts[tp]
                v.dest_start, v.dest_end = d_start[names.mirror_tp(tp)], d_end[names.mirror_tp(tp)]
        except Unreachable as exc:
            report.unreachable[exc.side] = exc.reason
    if "source" not in report.unreachable:
        try:
            s_start, s_end = await s_time.run(asyncio.gather(source.offsets(tps, EARLIEST_TIMESTAMP),
                                                             source.offsets(tps, LATEST_TIMESTAMP)))
            for tp in tps:
                verdicts[tp].source_start, verdicts[tp].source_end = s_start[tp], s_end[tp]
        except Unreachable as exc:
            report.unreachable[exc.side] = exc.reason
    if report.unreachable:
        why = "; ".join(f"{side} unreachable" for side in sorted(report.unreachable))
        for v in verdicts.values():
            v.not_checked = why
        return report

    sem = asyncio.Semaphore(8)
    compacted = s_view.compacted if isinstance(s_view, _SourceView) else set()

    async def one(v: PartitionVerdict) -> None:
        tp = (v.topic, v.partition)
        async with sem:
            try:
                v.compared = await compare_partition(source, dest, tp, v.source_start, v.source_end,
                                                     v.dest_start, v.dest_end, dest_tp=names.mirror_tp(tp),
                                                     compacted=v.topic in compacted)
            except (ClientError, RuntimeError, OSError) as exc:
                v.not_checked = f"reading the batches failed: {exc}"
    await asyncio.gather(*(one(v) for v in verdicts.values()))
    return report
