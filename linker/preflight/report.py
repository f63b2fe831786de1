"""The verdicts of `linker plan` and their text and JSON. Pure: it formats what ``run`` found.

Exit codes (``PlanReport.exit_code``): 0 nothing `linker run` would do is blocked;
3 a topic would be BLOCKED, the destination conflicts with a topic, a right is missing
or a selected literal topic is missing on the source; 4 a cluster could not be read.
(2, from the command, is a bad link file.)
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from linker.preflight.access import AccessFindings
from linker.preflight.conflicts import DestinationView
from linker.preflight.sample import Sample

EXIT_READY, EXIT_BLOCKED, EXIT_UNREACHABLE = 0, 3, 4
EXACT, RECORD_EXACT, BLOCKED = "exact", "record-exact (compacted)", "BLOCKED"
TXN_EXACT = "offset-exact (transactional, headers re-stamped)"   # replayed (linker.mirror.transactions)
RECORD_TXN_EXACT = "record-exact (compacted, transactional, headers re-stamped)"   # both
UNKNOWN = "unknown (not sampled)"


@dataclass
class PartitionPlan:
    partition: int
    log_start: int
    high_watermark: int
    bytes: int | None = None

    @property
    def records(self) -> int:
        return max(0, self.high_watermark - self.log_start)


@dataclass
class TopicPlan:
    topic: str
    mirror_topic: str
    cleanup_policy: str
    partitions: list[PartitionPlan] = field(default_factory=list)
    sample: Sample = field(default_factory=Sample)
    bytes_source: str = "estimated"        # "log dirs" (DescribeLogDirs) or "estimated" (offsets x sample)
    destination: DestinationView = field(default_factory=DestinationView)
    mirror_exists: bool = False
    notes: list[str] = field(default_factory=list)   # what could not be sampled, and why

    @property
    def compacted(self) -> bool:
        return "compact" in self.cleanup_policy

    @property
    def records(self) -> int:
        return sum(p.records for p in self.partitions)

    @property
    def bytes(self) -> int:
        if self.bytes_source == "log dirs":
            return sum(p.bytes or 0 for p in self.partitions)
        return int(self.records * self.sample.bytes_per_offset)

    @property
    def cleaned(self) -> bool:
        """The source cleaner has rewritten history in the sample (holes, short batches)."""
        return self.compacted and self.sample.cleaned > 0

    @property
    def fidelity(self) -> str:
        if self.sample.blocker is not None:
            return BLOCKED
        if self.records and not self.sample.batches:
            return UNKNOWN
        replayed = self.sample.transactional or self.sample.control
        if self.cleaned:
            return RECORD_TXN_EXACT if replayed else RECORD_EXACT
        return TXN_EXACT if replayed else EXACT

    @property
    def blocked_reason(self) -> str:
        return self.sample.blocker[1] if self.sample.blocker else ""

    @property
    def blocks(self) -> bool:
        return self.fidelity == BLOCKED or bool(self.destination.conflicts)


@dataclass
class PlanReport:
    link: str
    sample_bytes: int
    topics: list[TopicPlan] = field(default_factory=list)
    access: AccessFindings = field(default_factory=AccessFindings)
    brokers: dict[str, list[str]] = field(default_factory=dict)   # side -> one line per broker
    problems: list[str] = field(default_factory=list)             # blocking, not tied to one topic
    unreachable: dict[str, str] = field(default_factory=dict)

    @property
    def sampled(self) -> Sample:
        total = Sample()
        for t in self.topics:
            total.add(t.sample)
        return total

    @property
    def throughput(self) -> float | None:
        """Bytes per second the sample fetches achieved (one partition at a time)."""
        s = self.sampled
        return s.bytes / s.seconds if s.seconds > 0 and s.bytes else None

    @property
    def total_bytes(self) -> int:
        return sum(t.bytes for t in self.topics)

    @property
    def eta_seconds(self) -> float | None:
        rate = self.throughput
        return None if rate is None else self.total_bytes / rate

    def exit_code(self) -> int:
        if self.unreachable:
            return EXIT_UNREACHABLE
        if self.problems or self.access.missing or any(t.blocks for t in self.topics):
            return EXIT_BLOCKED
        return EXIT_READY


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _duration(s: float) -> str:
    if s < 90:
        return f"{s:.0f}s"
    if s < 5400:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def _topic_lines(t: TopicPlan) -> list[str]:
    name = t.topic if t.mirror_topic == t.topic else f"{t.topic} -> {t.mirror_topic}"
    s = t.sample
    starts = sorted({p.log_start for p in t.partitions})
    n = len(t.partitions)
    out = [f"topic {name}: {n} partition{'' if n == 1 else 's'}, {t.records} records, "
           f"{_size(t.bytes)} ({'DescribeLogDirs' if t.bytes_source == 'log dirs' else 'estimated: offsets x sampled bytes per offset'}), "
           f"log start {starts[0] if len(starts) == 1 else starts}, cleanup.policy={t.cleanup_policy}"]
    codecs = ", ".join(f"{c} {n}" for c, n in sorted(s.codecs.items())) or "-"
    out.append(f"  sample: {s.batches} batches, {s.records} records, {_size(s.bytes)}; codecs {codecs}; "
               f"transactional {s.transactional}, control {s.control}, idempotent {s.idempotent}, "
               f"LogAppendTime {s.log_append_time}, legacy {s.legacy}")
    out += [f"  note: {n}" for n in t.notes]
    if t.compacted:
        out.append("  cleaner: " + (f"has rewritten history ({s.cleaned} sampled batches with holes)"
                                    if t.cleaned else "no rewritten batch in the sample"))
    fid = t.fidelity
    if fid == BLOCKED:
        assert s.blocker is not None
        out.append(f"  fidelity: BLOCKED at offset {s.blocker[0]}: {s.blocker[1]}")
    else:
        note = " (where the cleaner rewrites batches: record-exact (compacted))" if t.compacted and fid == EXACT else ""
        out.append(f"  fidelity: {fid}{note}")
    d = t.destination
    out.append(f"  destination {t.mirror_topic}: " + ("exists" if t.mirror_exists else "will be created"))
    out += [f"    CONFLICT: {c}" for c in d.conflicts]
    out += [f"    differs: {c}" for c in d.differs]
    out += [f"    {c}" for c in d.adopted]
    return out


def render_text(r: PlanReport) -> str:
    lines = [f"link {r.link}: plan (read-only; sampled up to {_size(r.sample_bytes)} from the head and the "
             "tail of each partition)"]
    lines += [f"{side.upper()} UNREACHABLE: {why}" for side, why in sorted(r.unreachable.items())]
    for side, brokers in sorted(r.brokers.items(), reverse=True):   # source first
        lines += [f"{side} broker {b}" for b in brokers]
    lines += [f"problem: {p}" for p in r.problems]
    for t in sorted(r.topics, key=lambda t: t.topic):
        lines += _topic_lines(t)
    a = r.access
    if a.missing:
        lines += [f"missing permission: {m}" for m in a.missing]
    else:
        lines.append("permissions: nothing missing that could be checked")
    lines += [f"permission not checked: {n}" for n in a.not_checked]
    lines += [f"note: {n}" for n in a.notes]
    rate, eta = r.throughput, r.eta_seconds
    if rate is not None and eta is not None:
        lines.append(f"catch-up estimate: {_size(r.total_bytes)} at {_size(rate)}/s (this run's sample fetch "
                     f"throughput, {_size(r.sampled.bytes)} in {r.sampled.seconds:.2f}s; produce not measured): "
                     f"about {_duration(eta)}")
    else:
        lines.append("catch-up estimate: none (nothing sampled)")
    code = r.exit_code()
    blocked = [t.topic for t in r.topics if t.blocks]
    lines.append({EXIT_READY: "result: ready: `linker run` would mirror every selected topic",
                  EXIT_UNREACHABLE: f"result: UNKNOWN: a cluster could not be read (exit {EXIT_UNREACHABLE})"}.get(
        code, f"result: `linker run` would block or fail (exit {EXIT_BLOCKED})"
        + (f": topics {', '.join(blocked)}" if blocked else "")))
    return "\n".join(lines) + "\n"


def as_doc(r: PlanReport) -> dict[str, Any]:
    topics = []
    for t in sorted(r.topics, key=lambda t: t.topic):
        s = asdict(t.sample)
        s["codecs"] = dict(t.sample.codecs)
        s["blocker"] = {"offset": t.sample.blocker[0], "reason": t.sample.blocker[1]} if t.sample.blocker else None
        topics.append({
            "topic": t.topic, "mirror_topic": t.mirror_topic, "cleanup_policy": t.cleanup_policy,
            "partitions": [{**asdict(p), "records": p.records} for p in t.partitions],
            "records": t.records, "bytes": t.bytes, "bytes_source": t.bytes_source,
            "sample": s, "cleaner_rewrote_history": t.cleaned, "fidelity": t.fidelity,
            "blocked_reason": t.blocked_reason, "mirror_exists": t.mirror_exists,
            "destination": asdict(t.destination), "blocks": t.blocks, "notes": t.notes})
    return {"link": r.link, "sample_bytes": r.sample_bytes, "topics": topics, "access": asdict(r.access),
            "brokers": r.brokers, "problems": r.problems, "unreachable": r.unreachable,
            "throughput_bytes_per_second": r.throughput, "total_bytes": r.total_bytes,
            "eta_seconds": r.eta_seconds, "exit_code": r.exit_code()}


def render_json(r: PlanReport) -> str:
    return json.dumps(as_doc(r), indent=2) + "\n"
