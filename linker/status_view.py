"""Rendering of `linker status`: one row per mirrored partition, the lifecycle
state of each topic and the last offset sync of each group, as a table for
people or JSON for machines. Pure: it formats what the collector found.

A cluster that could not be read is named in the first lines, and its
columns show ``?`` (unknown) instead of ``-`` (none): the other side's
offsets and the state topic are still shown. With the source unreachable,
the source log ends the running linker last recorded in the state topic
appear in their own column (SRC_END_SEEN)."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field


@dataclass
class PartitionRow:
    topic: str
    partition: int
    state: str
    fidelity: str
    source_log_start: int | None
    source_high_watermark: int | None
    source_log_end: int | None
    dest_log_end: int | None
    lag_records: int | None
    lag_bytes: int | None
    lag_seconds: float | None
    reason: str = ""
    lifecycle: str = "ACTIVE"        # the topic's state in the state topic
    mirror_topic: str = ""           # destination topic (differs with a [topics] prefix)
    recorded_source_end: int | None = None   # last source end the linker recorded (state topic)
    member: str = ""                 # scale-out: the group member that writes it (state topic)


@dataclass
class TopicLine:
    topic: str
    mirror_topic: str
    state: str
    reason: str = ""
    by: str = ""
    at_ms: int | None = None


@dataclass
class GroupLine:
    group: str
    line: str
    at: float | None = None
    lag: int | None = None
    skipped: str = ""


@dataclass
class StatusReport:
    link: str
    rows: list[PartitionRow]
    topics: list[TopicLine] = field(default_factory=list)
    groups: list[GroupLine] = field(default_factory=list)
    engine_reachable: bool = False
    linker_running: bool = False      # fresh heartbeat in the state topic
    state_topic_found: bool = False
    unreachable: dict[str, str] = field(default_factory=dict)   # "source"/"destination" -> why
    missing_on_source: list[str] = field(default_factory=list)  # literal names the source lacks
    recorded_at_ms: int | None = None   # when the linker last recorded source ends
    waiting: dict = field(default_factory=dict)   # the running linker's wait for a cluster (/status)
    access: list[str] = field(default_factory=list)   # with sync_acls: what the destination lacks (/status)
    progress: dict = field(default_factory=dict)   # the running linker's catch-up rate and ETA (/status)
    prefix_checks: dict = field(default_factory=dict)   # start-up prefix checks: pending, running, done

    @property
    def lag_records(self) -> int | None:
        known = [r.lag_records for r in self.rows if r.lag_records is not None]
        return sum(known) if known else None

    @property
    def lag_bytes(self) -> int | None:
        known = [r.lag_bytes for r in self.rows if r.lag_bytes is not None]
        return sum(known) if known else None


COLUMNS = [
    ("TOPIC", "topic"), ("PART", "partition"), ("LIFECYCLE", "lifecycle"), ("STATE", "state"),
    ("FIDELITY", "fidelity"),
    ("SRC_START", "source_log_start"), ("SRC_HW", "source_high_watermark"),
    ("SRC_END", "source_log_end"), ("DST_END", "dest_log_end"),
    ("LAG_REC", "lag_records"), ("LAG_BYTES", "lag_bytes"), ("LAG_S", "lag_seconds"),
    ("REASON", "reason"),
]
MIRROR_COLUMN = ("MIRROR_TOPIC", "mirror_topic")
SEEN_COLUMN = ("SRC_END_SEEN", "recorded_source_end")
MEMBER_COLUMN = ("MEMBER", "member")   # scale-out only
# Columns that need a side: shown as "?" when that side could not be read.
SIDE_COLUMNS = {"source": {"source_log_start", "source_high_watermark", "source_log_end", "lag_records",
                           "lag_bytes", "lag_seconds"},
                "destination": {"dest_log_end", "lag_records", "lag_bytes", "lag_seconds", "lifecycle"}}


def _cell(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.1f}"
    return str(v)


def _grid(cells: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]


def render_table(rows: list[PartitionRow], unreachable: frozenset[str] | set[str] = frozenset()) -> str:
    """Partition rows; a MIRROR_TOPIC column appears when some mirror name differs (prefix), and
    SRC_END_SEEN when the source could not be read. Columns of an unreachable side show "?"."""
    cols = list(COLUMNS)
    if any(r.mirror_topic and r.mirror_topic != r.topic for r in rows):
        cols.insert(1, MIRROR_COLUMN)
    if "source" in unreachable:
        cols.insert(cols.index(("DST_END", "dest_log_end")), SEEN_COLUMN)
    if any(r.member for r in rows):
        cols.insert(cols.index(("REASON", "reason")), MEMBER_COLUMN)
    unknown = set().union(*(SIDE_COLUMNS[s] for s in unreachable if s in SIDE_COLUMNS))
    cells = [[h for h, _ in cols]]
    for r in sorted(rows, key=lambda r: (r.topic, r.partition)):
        cells.append(["?" if attr in unknown and getattr(r, attr) in (None, "") else _cell(getattr(r, attr))
                      for _, attr in cols])
    return "\n".join(_grid(cells)) + "\n"


def catchup_line(report: StatusReport) -> str:
    """Records and bytes behind (live offsets), with the running linker's rate and ETA when it answers."""
    if report.lag_records is None:
        return "catch-up: lag unknown"
    size = "" if report.lag_bytes is None else f", {report.lag_bytes} bytes"
    p = report.progress or {}
    rate = "" if p.get("records_per_second") is None else \
        f"; mirroring {p['records_per_second']:.0f} records/s ({p.get('bytes_per_second') or 0:.0f} B/s)"
    if report.lag_records == 0:
        when = "; caught up"
    elif not report.engine_reachable:
        when = "; rate and ETA unknown (engine not reachable)"
    elif p.get("eta_seconds") is None:
        when = "; not catching up (lag not shrinking)"
    else:
        when = f"; ETA {p['eta_seconds']:.0f}s"
    return f"catch-up: {report.lag_records} records{size} behind{rate}{when}"


