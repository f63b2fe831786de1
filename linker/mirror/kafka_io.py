"""The few Kafka calls the mirror engine needs, over linker.client connections.

One ``ClusterIO`` per cluster: bootstrap, metadata with leader lookup, and
typed wrappers that group partitions by leader and return plain dicts. Kept
in the engine's package so the engine is not blocked on a richer client API;
it only uses ``linker.client`` connections and kproto messages.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from kproto import messages
from linker.client.config import (ClientConfig, SaslCredentials, SecurityConfig,
                                  TlsSettings as ClientTls, parse_address)
from linker.client.errors import ClientError
from linker.client.kafka_errors import STALE_METADATA_CODES, error_name
from linker.client.metadata import ClusterSnapshot
from linker.client.pool import BrokerPool
from linker.settings import ClusterSettings

log = logging.getLogger("linker.io")

TP = tuple[str, int]
EARLIEST = -2
LATEST = -1      # the high watermark: the end a consumer can read
LOG_END = -100   # the leader's log end offset: where the next produced batch lands

# Versions that still address topics by name (Fetch 13+/Produce 13+ use topic ids).
PINS = {1: (12, 12), 0: (3, 12)}


class PartitionError(Exception):
    """A per-partition Kafka error code, named."""

    def __init__(self, tp: TP, code: int, api: str) -> None:
        self.tp, self.code, self.name = tp, code, error_name(code)
        super().__init__(f"{api} {tp[0]}-{tp[1]}: {self.name} ({code})")

    @property
    def stale_metadata(self) -> bool:
        return self.code in STALE_METADATA_CODES


def client_config(s: ClusterSettings, client_id: str | None = None) -> ClientConfig:
    sasl = SaslCredentials(s.sasl.mechanism, s.sasl.username, s.sasl.password) if s.sasl else None
    tls = (ClientTls(s.tls.ca_file, s.tls.cert_file, s.tls.key_file, check_hostname=s.tls.check_hostname)
           if s.tls else None)
    return ClientConfig(client_id=client_id or s.client_id,
                        security=SecurityConfig(s.security_protocol, sasl, tls),
                        request_timeout=s.request_timeout_ms / 1000,
                        # Two per broker: a long-polling fetch must not hold up the
                        # ListOffsets/metadata/audit requests queued behind it.
                        connections_per_broker=2,
                        version_pins=dict(PINS))


class ClusterIO:
    def __init__(self, settings: ClusterSettings, label: str, client_id: str | None = None) -> None:
        self.label = label
        self.config = client_config(settings, client_id)
        self._bootstrap = [parse_address(a) for a in settings.bootstrap_servers]
        self._pools: dict[int, BrokerPool] = {}
        self._boot_pools: list[BrokerPool] = [BrokerPool(None, h, p, self.config) for h, p in self._bootstrap]
        self.snapshot = ClusterSnapshot.empty()
        self._refresh_lock = asyncio.Lock()

    # -- connections ------------------------------------------------------
    async def any_connection(self):
        last: Exception | None = None
        pools = list(self._pools.values()) + self._boot_pools
        for pool in pools:
            try:
                return await pool.get()
            except ClientError as exc:
                last = exc
        raise ClientError(f"{self.label}: no broker reachable: {last}")

    async def connection(self, node_id: int):
        pool = self._pools.get(node_id)
        if pool is None:
            b = self.snapshot.brokers.get(node_id)
            if b is None:
                await self.refresh()
                b = self.snapshot.brokers.get(node_id)
                if b is None:
                    raise ClientError(f"{self.label}: broker {node_id} is not in the metadata")
            pool = self._pools[node_id] = BrokerPool(node_id, b.host, b.port, self.config)
        return await pool.get()

    async def close(self) -> None:
        for pool in list(self._pools.values()) + self._boot_pools:
            await pool.close()

    # -- metadata ---------------------------------------------------------
    async def refresh(self, topics: Iterable[str] | None = None) -> ClusterSnapshot:
        async with self._refresh_lock:
            conn = await self.any_connection()
            req_topics = None if topics is None else [
                messages.MetadataRequest.MetadataRequestTopic(name=t) for t in topics]
            resp = await conn.request(messages.MetadataRequest(
                topics=req_topics, allow_auto_topic_creation=False))
            self.snapshot = ClusterSnapshot.from_response(resp, self.snapshot,
                                                          replace_all_topics=topics is None)
            for node_id, b in self.snapshot.brokers.items():
                pool = self._pools.get(node_id)
                if pool is not None and (pool.host, pool.port) != (b.host, b.port):
                    await pool.close()
                    del self._pools[node_id]
            return self.snapshot

    def leader(self, tp: TP) -> int:
        t = self.snapshot.topics.get(tp[0])
        if t is None or tp[1] not in t.partitions:
            return -1
        return t.partitions[tp[1]].leader

    def leader_epoch(self, tp: TP) -> int:
        t = self.snapshot.topics.get(tp[0])
        if t is None or tp[1] not in t.partitions:
            return -1
        return t.partitions[tp[1]].leader_epoch

    async def by_leader(self, tps: Iterable[TP]) -> dict[int, list[TP]]:
        groups: dict[int, list[TP]] = defaultdict(list)
        missing = []
        for tp in tps:
            lead = self.leader(tp)
            (missing if lead < 0 else groups[lead]).append(tp)
        if missing:
            await self.refresh({t for t, _ in missing} | set(self.snapshot.topics))
            for tp in missing:
                lead = self.leader(tp)
                if lead < 0:
                    raise PartitionError(tp, 5, "Metadata")
                groups[lead].append(tp)
        return groups

    # -- typed calls --------------------------------------------------------
    async def list_offsets(self, tps: Iterable[TP], timestamp: int, retries: int = 5) -> dict[TP, int]:
        """EARLIEST, LATEST (high watermark) or LOG_END offsets, retried across leader moves.

        LOG_END asks as the "debugging replica" (replica id -2), for which the
        leader answers with its log end offset instead of the high watermark.
        """
        want = list(tps)
        out: dict[TP, int] = {}
        for attempt in range(retries + 1):
            stale: list[TP] = []
            groups = await self.by_leader(want)
            results = await asyncio.gather(*(self._list_offsets_on(n, g, timestamp)
                                             for n, g in groups.items()), return_exceptions=True)
            for (node, group), res in zip(groups.items(), results):
                if isinstance(res, BaseException):
                    if not isinstance(res, ClientError):
                        raise res
                    stale.extend(group)
                    continue
                for tp, (code, off) in res.items():
                    if code == 0:
                        out[tp] = off
                    elif code in STALE_METADATA_CODES or code in (7, 13):
                        stale.append(tp)
                    else:
                        raise PartitionError(tp, code, "ListOffsets")
            if not stale:
                return out
            want = stale
            await asyncio.sleep(min(0.1 * 2 ** attempt, 2))
            await self.refresh(set(self.snapshot.topics) | {t for t, _ in stale})
        raise PartitionError(want[0], 5, "ListOffsets")

    async def _list_offsets_on(self, node: int, tps: list[TP], timestamp: int) -> dict[TP, tuple[int, int]]:
        by_topic: dict[str, list[int]] = defaultdict(list)
        for t, p in tps:
            by_topic[t].append(p)
        R = messages.ListOffsetsRequest
        replica_id = -2 if timestamp == LOG_END else -1
        ts = LATEST if timestamp == LOG_END else timestamp
        req = R(replica_id=replica_id, isolation_level=0, timeout_ms=30_000, topics=[
            R.ListOffsetsTopic(name=t, partitions=[
                R.ListOffsetsPartition(partition_index=p, timestamp=ts) for p in ps])
            for t, ps in by_topic.items()])
        conn = await self.connection(node)
        resp = await conn.request(req)
        return {(t.name, p.partition_index): (p.error_code, p.offset)
                for t in resp.topics for p in t.partitions}

    async def delete_records(self, tp: TP, offset: int) -> int:
        """Move the log start to ``offset``; returns the new low watermark."""
        R = messages.DeleteRecordsRequest
        for attempt in range(6):
            groups = await self.by_leader([tp])
            node = next(iter(groups))
            conn = await self.connection(node)
            resp = await conn.request(R(timeout_ms=60_000, topics=[
                R.DeleteRecordsTopic(name=tp[0], partitions=[
                    R.DeleteRecordsPartition(partition_index=tp[1], offset=offset)])]))
            p = resp.topics[0].partitions[0]
            if p.error_code == 0:
                return p.low_watermark
            if p.error_code not in STALE_METADATA_CODES and p.error_code not in (7,):
                raise PartitionError(tp, p.error_code, "DeleteRecords")
            await asyncio.sleep(0.1 * 2 ** attempt)
            await self.refresh([tp[0]])
        raise PartitionError(tp, p.error_code, "DeleteRecords")

    async def describe_topic_configs(self, topics: list[str]) -> dict[str, dict[str, str | None]]:
        if not topics:
            return {}
        R = messages.DescribeConfigsRequest
        conn = await self.any_connection()
        resp = await conn.request(R(include_synonyms=False, include_documentation=False, resources=[
            R.DescribeConfigsResource(resource_type=2, resource_name=t, configuration_keys=None)
            for t in topics]))
        out: dict[str, dict[str, str | None]] = {}
        for r in resp.results:
            if r.error_code:
                raise PartitionError((r.resource_name, -1), r.error_code, "DescribeConfigs")
            out[r.resource_name] = {c.name: c.value for c in r.configs}
        return out

    async def create_topics(self, specs: list[tuple[str, int, int, dict[str, str]]]) -> dict[str, tuple[int, str | None]]:
        """(name, partitions, replication factor, configs) -> name: (error code, message)."""
        if not specs:
            return {}
        R = messages.CreateTopicsRequest
        conn = await self.connection(self.snapshot.controller_id) if self.snapshot.controller_id >= 0 \
            else await self.any_connection()
        resp = await conn.request(R(timeout_ms=60_000, validate_only=False, topics=[
            R.CreatableTopic(name=n, num_partitions=np, replication_factor=rf, assignments=[],
                             configs=[R.CreatableTopicConfig(name=k, value=v) for k, v in cfg.items()])
            for n, np, rf, cfg in specs]))
        return {t.name: (t.error_code, t.error_message) for t in resp.topics}

    async def create_partitions(self, topic: str, count: int) -> None:
        """Grow ``topic`` to ``count`` partitions (already that many is fine)."""
        R = messages.CreatePartitionsRequest
        conn = await self.connection(self.snapshot.controller_id) if self.snapshot.controller_id >= 0 \
            else await self.any_connection()
        resp = await conn.request(R(timeout_ms=60_000, validate_only=False, topics=[
            R.CreatePartitionsTopic(name=topic, count=count, assignments=None)]))
        for r in resp.results:
            if r.error_code and not (r.error_code == 37 and count <= len(
                    self.snapshot.topics.get(topic).partitions if topic in self.snapshot.topics else ())):
                raise PartitionError((topic, -1), r.error_code, f"CreatePartitions ({r.error_message})")

    async def alter_topic_configs(self, topic: str, configs: dict[str, str]) -> None:
        R = messages.IncrementalAlterConfigsRequest
        conn = await self.any_connection()
        resp = await conn.request(R(validate_only=False, resources=[R.AlterConfigsResource(
            resource_type=2, resource_name=topic, configs=[
                R.AlterableConfig(name=k, config_operation=0, value=v) for k, v in configs.items()])]))
        for r in resp.responses:
            if r.error_code:
                raise PartitionError((topic, -1), r.error_code, f"IncrementalAlterConfigs ({r.error_message})")

    async def fetch_once(self, tp: TP, offset: int, max_bytes: int, last_fetched_epoch: int = -1,
                         max_wait_ms: int = 0) -> Any:
        """A one-partition, sessionless Fetch (start-up checks and verify)."""
        F = messages.FetchRequest
        groups = await self.by_leader([tp])
        node = next(iter(groups))
        conn = await self.connection(node)
        resp = await conn.request(F(
            replica_id=-1, max_wait_ms=max_wait_ms, min_bytes=1, max_bytes=max_bytes,
            isolation_level=0, session_id=0, session_epoch=-1, rack_id="",
            topics=[F.FetchTopic(topic=tp[0], partitions=[F.FetchPartition(
                partition=tp[1], current_leader_epoch=-1, fetch_offset=offset,
                last_fetched_epoch=last_fetched_epoch, log_start_offset=-1,
                partition_max_bytes=max_bytes)])],
            forgotten_topics_data=[]))
        if resp.error_code:
            raise PartitionError(tp, resp.error_code, "Fetch")
        for t in resp.responses:
            for p in t.partitions:
                return p
        raise PartitionError(tp, 3, "Fetch")
