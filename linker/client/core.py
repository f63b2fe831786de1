"""The routing core: typed data-path calls over the cluster view.

`Client` adds to `Cluster` (connections, metadata, leader lookup) what the
mirror's data path needs: leader routing with retries, Produce, Fetch (one-off
and incremental sessions), ListOffsets (incl. the leader's log end) and
OffsetForLeaderEpoch. Per-partition errors in Produce and Fetch results are
left in the result for the caller; the other calls retry leader-type errors
after a metadata refresh and raise `KafkaError` (with `tp` and `api`) for the
rest. Admin calls live in `admin.Admin`, composed over a `Client`.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any, Callable

from kproto import ApiKey, messages
from kproto.errors import ErrorCode

from .cluster import Cluster, is_transport_error
from .connection import BrokerConnection
from .errors import STALE_METADATA_CODES, ClientError, KafkaError, MetadataUnavailable
from .fetch_session import FetchPosition, FetchResult, FetchSession
from .kafka_errors import kafka_error, raise_for_code
from .metadata import ClusterSnapshot, leader_hints
from .types import (LATEST_TIMESTAMP, LOG_END, READ_UNCOMMITTED, ClusterDescription, EpochEndOffset, OffsetAndEpoch,
                    TopicPartition)

_PRODUCE_TOPIC_ID_VERSION = 13
_RETRY_BACKOFF = 0.05
_RETRY_BACKOFF_MAX = 1.0
# Answers worth another try on the same partition: leader moves (after a
# metadata refresh) and a busy leader.
_RETRY_CODES = STALE_METADATA_CODES | {ErrorCode.REQUEST_TIMED_OUT, ErrorCode.NETWORK_EXCEPTION}
# ListOffsets asks as this replica id to get the leader's log end offset
# instead of the high watermark (Kafka's "debugging" replica).
_DEBUGGING_REPLICA_ID = -2
_CONSUMER_REPLICA_ID = -1


def by_topic(items: Iterable[tuple[TopicPartition, Any]]) -> dict[str, list[tuple[int, Any]]]:
    """{topic: [(partition, value)]}, the shape most requests want."""
    grouped: dict[str, list[tuple[int, Any]]] = {}
    for (topic, partition), value in items:
        grouped.setdefault(topic, []).append((partition, value))
    return grouped


class Client(Cluster):
    """A cluster view with leader routing, retries and the data-path calls."""

    # -- helpers --------------------------------------------------------------------------
    async def topic_id(self, topic: str) -> Any:
        info = self.snapshot.topics.get(topic)
        if info is None or info.topic_id is None:
            await self.refresh_metadata([topic])
            info = self.snapshot.topics.get(topic)
        if info is None or info.error_code or info.topic_id is None:
            raise MetadataUnavailable(f"no topic id known for topic {topic!r}")
        return info.topic_id

    def note_transport_error(self, exc: BaseException, node_id: int) -> None:
        if is_transport_error(exc):
            self.mark_stale(f"connection to broker {node_id} failed")

    async def versioned_request(self, node_id: int, api_key: int, build: Callable[[int], Any], *,
                                pin: tuple[int, int] | None = None,
                                timeout: float | None = None,
                                connection: BrokerConnection | None = None) -> tuple[Any, int]:
        """Build the request for the negotiated version, send it, return (response, version).

        ``connection``: send on this one (a lane's, see ``BrokerPool``); a closed one raises
        its error instead of moving the request to another connection."""
        if connection is None:
            connection = await self.connection(node_id)
        version = connection.version_for(api_key, pin)
        body = build(version)
        if asyncio.iscoroutine(body):
            body = await body
        try:
            return await connection.request(body, version=version, timeout=timeout), version
        except ClientError as exc:
            self.note_transport_error(exc, node_id)
            raise

    async def any_node(self) -> int:
        """A broker for requests any broker can answer (one with an open connection first)."""
        if not self.snapshot.brokers:
            await self.refresh_metadata()
        if not self.snapshot.brokers:
            raise MetadataUnavailable("the cluster reported no brokers")
        for pool_node, pool in self._pools.items():  # an open connection first
            if pool.idle_connection() is not None:
                return pool_node
        return min(self.snapshot.brokers)

    async def per_leader(self, items: Mapping[TopicPartition, Any],
                         call: Callable[[int, dict[TopicPartition, Any]], Any], *,
                         retry_for: float | None = None) -> dict[TopicPartition, Any]:
        """Run `call` per leader; retry partitions that hit leader errors after a refresh.

        `call` returns {tp: result_or_KafkaError}. Leader-type errors (after a
        metadata refresh), REQUEST_TIMED_OUT / NETWORK_EXCEPTION and lost
        connections are retried with backoff for `retry_for` seconds (the
        request timeout by default; 0: one attempt); any other error, or the
        last one at the deadline, is raised.
        """
        pending = dict(items)
        results: dict[TopicPartition, Any] = {}
        errors: dict[TopicPartition, ClientError] = {}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.config.request_timeout if retry_for is None else retry_for)
        delay = _RETRY_BACKOFF
        if any(self._leader_problem(*tp) for tp in pending):
            await self.refresh_metadata({tp[0] for tp in pending})
        while True:
            grouped: dict[int, dict[TopicPartition, Any]] = {}
            for tp, value in pending.items():
                problem = self._leader_problem(*tp)
                if problem is not None:
                    if not problem.stale_metadata:
                        raise problem
                    errors[tp] = problem
                    continue
                grouped.setdefault(self.leader(tp), {})[tp] = value
            answers = await asyncio.gather(*(call(node, part) for node, part in grouped.items()),
                                           return_exceptions=True)
            for (node, part), answer in zip(grouped.items(), answers):
                if isinstance(answer, BaseException):
                    if not (isinstance(answer, ClientError) and is_transport_error(answer)):
                        raise answer
                    for tp in part:
                        errors[tp] = answer
                    continue
                for tp in part:
                    result = answer.get(tp)
                    if result is None:
                        errors[tp] = MetadataUnavailable(
                            f"broker {node} did not answer for {tp[0]}-{tp[1]}")
                    elif isinstance(result, KafkaError):
                        if result.code not in _RETRY_CODES:
                            raise result
                        if result.stale_metadata:
                            self.mark_stale(f"{result.name} for {tp[0]}-{tp[1]}")
                        errors[tp] = result
                    else:
                        results[tp] = result
                        errors.pop(tp, None)
            pending = {tp: v for tp, v in pending.items() if tp not in results}
            if not pending:
                return results
            if loop.time() + delay > deadline:
                raise errors[next(iter(pending))]
            # Leadership moves and new partitions take a moment to settle.
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RETRY_BACKOFF_MAX)
            await self.refresh_metadata({tp[0] for tp in pending})

    # -- Metadata ---------------------------------------------------------------------------------
    async def metadata(self, topics: Iterable[str] | None = None) -> ClusterSnapshot:
        """Refresh and return the cluster view (all tracked topics plus `topics`)."""
        return await self.refresh_metadata(topics)

    async def describe_cluster(self) -> ClusterDescription:
        response, _ = await self.versioned_request(
            await self.any_node(), ApiKey.DESCRIBE_CLUSTER,
            lambda v: messages.DescribeClusterRequest(include_cluster_authorized_operations=False))
        raise_for_code(response.error_code, response.error_message, context="DescribeCluster")
        return ClusterDescription(response.cluster_id, response.controller_id,
                                  tuple(response.brokers))

    # -- Produce ----------------------------------------------------------------------------------
    async def produce(self, node_id: int, batches: Mapping[TopicPartition, Any], *,
                      acks: int = -1, timeout_ms: int = 30000,
                      transactional_id: str | None = None, pin: tuple[int, int] | None = None,
                      connection: BrokerConnection | None = None,
                      ) -> dict[TopicPartition, Any] | None:
        """Send record batches (one per partition) to broker `node_id` (on `connection` if
        given: a lane's, so that requests that must stay in order share one connection).

        Returns {tp: PartitionProduceResponse} with per-partition error codes
        left for the caller, or None for acks=0.
        """
        P = messages.ProduceRequest
        grouped = by_topic(batches.items())

        async def build(version: int) -> Any:
            ids = {}
            if version >= _PRODUCE_TOPIC_ID_VERSION:
                ids = {t: await self.topic_id(t) for t in grouped}
            return P(transactional_id=transactional_id, acks=acks, timeout_ms=timeout_ms,
                     topic_data=[P.TopicProduceData(
                         name=t, topic_id=ids.get(t),
                         partition_data=[P.PartitionProduceData(index=p, records=r)
                                         for p, r in parts])
                         for t, parts in grouped.items()])
        timeout = self.config.request_timeout + timeout_ms / 1000
        response, version = await self.versioned_request(node_id, ApiKey.PRODUCE, build, pin=pin,
                                                         timeout=timeout, connection=connection)
        if response is None:
            return None
        out: dict[TopicPartition, Any] = {}
        for topic in response.responses:
            name = (self.topic_name(topic.topic_id) if version >= _PRODUCE_TOPIC_ID_VERSION
                    else topic.name)
            for part in topic.partition_responses:
                out[(name, part.index)] = part
        self.note_error_codes((p.error_code for p in out.values()), f"Produce to {node_id}")
        self.apply_leader_hints(response, leader_hints(out))
        return out

    # -- Fetch --------------------------------------------------------------------------------------
    def fetch_session(self, node_id: int, *, use_sessions: bool = True,
                      pin: tuple[int, int] | None = None, dedicated: bool = False) -> FetchSession:
        """Fetch state for one broker; `dedicated` gives it its own connection."""
        return FetchSession(self, node_id, use_sessions=use_sessions, pin=pin, dedicated=dedicated)

    async def fetch(self, node_id: int, positions: Mapping[TopicPartition, FetchPosition],
                    **options: Any) -> FetchResult:
        """One sessionless fetch (for occasional reads; the mirror uses sessions)."""
        return await FetchSession(self, node_id, use_sessions=False).fetch(positions, **options)

    async def fetch_partition(self, tp: TopicPartition, offset: int, max_bytes: int, *,
                              last_fetched_epoch: int = -1, max_wait_ms: int = 0) -> Any:
        """One partition from its leader, sessionless (start-up checks, verify, state reads).

        Returns the FetchResponse partition; its error code is left for the
        caller (as in every Fetch result) but also marks metadata stale. The
        request carries the leader epoch from metadata: a broker that is no
        longer the leader answers FENCED_LEADER_EPOCH instead of serving its
        own, possibly shorter, log (brokers serve consumer fetches from followers).
        """
        node = await self.leader_for(*tp)
        position = FetchPosition(offset, last_fetched_epoch=last_fetched_epoch,
                                 current_leader_epoch=self.leader_epoch(tp), max_bytes=max_bytes)
        result = await self.fetch(node, {tp: position}, max_wait_ms=max_wait_ms, max_bytes=max_bytes)
        part = result.partitions.get(tp)
        if part is None:
            raise kafka_error(ErrorCode.UNKNOWN_SERVER_ERROR, broker=str(node), tp=tp, api="Fetch",
                              message="the broker did not answer for the partition")
        return part

    # -- ListOffsets / OffsetForLeaderEpoch ----------------------------------------
    async def list_offsets(self, timestamps: Mapping[TopicPartition, int], *,
                           isolation_level: int = READ_UNCOMMITTED,
                           retry_for: float | None = None) -> dict[TopicPartition, OffsetAndEpoch]:
        """Offsets by timestamp, routed to each partition's leader.

        Timestamps: EARLIEST_TIMESTAMP, LATEST_TIMESTAMP (the high watermark),
        MAX_TIMESTAMP, a real timestamp, or LOG_END: the leader's log end
        offset (where the next produced batch lands), asked as Kafka's
        debugging replica. Every request carries the leader epoch from
        metadata, so a broker that is no longer the leader answers
        FENCED_LEADER_EPOCH (a stale-metadata error: refreshed and retried)
        instead of its own, possibly shorter, log.
        """
        L = messages.ListOffsetsRequest

        async def ask(node: int, part: dict[TopicPartition, int], replica_id: int
                      ) -> dict[TopicPartition, Any]:
            def build(version: int) -> Any:
                return L(replica_id=replica_id, isolation_level=isolation_level, timeout_ms=30000,
                         topics=[L.ListOffsetsTopic(name=t, partitions=[
                             L.ListOffsetsPartition(partition_index=p, timestamp=ts,
                                                    current_leader_epoch=self.leader_epoch((t, p)))
                             for p, ts in parts]) for t, parts in by_topic(part.items()).items()])
            response, _ = await self.versioned_request(node, ApiKey.LIST_OFFSETS, build)
            out: dict[TopicPartition, Any] = {}
            for topic in response.topics:
                for p in topic.partitions:
                    tp = (topic.name, p.partition_index)
                    out[tp] = (kafka_error(p.error_code, broker=str(node), tp=tp, api="ListOffsets")
                               if p.error_code else
                               OffsetAndEpoch(p.offset, p.timestamp, p.leader_epoch))
            return out

        async def call(node: int, part: dict[TopicPartition, int]) -> dict[TopicPartition, Any]:
            # The replica id is per request: log-end lookups go in their own.
            log_end = {tp: LATEST_TIMESTAMP for tp, ts in part.items() if ts == LOG_END}
            rest = {tp: ts for tp, ts in part.items() if ts != LOG_END}
            out: dict[TopicPartition, Any] = {}
            if rest:
                out.update(await ask(node, rest, _CONSUMER_REPLICA_ID))
            if log_end:
                out.update(await ask(node, log_end, _DEBUGGING_REPLICA_ID))
            return out
        return await self.per_leader(timestamps, call, retry_for=retry_for)

    async def offsets(self, partitions: Iterable[TopicPartition], timestamp: int, *,
                      retry_for: float | None = None) -> dict[TopicPartition, int]:
        """Just the offsets of `list_offsets` for one timestamp (EARLIEST/LATEST/LOG_END)."""
        found = await self.list_offsets({tp: timestamp for tp in partitions}, retry_for=retry_for)
        return {tp: answer.offset for tp, answer in found.items()}

    async def offset_for_leader_epoch(self, epochs: Mapping[TopicPartition, int]
                                      ) -> dict[TopicPartition, EpochEndOffset]:
        """End offset of the largest leader epoch <= the given one, per partition."""
        O = messages.OffsetForLeaderEpochRequest

        async def call(node: int, part: dict[TopicPartition, int]) -> dict[TopicPartition, Any]:
            def build(version: int) -> Any:
                return O(replica_id=_CONSUMER_REPLICA_ID, topics=[O.OffsetForLeaderTopic(topic=t, partitions=[
                    O.OffsetForLeaderPartition(partition=p, leader_epoch=e,
                                               current_leader_epoch=self.leader_epoch((t, p)))
                    for p, e in parts]) for t, parts in by_topic(part.items()).items()])
            response, _ = await self.versioned_request(node, ApiKey.OFFSET_FOR_LEADER_EPOCH, build)
            out: dict[TopicPartition, Any] = {}
            for topic in response.topics:
                for p in topic.partitions:
                    tp = (topic.topic, p.partition)
                    out[tp] = (kafka_error(p.error_code, broker=str(node), tp=tp,
                                           api="OffsetForLeaderEpoch")
                               if p.error_code else EpochEndOffset(p.leader_epoch, p.end_offset))
            return out
        return await self.per_leader(epochs, call)