def summary_line(report: StatusReport, now: float | None = None) -> str:
    """One line per refresh for `linker status --watch` into a pipe."""
    now = time.time() if now is None else now
    states: dict[str, int] = {}
    for r in report.rows:
        states[r.state] = states.get(r.state, 0) + 1
    shown = " ".join(f"{k}={v}" for k, v in sorted(states.items()))
    down = "".join(f" {side.upper()}-UNREACHABLE" for side in sorted(report.unreachable))
    return (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)) + f" {report.link}{down}: {shown}; "
            + catchup_line(report) + "\n")


def render_report(report: StatusReport, now: float | None = None) -> str:
    """The whole `linker status` table: a header line, partitions, non-ACTIVE topics, groups."""
    out = [f"{side.upper()} UNREACHABLE: {why}\n" for side, why in sorted(report.unreachable.items())]
    if "source" in report.unreachable:
        seen = "" if report.recorded_at_ms is None else \
            " at " + time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(report.recorded_at_ms / 1000))
        out.append(f"  source offsets unknown (?); SRC_END_SEEN: the last source log ends the linker "
                   f"recorded{seen} (state topic)\n")
    if "destination" in report.unreachable:
        out.append("  destination offsets and lifecycle states unknown (?): the state topic lives there\n")
    now = time.time() if now is None else now
    if report.waiting.get("waiting"):
        w = report.waiting
        age = f" for {now - w['since']:.0f}s" if w.get("since") else ""
        out.append(f"LINKER WAITING{age} ({w.get('retries', 0)} retries): {w.get('reason')}\n")
    if not report.engine_reachable:
        out.append("engine not reachable (no [metrics] listen, or not running): partition states unknown, "
                   "offsets are live; lifecycle states from the state topic\n")
    out.append(render_table(report.rows, set(report.unreachable)))
    out.append(catchup_line(report) + "\n")
    pc = report.prefix_checks or {}
    if pc.get("pending") or pc.get("running"):
        out.append(f"start-up prefix checks of adopted destination data: {pc.get('running', 0)} running, "
                   f"{pc.get('pending', 0)} waiting, {pc.get('done', 0)} done\n")
    if report.missing_on_source:
        out.append("\ntopics named in the link but missing on the source (deleted?): "
                   + ", ".join(report.missing_on_source) + "\n")
    special = [t for t in report.topics if t.state != "ACTIVE"]
    if special:
        out.append("\ntopics not ACTIVE (state topic):\n")
        for t in special:
            name = t.topic if t.mirror_topic == t.topic else f"{t.topic} -> {t.mirror_topic}"
            out.append(f"  {name}: {t.state}" + (f" ({t.reason})" if t.reason else "")
                       + (f" by {t.by}" if t.by else "") + "\n")
    if report.groups:
        out.append("\noffset sync (running linker):\n")
        for g in report.groups:
            age = f", {now - g.at:.0f}s ago" if g.at is not None and not g.skipped else ""
            out.append(f"  {g.line}{age}\n")
    elif report.engine_reachable:
        out.append("\noffset sync: no group synced yet\n")
    if report.access:
        out.append("\nACL sync (running linker):\n" + "".join(f"  {line}\n" for line in report.access))
    return "".join(out)


def render_json(report: StatusReport) -> str:
    return json.dumps({
        "link": report.link,
        "engine_reachable": report.engine_reachable,
        "linker_running": report.linker_running,
        "state_topic_found": report.state_topic_found,
        "unreachable": dict(sorted(report.unreachable.items())),
        "missing_on_source": list(report.missing_on_source),
        "recorded_at_ms": report.recorded_at_ms,
        "waiting": report.waiting,
        "partitions": [asdict(r) for r in sorted(report.rows, key=lambda r: (r.topic, r.partition))],
        "topics": {t.topic: {k: v for k, v in asdict(t).items() if k != "topic"} for t in report.topics},
        "groups": {g.group: {k: v for k, v in asdict(g).items() if k != "group"} for g in report.groups},
        "access": list(report.access),
        "catchup": {"lag_records": report.lag_records, "lag_bytes": report.lag_bytes,
                    "records_per_second": (report.progress or {}).get("records_per_second"),
                    "bytes_per_second": (report.progress or {}).get("bytes_per_second"),
                    "eta_seconds": 0.0 if report.lag_records == 0 else (report.progress or {}).get("eta_seconds")},
    }, indent=2) + "\n"
