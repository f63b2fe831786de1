"""Incremental fetch sessions (KIP-227) for one broker.

The broker keeps the partitions and their fetch positions of a session; each
later request lists only partitions that are new or whose position changed,
plus the ones to forget. Losing the session (FETCH_SESSION_ID_NOT_FOUND,
INVALID_FETCH_SESSION_EPOCH, a broken connection) falls back to a full fetch.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kproto.errors import ErrorCode
from kproto import ApiKey, messages

from .errors import ClientError
from .kafka_errors import raise_for_code
from .metadata import leader_hints
from .types import READ_UNCOMMITTED, TopicPartition

if TYPE_CHECKING:
    from .core import Client
    from .connection import BrokerConnection
    from .pool import BrokerPool

_FULL_EPOCH = 0       # open a new session (closing session_id if non-zero)
_SESSIONLESS_EPOCH = -1
_TOPIC_ID_VERSION = 13
_SESSION_ERRORS = (ErrorCode.FETCH_SESSION_ID_NOT_FOUND, ErrorCode.INVALID_FETCH_SESSION_EPOCH)


@dataclasses.dataclass(frozen=True, slots=True)
class FetchPosition:
    """Where to read a partition from, and what the reader last saw."""

    offset: int
    last_fetched_epoch: int = -1
    current_leader_epoch: int = -1
    log_start_offset: int = -1
    max_bytes: int = 1 << 20


@dataclasses.dataclass(slots=True)
class FetchResult:
    """Partitions the broker reported on, keyed by (topic, partition).

    In an incremental session, partitions with nothing new are left out.
    """

    partitions: dict[TopicPartition, Any]
    throttle_time_ms: int
    session_id: int
    full: bool


class FetchSession:
    """Fetch state for one broker; not safe for concurrent fetches.

    Each `fetch` is given every partition the caller wants now: partitions
    left out since the last call (paused by a byte budget, moved away) are
    sent as forgotten and leave the session; partitions whose position
    changed (or that come back) are sent again. A session the broker lost is
    reopened with a full request once, inside the same call.
    """

    def __init__(self, client: Client, node_id: int, *, use_sessions: bool = True,
                 pin: tuple[int, int] | None = None, dedicated: bool = False) -> None:
        self.client = client
        self.dedicated = dedicated
        self._pool: BrokerPool | None = None
        self.node_id = node_id
        self.use_sessions = use_sessions
        self.pin = pin
        self.session_id = 0
        self.epoch = _FULL_EPOCH if use_sessions else _SESSIONLESS_EPOCH
        self.resets = 0
        self._in_session: dict[TopicPartition, FetchPosition] = {}

    def __repr__(self) -> str:
        return (f"<FetchSession broker={self.node_id} id={self.session_id} "
                f"epoch={self.epoch} partitions={len(self._in_session)}>")

    @property
    def partitions(self) -> Mapping[TopicPartition, FetchPosition]:
        """The partitions (and positions) the broker holds in the session now."""
        return self._in_session

    async def _connection(self) -> BrokerConnection:
        if not self.dedicated:
            return await self.client.connection(self.node_id)
        if self._pool is None:
            self._pool = await self.client.dedicated_pool(self.node_id)
        return await self._pool.get()

    async def close(self) -> None:
        """Close the dedicated connection, if any (shared ones belong to the client)."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def reset(self) -> None:
        """Next fetch is a full one; the broker drops the old session."""
        self.resets += 1
        self._in_session.clear()
        self.epoch = _FULL_EPOCH if self.use_sessions else _SESSIONLESS_EPOCH

    async def fetch(self, positions: Mapping[TopicPartition, FetchPosition], *,
                    max_wait_ms: int = 500, min_bytes: int = 1, max_bytes: int = 50 << 20,
                    isolation_level: int = READ_UNCOMMITTED, rack_id: str = "",
                    topic_ids: Mapping[str, Any] | None = None) -> FetchResult:
        """Fetch ``positions``; ``topic_ids`` pins the ids to fetch by (v13+) instead of the
        metadata cache's: a topic deleted and recreated under the same name then answers
        UNKNOWN_TOPIC_ID instead of the new topic's records."""
        pinned = dict(topic_ids or {})
        for attempt in range(2):
            full = self.epoch in (_FULL_EPOCH, _SESSIONLESS_EPOCH)
            try:
                response, version = await self._send(positions, full, max_wait_ms, min_bytes,
                                                      max_bytes, isolation_level, rack_id, pinned)
            except ClientError:
                self.reset()
                raise
            if response.error_code in _SESSION_ERRORS and attempt == 0:
                self.reset()
                continue
            if response.error_code:
                self.reset()
                raise_for_code(response.error_code, None, broker=str(self.node_id),
                               context="Fetch")
            self._after_response(response, positions, full)
            return FetchResult(self._partitions(response, version, pinned),
                               response.throttle_time_ms, response.session_id, full)
        raise AssertionError("unreachable")

    async def _send(self, positions: Mapping[TopicPartition, FetchPosition], full: bool,
                    max_wait_ms: int, min_bytes: int, max_bytes: int, isolation_level: int,
                    rack_id: str, pinned: Mapping[str, Any]) -> tuple[Any, int]:
        client = self.client
        try:
            connection = await self._connection()
        except ClientError as exc:
            client.note_transport_error(exc, self.node_id)
            raise
        version = connection.version_for(ApiKey.FETCH, self.pin)
        uses_ids = version >= _TOPIC_ID_VERSION
        if full:
            to_send = dict(positions)
            forgotten: list[TopicPartition] = []
        else:
            to_send = {tp: pos for tp, pos in positions.items()
                       if self._in_session.get(tp) != pos}
            forgotten = [tp for tp in self._in_session if tp not in positions]
        F = messages.FetchRequest
        topics: dict[str, list[Any]] = {}
        for (topic, partition), pos in to_send.items():
            topics.setdefault(topic, []).append(F.FetchPartition(
                partition=partition, current_leader_epoch=pos.current_leader_epoch,
                fetch_offset=pos.offset, last_fetched_epoch=pos.last_fetched_epoch,
                log_start_offset=pos.log_start_offset, partition_max_bytes=pos.max_bytes))
        forgotten_by_topic: dict[str, list[int]] = {}
        for topic, partition in forgotten:
            forgotten_by_topic.setdefault(topic, []).append(partition)
        topic_ids = {}
        if uses_ids:
            for topic in {*topics, *forgotten_by_topic}:
                topic_ids[topic] = pinned[topic] if topic in pinned else await client.topic_id(topic)
        request = F(
            replica_id=-1, max_wait_ms=max_wait_ms, min_bytes=min_bytes, max_bytes=max_bytes,
            isolation_level=isolation_level,
            session_id=self.session_id if self.use_sessions else 0,
            session_epoch=self.epoch,
            topics=[F.FetchTopic(topic=t, topic_id=topic_ids.get(t), partitions=parts)
                    for t, parts in topics.items()],
            forgotten_topics_data=[F.ForgottenTopic(topic=t, topic_id=topic_ids.get(t),
                                                    partitions=parts)
                                   for t, parts in forgotten_by_topic.items()],
            rack_id=rack_id)
        timeout = client.config.request_timeout + max_wait_ms / 1000
        try:
            response = await connection.request(request, version=version, timeout=timeout)
        except ClientError as exc:
            client.note_transport_error(exc, self.node_id)
            raise
        return response, version

    def _after_response(self, response: Any, positions: Mapping[TopicPartition, FetchPosition],
                        full: bool) -> None:
        if not self.use_sessions:
            return
        if response.session_id == 0:
            # The broker would not keep a session (cache full): stay full.
            self.session_id = 0
            self.epoch = _FULL_EPOCH
            self._in_session.clear()
            return
        if full or response.session_id != self.session_id:
            self._in_session = dict(positions)
        else:
            self._in_session.update(positions)
            for tp in [tp for tp in self._in_session if tp not in positions]:
                del self._in_session[tp]
        self.session_id = response.session_id
        self.epoch = 1 if full else (self.epoch % 0x7FFFFFFF) + 1

    def _partitions(self, response: Any, version: int, pinned: Mapping[str, Any]) -> dict[TopicPartition, Any]:
        client = self.client
        out: dict[TopicPartition, Any] = {}
        codes = []
        names = {topic_id: name for name, topic_id in pinned.items()}
        for topic in response.responses:
            if version < _TOPIC_ID_VERSION:
                name = topic.topic
            else:
                name = names.get(topic.topic_id) or client.topic_name(topic.topic_id)
            for part in topic.partitions:
                out[(name, part.partition_index)] = part
                if part.error_code:
                    codes.append(part.error_code)
        if codes:
            client.note_error_codes(codes, f"Fetch from broker {self.node_id}")
            client.apply_leader_hints(response, leader_hints(out))
        return out
