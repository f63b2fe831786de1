"""The cluster view: bootstrap, metadata cache, leader lookup, broker pools.

Metadata is refreshed periodically and whenever someone reports it stale
(leader errors, lost connections); concurrent refresh requests share one
Metadata round trip.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from kproto import messages
from kproto.errors import ErrorCode

from .config import ClientConfig, parse_bootstrap
from .connection import BrokerConnection
from .errors import (ClientClosed, ClientError, ConnectFailed, ConnectionLost, KafkaError,
                     MetadataUnavailable,
                     ProtocolError, RequestTimedOut, TlsError)
from .errors import STALE_METADATA_CODES
from .kafka_errors import error_name, kafka_error
from .metadata import BrokerInfo, ClusterSnapshot, PartitionInfo, TopicInfo
from .pool import BrokerPool

log = logging.getLogger(__name__)

# Topic ids in Metadata arrive with v10.
_METADATA_PIN = (10, 1 << 15)
_MIN_REFRESH_INTERVAL = 0.1


class Cluster:
    """Connections to every broker of one cluster, keyed by node id."""

    def __init__(self, bootstrap: str | Sequence[str], config: ClientConfig | None = None, *,
                 label: str = "") -> None:
        self.config = config or ClientConfig()
        self.label = label  # names the cluster in logs and errors ("source", "destination")
        self.bootstrap = parse_bootstrap(bootstrap)
        self.snapshot = ClusterSnapshot.empty()
        self.metadata_refreshes = 0
        self._bootstrap_pools = [BrokerPool(None, h, p, self.config) for h, p in self.bootstrap]
        self._pools: dict[int, BrokerPool] = {}
        self._refresh_task: asyncio.Task[ClusterSnapshot] | None = None
        self._stale = asyncio.Event()
        self._background: asyncio.Task[None] | None = None
        self._closed = False
        self._tracked: set[str] | None = None  # None: every topic
        self._generation = 0
        self._applied_generation = 0
        # Called with every snapshot a Metadata response produced (topic ids, the cluster id):
        # callers judge a topic that was deleted or recreated at the refresh that shows it.
        self.on_snapshot: list[Callable[[ClusterSnapshot], None]] = []

    def __repr__(self) -> str:
        addresses = ",".join(f"{h}:{p}" for h, p in self.bootstrap)
        return f"<{type(self).__name__} {addresses} brokers={sorted(self.snapshot.brokers)}>"

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Bootstrap: first Metadata through any reachable bootstrap address."""
        await self.refresh_metadata()
        self._background = asyncio.get_running_loop().create_task(self._refresh_loop())

    async def close(self) -> None:
        self._closed = True
        for task in (self._background, self._refresh_task):
            if task is not None and not task.done():
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, ClientError):
                    pass
        for pool in [*self._bootstrap_pools, *self._pools.values()]:
            await pool.close()

    async def __aenter__(self) -> Cluster:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- metadata -----------------------------------------------------------------------
    def track_topics(self, topics: Iterable[str] | None) -> None:
        """Limit refreshes to these topics (None: all topics, the default)."""
        self._tracked = None if topics is None else set(topics)

    def mark_stale(self, reason: str) -> None:
        """Ask for a refresh soon; many reports in a burst cost one Metadata call."""
        if not self._stale.is_set():
            log.debug("metadata marked stale: %s", reason)
        self._stale.set()

    async def refresh_metadata(self, topics: Iterable[str] | None = None) -> ClusterSnapshot:
        """Refresh now (joining a refresh already under way)."""
        if topics is not None:
            wanted = set(topics)
            if self._tracked is not None and not wanted <= self._tracked:
                self._tracked |= wanted
        task = self._refresh_task
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(self._refresh())
            self._refresh_task = task
        snapshot = await asyncio.shield(task)
        if topics is not None:
            # An all-topics Metadata silently omits topics we may not see or
            # that do not exist; ask for them by name to learn why.
            missing = [t for t in topics if t not in snapshot.topics]
            if missing:
                snapshot = await self._refresh_named(missing)
        return snapshot

    async def _refresh_named(self, names: list[str]) -> ClusterSnapshot:
        M = messages.MetadataRequest
        request = M(topics=[M.MetadataRequestTopic(name=n) for n in names],
                    allow_auto_topic_creation=False)
        generation = self._next_generation()
        response = await self._any_broker_request(request, pin=_METADATA_PIN)
        if generation > self._applied_generation:
            self._applied_generation = generation
            self.snapshot = ClusterSnapshot.from_response(response, self.snapshot,
                                                          replace_all_topics=False)
            self._sync_pools()
            self._snapshot_hooks()
        return self.snapshot

    def _next_generation(self) -> int:
        self._generation += 1
        return self._generation

    async def _refresh(self) -> ClusterSnapshot:
        self._stale.clear()
        tracked = None if self._tracked is None else sorted(self._tracked)
        request_topics = None if tracked is None else [
            messages.MetadataRequest.MetadataRequestTopic(name=name) for name in tracked]
        request = messages.MetadataRequest(topics=request_topics,
                                           allow_auto_topic_creation=False)
        generation = self._next_generation()
        response = await self._any_broker_request(request, pin=_METADATA_PIN)
        self.metadata_refreshes += 1
        # A slower answer to an older request must not replace a newer view.
        if generation > self._applied_generation:
            self._applied_generation = generation
            self.snapshot = ClusterSnapshot.from_response(response)
            self._sync_pools()
            self._snapshot_hooks()
        return self.snapshot

    def _snapshot_hooks(self) -> None:
        for hook in self.on_snapshot:
            hook(self.snapshot)

    def _sync_pools(self) -> None:
        for node_id, broker in self.snapshot.brokers.items():
            pool = self._pools.get(node_id)
            if pool is None or (pool.host, pool.port) != (broker.host, broker.port):
                if pool is not None:
                    asyncio.get_running_loop().create_task(pool.close())
                self._pools[node_id] = BrokerPool(node_id, broker.host, broker.port, self.config)

    async def _refresh_loop(self) -> None:
        while not self._closed:
            try:
                await asyncio.wait_for(self._stale.wait(), self.config.metadata_max_age)
            except asyncio.TimeoutError:
                pass
            try:
                await self.refresh_metadata()
            except ClientError as exc:
                log.warning("metadata refresh failed: %s", exc)
                self._stale.set()
                await asyncio.sleep(self.config.reconnect_backoff_max / 4)
            await asyncio.sleep(_MIN_REFRESH_INTERVAL)

    async def _any_broker_request(self, body: Any, pin: tuple[int, int] | None = None) -> Any:
        """Send to the least busy known broker, falling back to bootstrap addresses."""
        errors: list[str] = []
        for pool in self._candidate_pools():
            try:
                connection = await pool.get()
                return await connection.request(body, pin=pin)
            except ClientError as exc:
                if self._closed or not is_transport_error(exc) or isinstance(exc, TlsError):
                    raise
                errors.append(str(exc))
        raise MetadataUnavailable("no broker reachable: " + "; ".join(errors))

    def _candidate_pools(self) -> list[BrokerPool]:
        def rank(pool: BrokerPool) -> tuple[bool, int]:
            # Open and least busy first; brokers in reconnect backoff last.
            connection = pool.idle_connection()
            return pool.backing_off, connection.in_flight if connection is not None else 1 << 30
        pools = [*self._pools.values(), *self._bootstrap_pools]
        return sorted(pools, key=rank)  # stable: known brokers before bootstrap addresses

    # -- leaders and connections -------------------------------------------------------
    def topic(self, name: str) -> TopicInfo:
        info = self.snapshot.topics.get(name)
        if info is None:
            raise MetadataUnavailable(f"topic {name!r} is not in the metadata cache")
        return info

    def partition(self, topic: str, partition: int) -> PartitionInfo:
        info = self.topic(topic)
        if info.error_code:
            raise kafka_error(info.error_code, None, context=f"Metadata for topic {topic!r}")
        part = info.partitions.get(partition)
        if part is None:
            raise MetadataUnavailable(f"topic {topic!r} has no partition {partition}")
        return part

    def leader(self, tp: tuple[str, int]) -> int:
        """The cached leader's node id, -1 when unknown (no refresh)."""
        info = self.snapshot.topics.get(tp[0])
        part = info.partitions.get(tp[1]) if info else None
        return part.leader if part else -1

    def leader_epoch(self, tp: tuple[str, int]) -> int:
        """The cached leader epoch, -1 when unknown (no refresh)."""
        info = self.snapshot.topics.get(tp[0])
        part = info.partitions.get(tp[1]) if info else None
        return part.leader_epoch if part else -1

    def _leader_problem(self, topic: str, partition: int) -> KafkaError | None:
        """Why the cache names no leader for a partition (None: it does)."""
        tp = (topic, partition)
        info = self.snapshot.topics.get(topic)
        if info is None:
            return kafka_error(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, tp=tp, api="Metadata")
        if info.error_code:
            return kafka_error(info.error_code, tp=tp, api="Metadata")
        part = info.partitions.get(partition)
        if part is None:
            return kafka_error(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, tp=tp, api="Metadata")
        if part.leader < 0:
            return kafka_error(part.error_code or ErrorCode.LEADER_NOT_AVAILABLE, tp=tp,
                               api="Metadata")
        return None

    async def leader_for(self, topic: str, partition: int) -> int:
        """Leader node id, refreshing metadata once if it is unknown.

        Raises KafkaError (with `tp`, api "Metadata") naming why there is none.
        """
        return (await self.leaders([(topic, partition)])).popitem()[0]

    async def leaders(self, partitions: Iterable[tuple[str, int]]) -> dict[int, list[tuple[str, int]]]:
        """Group partitions by leader node id, refreshing once for those without one."""
        wanted = list(partitions)
        if any(self._leader_problem(*tp) for tp in wanted):
            await self.refresh_metadata({t for t, p in wanted if self._leader_problem(t, p)})
        grouped: dict[int, list[tuple[str, int]]] = {}
        for tp in wanted:
            problem = self._leader_problem(*tp)
            if problem is not None:
                raise problem
            grouped.setdefault(self.leader(tp), []).append(tp)
        return grouped

    def lane_connection(self, node_id: int, lane: int) -> BrokerConnection | None:
        """The open connection of a lane to ``node_id`` (``BrokerPool.lane``), if any; no I/O."""
        pool = self._pools.get(node_id)
        return None if pool is None or self._closed else pool.lane(lane)

    async def connection(self, node_id: int, lane: int | None = None) -> BrokerConnection:
        """A connection to ``node_id``: the least busy shared one, or the one of ``lane``."""
        if self._closed:
            raise ClientClosed("client is closed")
        pool = self._pools.get(node_id)
        if pool is None:
            await self.refresh_metadata()
            pool = self._pools.get(node_id)
            if pool is None:
                raise MetadataUnavailable(f"broker {node_id} is not in the cluster metadata")
        try:
            return await (pool.get() if lane is None else pool.get_lane(lane))
        except ClientError as exc:
            if is_transport_error(exc):
                self.mark_stale(f"cannot connect to broker {node_id}")
            raise

    async def dedicated_pool(self, node_id: int) -> BrokerPool:
        """A private one-connection pool to a broker, for a long-polling fetcher.

        Kafka handles one request at a time per connection, so a long-poll
        Fetch on a shared connection would hold up every request behind it.
        The caller owns the pool and closes it.
        """
        broker = self.snapshot.brokers.get(node_id)
        if broker is None:
            await self.refresh_metadata()
            broker = self.snapshot.brokers.get(node_id)
            if broker is None:
                raise MetadataUnavailable(f"broker {node_id} is not in the cluster metadata")
        config = dataclasses.replace(self.config, connections_per_broker=1)
        return BrokerPool(node_id, broker.host, broker.port, config)

    async def request(self, node_id: int, body: Any, *, pin: tuple[int, int] | None = None,
                      timeout: float | None = None) -> Any:
        """Send one request to a broker by node id."""
        connection = await self.connection(node_id)
        try:
            return await connection.request(body, pin=pin, timeout=timeout)
        except ClientError as exc:
            if is_transport_error(exc):
                self.mark_stale(f"connection to broker {node_id} failed")
            raise

    async def any_request(self, body: Any, *, pin: tuple[int, int] | None = None) -> Any:
        return await self._any_broker_request(body, pin=pin)

    def note_error_codes(self, codes: Iterable[int], where: str) -> None:
        """Mark metadata stale if any code says the cached leader may be wrong."""
        for code in codes:
            if code in STALE_METADATA_CODES:
                self.mark_stale(f"{error_name(code)} from {where}")
                return

    def apply_leader_hints(self, response: Any, hints: list[tuple[str, int, int, int]]) -> None:
        """Use the new leaders a Produce/Fetch error names (KIP-951) before the refresh lands."""
        if not hints:
            return
        endpoints = [BrokerInfo(e.node_id, e.host, e.port, e.rack)
                     for e in getattr(response, "node_endpoints", None) or ()]
        updated = self.snapshot.with_leader_hints(hints, endpoints)
        if updated is not self.snapshot:
            self.snapshot = updated
            self._sync_pools()

    def topic_name(self, topic_id: Any) -> str:
        name = self.snapshot.topic_names_by_id.get(topic_id)
        if name is None:
            raise MetadataUnavailable(f"topic id {topic_id} is not in the metadata cache")
        return name


def is_transport_error(exc: BaseException) -> bool:
    return isinstance(exc, (ConnectionLost, ConnectFailed, ProtocolError, RequestTimedOut))
