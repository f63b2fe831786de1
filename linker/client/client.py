"""Typed calls for what the linker needs, on top of the cluster view.

Calls that address partitions route each one to its leader and merge the
answers; per-partition errors in data-path results (Produce, Fetch) are left
in the result for the caller, while admin-style calls raise `KafkaError`
carrying the Kafka error name and message. Leader-type errors mark the
metadata stale so the next lookup sees the new leader.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable

from kproto.errors import ErrorCode
from kproto import ApiKey, messages

from .cluster import Cluster, _is_transport_error
from .errors import ClientError, KafkaError, MetadataUnavailable
from .fetch_session import FetchPosition, FetchResult, FetchSession
from .kafka_errors import (COORDINATOR_CODES, STALE_METADATA_CODES, kafka_error, raise_for_code)
from .metadata import ClusterSnapshot, leader_hints
from .types import (LATEST_TIMESTAMP, READ_UNCOMMITTED, AclBinding, AclFilter, AclOperation, AclPermission,
                    AlterConfigOp, ClusterDescription, CommittedOffset, ConfigEntry,
                    ConfigResourceType, EpochEndOffset, GroupListing, NewTopic, OffsetAndEpoch,
                    PatternType, ResourceType, TopicPartition)

_PRODUCE_TOPIC_ID_VERSION = 13
_OFFSET_COMMIT_TOPIC_ID_VERSION = 10
_OFFSET_FETCH_TOPIC_ID_VERSION = 10
_OFFSET_FETCH_GROUPS_VERSION = 8
_FIND_COORDINATOR_LIST_VERSION = 4
_RETRY_BACKOFF = 0.05
_RETRY_BACKOFF_MAX = 1.0


def _by_topic(items: Iterable[tuple[TopicPartition, Any]]) -> dict[str, list[tuple[int, Any]]]:
    grouped: dict[str, list[tuple[int, Any]]] = {}
    for (topic, partition), value in items:
        grouped.setdefault(topic, []).append((partition, value))
    return grouped


def _all_led(snapshot: ClusterSnapshot, topic: str) -> bool:
    info = snapshot.topics.get(topic)
    return (info is not None and not info.error_code and bool(info.partitions)
            and all(p.leader >= 0 for p in info.partitions.values()))


class KafkaClient(Cluster):
    """A cluster view with typed Kafka calls."""

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
        if _is_transport_error(exc):
            self.mark_stale(f"connection to broker {node_id} failed")

    async def _versioned(self, node_id: int, api_key: int, build: Callable[[int], Any], *,
                         pin: tuple[int, int] | None = None,
                         timeout: float | None = None) -> tuple[Any, int]:
        """Build the request for the negotiated version, send it, return (response, version)."""
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

    async def _any_node(self) -> int:
        if not self.snapshot.brokers:
            await self.refresh_metadata()
        if not self.snapshot.brokers:
            raise MetadataUnavailable("the cluster reported no brokers")
        for pool_node, pool in self._pools.items():
            if pool.idle_connection() is not None:
                return pool_node
        return min(self.snapshot.brokers)

    async def _per_leader(self, items: Mapping[TopicPartition, Any],
                          call: Callable[[int, dict[TopicPartition, Any]], Any]
                          ) -> dict[TopicPartition, Any]:
        """Run `call` per leader; retry partitions that hit leader errors after a refresh.

        `call` returns {tp: result_or_KafkaError}. Leader-type errors and lost
        connections are retried with backoff until the request timeout; any
        other error, or the last one at the deadline, is raised.
        """
        pending = dict(items)
        results: dict[TopicPartition, Any] = {}
        errors: dict[TopicPartition, ClientError] = {}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.request_timeout
        delay = _RETRY_BACKOFF
        while True:
            grouped: dict[int, dict[TopicPartition, Any]] = {}
            for tp, value in pending.items():
                try:
                    leader = await self.leader_for(*tp)
                except MetadataUnavailable as exc:
                    errors[tp] = exc
                    continue
                except KafkaError as exc:
                    if exc.code not in STALE_METADATA_CODES:
                        raise
                    errors[tp] = exc
                    continue
                grouped.setdefault(leader, {})[tp] = value
            answers = await asyncio.gather(*(call(node, part) for node, part in grouped.items()),
                                           return_exceptions=True)
            for (node, part), answer in zip(grouped.items(), answers):
                if isinstance(answer, BaseException):
                    if not (isinstance(answer, ClientError) and _is_transport_error(answer)):
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
                        if result.code not in STALE_METADATA_CODES:
                            raise result
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
        response, _ = await self._versioned(
            await self._any_node(), ApiKey.DESCRIBE_CLUSTER,
            lambda v: messages.DescribeClusterRequest(include_cluster_authorized_operations=False))
        raise_for_code(response.error_code, response.error_message, context="DescribeCluster")
        return ClusterDescription(response.cluster_id, response.controller_id,
                                  tuple(response.brokers))

    # -- Produce ----------------------------------------------------------------------------------
    async def produce(self, node_id: int, batches: Mapping[TopicPartition, Any], *,
                      acks: int = -1, timeout_ms: int = 30000,
                      transactional_id: str | None = None, pin: tuple[int, int] | None = None,
                      ) -> dict[TopicPartition, Any] | None:
        """Send record batches (one per partition) to broker `node_id`.

        Returns {tp: PartitionProduceResponse} with per-partition error codes
        left for the caller, or None for acks=0.
        """
        P = messages.ProduceRequest
        grouped = _by_topic(batches.items())

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
        response, version = await self._versioned(node_id, ApiKey.PRODUCE, build, pin=pin,
                                                  timeout=timeout)
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

    # -- ListOffsets / OffsetForLeaderEpoch / DeleteRecords ----------------------------------------
    async def list_offsets(self, timestamps: Mapping[TopicPartition, int], *,
                           isolation_level: int = READ_UNCOMMITTED) -> dict[TopicPartition, OffsetAndEpoch]:
        """Offsets by timestamp; use EARLIEST_TIMESTAMP / LATEST_TIMESTAMP / MAX_TIMESTAMP."""
        L = messages.ListOffsetsRequest

        async def call(node: int, part: dict[TopicPartition, int]) -> dict[TopicPartition, Any]:
            def build(version: int) -> Any:
                return L(replica_id=-1, isolation_level=isolation_level, timeout_ms=30000,
                         topics=[L.ListOffsetsTopic(name=t, partitions=[
                             L.ListOffsetsPartition(partition_index=p, timestamp=ts,
                                                    current_leader_epoch=self._epoch(t, p))
                             for p, ts in parts]) for t, parts in _by_topic(part.items()).items()])
            response, _ = await self._versioned(node, ApiKey.LIST_OFFSETS, build)
            out: dict[TopicPartition, Any] = {}
            for topic in response.topics:
                for p in topic.partitions:
                    tp = (topic.name, p.partition_index)
                    out[tp] = (kafka_error(p.error_code, broker=str(node),
                                           context=f"ListOffsets {tp[0]}-{tp[1]}")
                               if p.error_code else
                               OffsetAndEpoch(p.offset, p.timestamp, p.leader_epoch))
            return out
        return await self._per_leader(timestamps, call)

    def _epoch(self, topic: str, partition: int) -> int:
        info = self.snapshot.topics.get(topic)
        part = info.partitions.get(partition) if info else None
        return part.leader_epoch if part else -1

    async def offset_for_leader_epoch(self, epochs: Mapping[TopicPartition, int]
                                      ) -> dict[TopicPartition, EpochEndOffset]:
        """End offset of the largest leader epoch <= the given one, per partition."""
        O = messages.OffsetForLeaderEpochRequest

        async def call(node: int, part: dict[TopicPartition, int]) -> dict[TopicPartition, Any]:
            def build(version: int) -> Any:
                return O(replica_id=-1, topics=[O.OffsetForLeaderTopic(topic=t, partitions=[
                    O.OffsetForLeaderPartition(partition=p, leader_epoch=e,
                                               current_leader_epoch=self._epoch(t, p))
                    for p, e in parts]) for t, parts in _by_topic(part.items()).items()])
            response, _ = await self._versioned(node, ApiKey.OFFSET_FOR_LEADER_EPOCH, build)
            out: dict[TopicPartition, Any] = {}
            for topic in response.topics:
                for p in topic.partitions:
                    tp = (topic.topic, p.partition)
                    out[tp] = (kafka_error(p.error_code, broker=str(node),
                                           context=f"OffsetForLeaderEpoch {tp[0]}-{tp[1]}")
                               if p.error_code else EpochEndOffset(p.leader_epoch, p.end_offset))
            return out
        return await self._per_leader(epochs, call)

    async def delete_records(self, offsets: Mapping[TopicPartition, int], *,
                             timeout_ms: int = 30000) -> dict[TopicPartition, int]:
        """Move log start offsets forward; returns the new low watermarks."""
        D = messages.DeleteRecordsRequest

        async def call(node: int, part: dict[TopicPartition, int]) -> dict[TopicPartition, Any]:
            def build(version: int) -> Any:
                return D(timeout_ms=timeout_ms, topics=[D.DeleteRecordsTopic(name=t, partitions=[
                    D.DeleteRecordsPartition(partition_index=p, offset=o) for p, o in parts])
                    for t, parts in _by_topic(part.items()).items()])
            response, _ = await self._versioned(node, ApiKey.DELETE_RECORDS, build,
                                                timeout=self.config.request_timeout + timeout_ms / 1000)
            out: dict[TopicPartition, Any] = {}
            for topic in response.topics:
                for p in topic.partitions:
                    tp = (topic.name, p.partition_index)
                    out[tp] = (kafka_error(p.error_code, broker=str(node),
                                           context=f"DeleteRecords {tp[0]}-{tp[1]}")
                               if p.error_code else p.low_watermark)
            return out
        return await self._per_leader(offsets, call)

    # -- Topics and configs -------------------------------------------------------------------------
    async def create_topics(self, topics: Sequence[NewTopic], *, timeout_ms: int = 30000,
                            validate_only: bool = False, exist_ok: bool = False,
                            wait: bool = True) -> dict[str, Any]:
        """Create topics; returns {name: topic_id or None}. Raises on the first error.

        With `wait`, returns only once every partition has a leader in the
        metadata, so the next call (produce, configs) does not race the
        controller's propagation to brokers.
        """
        C = messages.CreateTopicsRequest

        def build(version: int) -> Any:
            return C(timeout_ms=timeout_ms, validate_only=validate_only, topics=[
                C.CreatableTopic(name=t.name, num_partitions=t.num_partitions,
                                 replication_factor=t.replication_factor, assignments=[],
                                 configs=[C.CreatableTopicConfig(name=k, value=v)
                                          for k, v in t.configs.items()])
                for t in topics])
        response, _ = await self._versioned(await self._any_node(), ApiKey.CREATE_TOPICS, build,
                                            timeout=self.config.request_timeout + timeout_ms / 1000)
        out: dict[str, Any] = {}
        for result in response.topics:
            if result.error_code and not (exist_ok and result.error_code == ErrorCode.TOPIC_ALREADY_EXISTS):
                raise kafka_error(result.error_code, result.error_message,
                                  context=f"CreateTopics {result.name}")
            out[result.name] = getattr(result, "topic_id", None)
        if not validate_only:
            if wait:
                await self._wait_for_leaders(list(out), timeout_ms / 1000)
            else:
                self.mark_stale("topics created")
        return out

    async def _wait_for_leaders(self, topics: list[str], timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        delay = 0.02
        while True:
            snapshot = await self.refresh_metadata(topics)
            missing = [t for t in topics if not _all_led(snapshot, t)]
            if not missing:
                # Metadata can name a leader before that broker has created
                # the partition (UNKNOWN_LEADER_EPOCH, NOT_LEADER_OR_FOLLOWER);
                # a ListOffsets answered by every leader proves they serve it.
                await self.list_offsets({(t, p): LATEST_TIMESTAMP for t in topics
                                         for p in snapshot.topics[t].partitions})
                return
            if asyncio.get_running_loop().time() > deadline:
                raise MetadataUnavailable(
                    f"topics without leaders {timeout:.0f}s after creation: {', '.join(missing)}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def create_partitions(self, counts: Mapping[str, int], *, timeout_ms: int = 30000,
                                validate_only: bool = False) -> None:
        C = messages.CreatePartitionsRequest

        def build(version: int) -> Any:
            return C(timeout_ms=timeout_ms, validate_only=validate_only, topics=[
                C.CreatePartitionsTopic(name=t, count=n, assignments=None)
                for t, n in counts.items()])
        response, _ = await self._versioned(await self._any_node(), ApiKey.CREATE_PARTITIONS,
                                            build)
        for result in response.results:
            raise_for_code(result.error_code, result.error_message,
                           context=f"CreatePartitions {result.name}")
        if not validate_only:
            await self._wait_for_partitions(counts, timeout_ms / 1000)

    async def _wait_for_partitions(self, counts: Mapping[str, int], timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            snapshot = await self.refresh_metadata(counts)
            if all(_all_led(snapshot, t) and len(snapshot.topics[t].partitions) >= n
                   for t, n in counts.items()):
                await self.list_offsets({(t, p): LATEST_TIMESTAMP for t in counts
                                         for p in snapshot.topics[t].partitions})
                return
            if asyncio.get_running_loop().time() > deadline:
                raise MetadataUnavailable(f"new partitions not led after {timeout:.0f}s")
            await asyncio.sleep(0.05)

    async def describe_configs(self, resources: Iterable[tuple[ConfigResourceType, str]], *,
                               keys: Sequence[str] | None = None
                               ) -> dict[tuple[int, str], dict[str, ConfigEntry]]:
        """Configs per (resource type, name). Broker resources go to that broker."""
        D = messages.DescribeConfigsRequest
        by_node: dict[int, list[tuple[int, str]]] = {}
        for resource_type, name in resources:
            node = (int(name) if resource_type in (ConfigResourceType.BROKER,
                                                   ConfigResourceType.BROKER_LOGGER) and name
                    else await self._any_node())
            by_node.setdefault(node, []).append((int(resource_type), name))
        out: dict[tuple[int, str], dict[str, ConfigEntry]] = {}
        for node, items in by_node.items():
            def build(version: int, items: list[tuple[int, str]] = items) -> Any:
                return D(include_synonyms=False, resources=[
                    D.DescribeConfigsResource(resource_type=t, resource_name=n,
                                              configuration_keys=None if keys is None else list(keys))
                    for t, n in items])
            response, _ = await self._versioned(node, ApiKey.DESCRIBE_CONFIGS, build)
            for result in response.results:
                raise_for_code(result.error_code, result.error_message,
                               context=f"DescribeConfigs {result.resource_name}")
                out[(result.resource_type, result.resource_name)] = {
                    c.name: ConfigEntry(c.name, c.value, c.read_only,
                                        getattr(c, "config_source", -1), c.is_sensitive)
                    for c in result.configs}
        return out

    async def incremental_alter_configs(
            self, changes: Mapping[tuple[ConfigResourceType, str],
                                   Mapping[str, tuple[AlterConfigOp, str | None]]], *,
            validate_only: bool = False) -> None:
        A = messages.IncrementalAlterConfigsRequest
        by_node: dict[int, list[Any]] = {}
        for (resource_type, name), entries in changes.items():
            node = (int(name) if resource_type in (ConfigResourceType.BROKER,
                                                   ConfigResourceType.BROKER_LOGGER) and name
                    else await self._any_node())
            by_node.setdefault(node, []).append(A.AlterConfigsResource(
                resource_type=int(resource_type), resource_name=name, configs=[
                    A.AlterableConfig(name=k, config_operation=int(op), value=v)
                    for k, (op, v) in entries.items()]))
        for node, resources in by_node.items():
            response, _ = await self._versioned(
                node, ApiKey.INCREMENTAL_ALTER_CONFIGS,
                lambda v, r=resources: A(resources=r, validate_only=validate_only))
            for result in response.responses:
                raise_for_code(result.error_code, result.error_message,
                               context=f"IncrementalAlterConfigs {result.resource_name}")

    # -- Groups -------------------------------------------------------------------------------------
    async def find_coordinator(self, key: str, key_type: int = 0) -> int:
        """Node id of the coordinator for a group (key_type 0) or transaction (1)."""
        F = messages.FindCoordinatorRequest

        def build(version: int) -> Any:
            if version >= _FIND_COORDINATOR_LIST_VERSION:
                return F(key_type=key_type, coordinator_keys=[key])
            return F(key=key, key_type=key_type)
        for attempt in range(5):
            response, version = await self._versioned(await self._any_node(),
                                                      ApiKey.FIND_COORDINATOR, build)
            if version >= _FIND_COORDINATOR_LIST_VERSION:
                entry = response.coordinators[0]
                code, message, node = entry.error_code, entry.error_message, entry.node_id
            else:
                code, message, node = response.error_code, response.error_message, response.node_id
            if code in COORDINATOR_CODES and attempt < 4:
                await asyncio.sleep(0.1 * (attempt + 1))
                continue
            raise_for_code(code, message, context=f"FindCoordinator {key!r}")
            if node not in self.snapshot.brokers:
                await self.refresh_metadata()
            return node
        raise AssertionError("unreachable")

    async def list_groups(self) -> list[GroupListing]:
        """Groups on every broker, merged."""
        if not self.snapshot.brokers:
            await self.refresh_metadata()
        L = messages.ListGroupsRequest
        answers = await asyncio.gather(*(
            self._versioned(node, ApiKey.LIST_GROUPS, lambda v: L(states_filter=[], types_filter=[]))
            for node in sorted(self.snapshot.brokers)))
        out: list[GroupListing] = []
        for response, _ in answers:
            raise_for_code(response.error_code, None, context="ListGroups")
            out.extend(GroupListing(g.group_id, g.protocol_type, getattr(g, "group_state", None),
                                    getattr(g, "group_type", None)) for g in response.groups)
        return out

    async def _with_coordinator(self, group_id: str, call: Callable[[int], Any]) -> Any:
        """Run `call(coordinator)`, re-finding the coordinator while it moves or loads."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.request_timeout
        delay = 0.05
        while True:
            node = await self.find_coordinator(group_id)
            try:
                return await call(node)
            except KafkaError as exc:
                if exc.code not in COORDINATOR_CODES or loop.time() > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def describe_groups(self, group_ids: Sequence[str]) -> dict[str, Any]:
        """{group_id: DescribedGroup}, asking each group's coordinator."""
        out: dict[str, Any] = {}
        for group_id in group_ids:
            out.update(await self._with_coordinator(
                group_id, lambda node, g=group_id: self._describe_group(node, g)))
        return out

    async def _describe_group(self, node: int, group_id: str) -> dict[str, Any]:
        D = messages.DescribeGroupsRequest
        out: dict[str, Any] = {}
        response, _ = await self._versioned(
            node, ApiKey.DESCRIBE_GROUPS,
            lambda v: D(groups=[group_id], include_authorized_operations=False))
        for group in response.groups:
            raise_for_code(group.error_code, getattr(group, "error_message", None),
                           context=f"DescribeGroups {group.group_id}")
            out[group.group_id] = group
        return out

    async def offset_fetch(self, group_id: str, partitions: Iterable[TopicPartition] | None = None
                           ) -> dict[TopicPartition, CommittedOffset]:
        """Committed offsets of a group (all partitions when `partitions` is None)."""
        parts = None if partitions is None else list(partitions)
        return await self._with_coordinator(
            group_id, lambda node: self._offset_fetch(node, group_id, parts))

    async def _offset_fetch(self, node: int, group_id: str, partitions: list[TopicPartition] | None
                            ) -> dict[TopicPartition, CommittedOffset]:
        O = messages.OffsetFetchRequest
        grouped = None if partitions is None else _by_topic((tp, None) for tp in partitions)

        async def build(version: int) -> Any:
            if version >= _OFFSET_FETCH_GROUPS_VERSION:
                topics = None
                if grouped is not None:
                    ids = ({t: await self.topic_id(t) for t in grouped}
                           if version >= _OFFSET_FETCH_TOPIC_ID_VERSION else {})
                    topics = [O.OffsetFetchRequestTopics(name=t, topic_id=ids.get(t),
                                                         partition_indexes=[p for p, _ in parts])
                              for t, parts in grouped.items()]
                return O(groups=[O.OffsetFetchRequestGroup(group_id=group_id, topics=topics)],
                         require_stable=False)
            topics = None if grouped is None else [
                O.OffsetFetchRequestTopic(name=t, partition_indexes=[p for p, _ in parts])
                for t, parts in grouped.items()]
            return O(group_id=group_id, topics=topics, require_stable=False)
        response, version = await self._versioned(node, ApiKey.OFFSET_FETCH, build)
        out: dict[TopicPartition, CommittedOffset] = {}
        if version >= _OFFSET_FETCH_GROUPS_VERSION:
            group = response.groups[0]
            raise_for_code(group.error_code, None, context=f"OffsetFetch {group_id!r}")
            topics = group.topics
        else:
            raise_for_code(response.error_code, None, context=f"OffsetFetch {group_id!r}")
            topics = response.topics
        for topic in topics:
            name = (self.topic_name(topic.topic_id)
                    if version >= _OFFSET_FETCH_TOPIC_ID_VERSION else topic.name)
            for p in topic.partitions:
                raise_for_code(p.error_code, None,
                               context=f"OffsetFetch {group_id!r} {name}-{p.partition_index}")
                out[(name, p.partition_index)] = CommittedOffset(
                    p.committed_offset, getattr(p, "committed_leader_epoch", -1), p.metadata)
        return out

    async def offset_commit(self, group_id: str, offsets: Mapping[TopicPartition, int], *,
                            generation_id: int = -1, member_id: str = "",
                            metadata: str | None = None) -> None:
        """Commit offsets for a group (a standalone commit by default)."""
        await self._with_coordinator(
            group_id, lambda node: self._offset_commit(node, group_id, offsets, generation_id,
                                                       member_id, metadata))

    async def _offset_commit(self, node: int, group_id: str, offsets: Mapping[TopicPartition, int],
                             generation_id: int, member_id: str, metadata: str | None) -> None:
        O = messages.OffsetCommitRequest
        grouped = _by_topic(offsets.items())

        async def build(version: int) -> Any:
            ids = ({t: await self.topic_id(t) for t in grouped}
                   if version >= _OFFSET_COMMIT_TOPIC_ID_VERSION else {})
            return O(group_id=group_id, generation_id_or_member_epoch=generation_id,
                     member_id=member_id, topics=[O.OffsetCommitRequestTopic(
                         name=t, topic_id=ids.get(t), partitions=[
                             O.OffsetCommitRequestPartition(partition_index=p, committed_offset=o,
                                                            committed_metadata=metadata)
                             for p, o in parts]) for t, parts in grouped.items()])
        response, version = await self._versioned(node, ApiKey.OFFSET_COMMIT, build)
        for topic in response.topics:
            name = (self.topic_name(topic.topic_id)
                    if version >= _OFFSET_COMMIT_TOPIC_ID_VERSION else topic.name)
            for p in topic.partitions:
                raise_for_code(p.error_code, None,
                               context=f"OffsetCommit {group_id!r} {name}-{p.partition_index}")

    # -- ACLs ---------------------------------------------------------------------------------------
    async def describe_acls(self, acl_filter: AclFilter = AclFilter()) -> list[AclBinding]:
        D = messages.DescribeAclsRequest
        f = acl_filter
        response, _ = await self._versioned(await self._any_node(), ApiKey.DESCRIBE_ACLS,
                                            lambda v: D(
            resource_type_filter=int(f.resource_type), resource_name_filter=f.resource_name,
            pattern_type_filter=int(f.pattern_type), principal_filter=f.principal,
            host_filter=f.host, operation=int(f.operation), permission_type=int(f.permission)))
        raise_for_code(response.error_code, response.error_message, context="DescribeAcls")
        return [AclBinding(ResourceType(r.resource_type), r.resource_name, a.principal,
                           AclOperation(a.operation), AclPermission(a.permission_type), a.host,
                           PatternType(getattr(r, "pattern_type", 3)))
                for r in response.resources for a in r.acls]

    async def create_acls(self, bindings: Sequence[AclBinding]) -> None:
        C = messages.CreateAclsRequest
        response, _ = await self._versioned(await self._any_node(), ApiKey.CREATE_ACLS,
                                            lambda v: C(creations=[C.AclCreation(
            resource_type=int(b.resource_type), resource_name=b.resource_name,
            resource_pattern_type=int(b.pattern_type), principal=b.principal, host=b.host,
            operation=int(b.operation), permission_type=int(b.permission)) for b in bindings]))
        for binding, result in zip(bindings, response.results):
            raise_for_code(result.error_code, result.error_message,
                           context=f"CreateAcls {binding.principal} on {binding.resource_name}")

    async def delete_acls(self, filters: Sequence[AclFilter]) -> int:
        """Delete matching ACLs; returns how many were deleted."""
        D = messages.DeleteAclsRequest
        response, _ = await self._versioned(await self._any_node(), ApiKey.DELETE_ACLS,
                                            lambda v: D(filters=[D.DeleteAclsFilter(
            resource_type_filter=int(f.resource_type), resource_name_filter=f.resource_name,
            pattern_type_filter=int(f.pattern_type), principal_filter=f.principal,
            host_filter=f.host, operation=int(f.operation), permission_type=int(f.permission))
            for f in filters]))
        deleted = 0
        for result in response.filter_results:
            raise_for_code(result.error_code, result.error_message, context="DeleteAcls")
            for match in result.matching_acls:
                raise_for_code(match.error_code, match.error_message, context="DeleteAcls")
                deleted += 1
        return deleted
