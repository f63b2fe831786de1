"""Export the records a failover lost as JSON lines, so a person can replay them.

One file per partition, ``<topic>-<partition>.jsonl`` in the directory given, one line per
record: ``{"topic", "partition", "offset", "timestamp", "key", "value", "headers"}``.
Keys, values and header values are base64 (standard alphabet, padded) because record bytes
need not be text; a null key or value stays ``null``; headers are ``[[name, base64 or null], ...]``
in record order (names are UTF-8 strings in Kafka). The file is written while the tail is read,
so a tail larger than memory is fine.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import IO

from kproto.records.record import Record


def _b64(data: bytes | memoryview | None) -> str | None:
    return None if data is None else base64.b64encode(bytes(data)).decode("ascii")


def record_line(topic: str, partition: int, r: Record) -> str:
    """One exported record as a JSON line (without the newline)."""
    return json.dumps({"topic": topic, "partition": partition, "offset": r.offset, "timestamp": r.timestamp,
                       "key": _b64(r.key), "value": _b64(r.value),
                       "headers": [[k, _b64(v)] for k, v in r.headers]}, separators=(",", ":"))


class TailExport:
    """A record sink (``tail_diff.RecordSink``) that writes JSON lines into ``directory``."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)
        self._files: dict[tuple[str, int], IO[str]] = {}
        self.paths: list[Path] = []
        self.records = 0

    def __call__(self, topic: str, partition: int, r: Record) -> None:
        f = self._files.get((topic, partition))
        if f is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            path = self.dir / f"{topic}-{partition}.jsonl"
            f = self._files[(topic, partition)] = path.open("w", encoding="utf-8")
            self.paths.append(path)
        f.write(record_line(topic, partition, r) + "\n")
        self.records += 1

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files.clear()
