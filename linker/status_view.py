"""Rendering of `linker status`: one row per mirrored partition, as a table
for people or JSON for machines. Pure: it formats what the collector found."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass


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


COLUMNS = [
    ("TOPIC", "topic"), ("PART", "partition"), ("STATE", "state"), ("FIDELITY", "fidelity"),
    ("SRC_START", "source_log_start"), ("SRC_HW", "source_high_watermark"),
    ("SRC_END", "source_log_end"), ("DST_END", "dest_log_end"),
    ("LAG_REC", "lag_records"), ("LAG_BYTES", "lag_bytes"), ("LAG_S", "lag_seconds"),
    ("REASON", "reason"),
]


def _cell(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.1f}"
    return str(v)


def render_table(rows: list[PartitionRow]) -> str:
    cells = [[h for h, _ in COLUMNS]]
    for r in sorted(rows, key=lambda r: (r.topic, r.partition)):
        cells.append([_cell(getattr(r, attr)) for _, attr in COLUMNS])
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = []
    for row in cells:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return "\n".join(lines) + "\n"


def render_json(link: str, rows: list[PartitionRow], engine_reachable: bool) -> str:
    return json.dumps({
        "link": link,
        "engine_reachable": engine_reachable,
        "partitions": [asdict(r) for r in sorted(rows, key=lambda r: (r.topic, r.partition))],
    }, indent=2) + "\n"
