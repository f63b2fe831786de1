"""Typed view of the state topic's contents (the latest value per key)."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from linker.lifecycle.records import (GROUP_KEY, HEARTBEAT_KEY, OWNER_KEY, PROXY_FRONT_KEY, FrontRecord, GroupRecord, MirrorRecord,
                                      OwnerRecord, ProgressRecord, RecordFormatError, TopicRecord, heartbeat_at,
                                      parse_front_record, parse_group_record, parse_mirror_record, parse_owner_record,
                                      parse_progress_record, parse_topic_record)

log = logging.getLogger("linker.lifecycle")


@dataclass
class LinkState:
    topics: dict[str, TopicRecord]
    progress: dict[str, ProgressRecord]
    heartbeat_ms: int | None
    owner: OwnerRecord | None = None
    mirrors: dict[str, MirrorRecord] = field(default_factory=dict)
    front: FrontRecord | None = None      # the proxy's last switch
    group: GroupRecord | None = None      # scale-out: the group leader's last assignment

    @classmethod
    def from_records(cls, records: dict[bytes, bytes]) -> "LinkState":
        topics, progress, hb, owner, mirrors, front, group = {}, {}, None, None, {}, None, None
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
                elif k == OWNER_KEY:
                    owner = parse_owner_record(v)
                elif k.startswith(b"mirror/"):
                    m = parse_mirror_record(k, v)
                    mirrors[m.topic] = m
                elif k == PROXY_FRONT_KEY and v is not None:
                    front = parse_front_record(v)
                elif k == GROUP_KEY and v is not None:
                    group = parse_group_record(v)
            except RecordFormatError as exc:
                log.warning("ignoring a state record: %s", exc)
        return cls(topics, progress, hb, owner, mirrors, front, group)

    def linker_running(self, poll_ms: int) -> bool:
        """For status display only (a guess from one read): a released owner is not running, else a
        heartbeat newer than three polls (plus slack). Commands decide with `OwnerWatch` instead."""
        if self.owner is not None and self.owner.released:
            return False
        return self.heartbeat_ms is not None and time.time() * 1000 - self.heartbeat_ms < 3 * poll_ms + 2000


class OwnerWatch:
    """Is the link's owner alive? Decided from its beat seen to change, timed by this process's own
    monotonic clock (clocks of different hosts are never compared). Feed it every read of the owner."""

    def __init__(self) -> None:
        self.seen: OwnerRecord | None = None
        self._first = self._changed = 0.0
        self._started = False
        self.changes = 0

    def update(self, owner: OwnerRecord | None) -> None:
        now = time.monotonic()
        if not self._started:
            self.seen, self._first, self._changed, self._started = owner, now, now, True
        elif owner != self.seen:
            self.seen, self._changed = owner, now
            self.changes += 1

    def gone(self) -> bool:
        """No owner, a released one, or a beat unchanged for the owner's liveness window."""
        o = self.seen
        if o is None or o.released:
            return True
        return time.monotonic() - self._changed >= o.liveness_ms() / 1000

    def alive(self) -> bool:
        """The beat changed since the first read and recently."""
        return self.changes > 0 and not self.gone()

    def dead_in(self) -> float:
        """Seconds until an owner whose beat stops now is considered dead."""
        o = self.seen
        return 0.0 if o is None else max(0.0, o.liveness_ms() / 1000 - (time.monotonic() - self._changed))


async def watch_owner(read: Callable[[], Awaitable[LinkState]], first: LinkState,
                      interval: float = 0.1) -> OwnerWatch:
    """Read until the owner is seen alive (its beat changed) or gone; the watch says which."""
    w = OwnerWatch()
    w.update(first.owner)
    while not w.alive() and not w.gone():
        await asyncio.sleep(interval)
        w.update((await read()).owner)
    return w
