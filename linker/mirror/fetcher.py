"""One long-polling fetcher per source broker, with an incremental fetch
session (KIP-227): after the first full request only partitions whose fetch
position changed are sent, and partitions paused by the byte budget are
dropped from the session (``forgotten``) until they have room again."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from kproto.errors import ErrorCode
from kproto import messages
from linker.client.errors import ClientError
from linker.client.kafka_errors import error_name

if TYPE_CHECKING:
    from linker.mirror.engine import MirrorEngine

log = logging.getLogger("linker.fetch")

TP = tuple[str, int]
Params = tuple[int, int, int]   # fetch offset, last fetched epoch, partition max bytes


class FetchSession:
    """Client side of an incremental fetch session: what to send next."""

    def __init__(self) -> None:
        self.session_id = 0
        self.epoch = 0           # 0 = open a new session with a full request
        self.sent: dict[TP, Params] = {}

    def reset(self) -> None:
        self.session_id, self.epoch, self.sent = 0, 0, {}

    def next_request(self, wanted: dict[TP, Params]) -> tuple[int, int, dict[TP, Params], list[TP]]:
        """(session id, epoch, partitions to send, partitions to forget)."""
        if self.epoch == 0 or self.session_id == 0:
            self.sent = dict(wanted)
            return 0, 0, dict(wanted), []
        changed = {tp: prm for tp, prm in wanted.items() if self.sent.get(tp) != prm}
        forgotten = [tp for tp in self.sent if tp not in wanted]
        for tp in forgotten:
            del self.sent[tp]
        self.sent.update(changed)
        return self.session_id, self.epoch, changed, forgotten

    def on_response(self, error_code: int, session_id: int) -> None:
        if error_code in (ErrorCode.FETCH_SESSION_ID_NOT_FOUND, ErrorCode.INVALID_FETCH_SESSION_EPOCH):
            self.reset()
            return
        if error_code:
            self.reset()
            return
        if self.epoch == 0:
            self.session_id = session_id
            self.epoch = 1 if session_id else 0
        else:
            self.epoch = self.epoch + 1 if self.epoch < 0x7FFFFFFF else 1


class SourceFetcher:
    def __init__(self, engine: MirrorEngine, node: int) -> None:
        self.engine = engine
        self.node = node
        self.session = FetchSession()
        self.task: asyncio.Task[None] | None = None
        self._stop = False

    @property
    def done(self) -> bool:
        return self.task is None or self.task.done()

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    def stop(self) -> None:
        self._stop = True

    async def _run(self) -> None:
        eng = self.engine
        m = eng.m
        F = messages.FetchRequest
        idle_rounds = 0
        while not self._stop:
            if eng.budget.full:
                await eng.budget.wait_for_room()
            wanted = eng.fetch_targets(self.node)
            if not wanted:
                idle_rounds += 1
                if idle_rounds > 50 and not self.session.sent:
                    return  # no partition led here any more; the supervisor restarts us if needed
                await asyncio.sleep(0.01)
                continue
            idle_rounds = 0
            sid, epoch, send, forget = self.session.next_request(wanted)
            positions = dict(self.session.sent)
            topics: dict[str, list[Any]] = {}
            for (t, p), (off, ep, mx) in send.items():
                topics.setdefault(t, []).append(F.FetchPartition(
                    partition=p, current_leader_epoch=-1, fetch_offset=off, last_fetched_epoch=ep,
                    log_start_offset=-1, partition_max_bytes=mx))
            forgotten: dict[str, list[int]] = {}
            for t, p in forget:
                forgotten.setdefault(t, []).append(p)
            req = F(replica_id=-1, max_wait_ms=m.fetch_max_wait_ms, min_bytes=1, max_bytes=m.fetch_max_bytes,
                    isolation_level=0, session_id=sid, session_epoch=epoch, rack_id="",
                    topics=[F.FetchTopic(topic=t, partitions=ps) for t, ps in topics.items()],
                    forgotten_topics_data=[F.ForgottenTopic(topic=t, partitions=ps) for t, ps in forgotten.items()])
            try:
                conn = await eng.source.connection(self.node)
                resp = await conn.request(req, timeout=m.fetch_max_wait_ms / 1000 + 30)
            except ClientError as exc:
                log.info("fetch from source broker %d failed: %s", self.node, exc)
                eng._error("Fetch", type(exc).__name__)
                self.session.reset()
                eng.source_metadata_stale = True
                await asyncio.sleep(0.5)
                continue
            self.session.on_response(resp.error_code, resp.session_id)
            if resp.error_code:
                eng._error("Fetch", error_name(resp.error_code))
                log.info("fetch session on source broker %d: %s; starting a new one",
                         self.node, error_name(resp.error_code))
                continue
            for t in resp.responses:
                for p in t.partitions:
                    tp = (t.topic, p.partition_index)
                    prm = positions.get(tp)
                    if prm is not None:
                        eng.on_fetched(tp, p, prm[0])
