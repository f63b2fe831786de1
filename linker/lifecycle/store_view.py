"""Typed view of the state topic's contents (the latest value per key)."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from linker.lifecycle.records import (HEARTBEAT_KEY, ProgressRecord, RecordFormatError, TopicRecord,
                                      heartbeat_at, parse_progress_record, parse_topic_record)

log = logging.getLogger("linker.lifecycle")


@dataclass
class LinkState:
    topics: dict[str, TopicRecord]
    progress: dict[str, ProgressRecord]
    heartbeat_ms: int | None

    @classmethod
    def from_records(cls, records: dict[bytes, bytes]) -> "LinkState":
        topics, progress, hb = {}, {}, None
        for k, v in records.items():
            try:
                if k.startswith(b"topic/"):
                    r = parse_topic_record(k, v)
                    topics[r.topic] = r
                elif k.startswith(b"progress/"):
                    p = parse_progress_record(k, v)
                    progress[p.topic] = p
                elif k == HEARTBEAT_KEY:
                    hb = heartbeat_at(v)
            except RecordFormatError as exc:
                log.warning("ignoring a state record: %s", exc)
        return cls(topics, progress, hb)

    def linker_running(self, poll_ms: int) -> bool:
        """A heartbeat newer than three polls (plus slack) means a linker is applying commands."""
        return self.heartbeat_ms is not None and time.time() * 1000 - self.heartbeat_ms < 3 * poll_ms + 2000
