"""The admin layer: typed cluster-management calls composed over a `Client`.

Like franz-go's kadm over kgo: `Admin` holds no connections of its own; it
builds requests, sends them through its client's routing core and turns
error codes into `KafkaError` (with the partition or resource in `tp` and the
API in `api`). Partition-addressed calls (DeleteRecords, DescribeProducers)
retry leader moves through `Client.per_leader`; group calls re-find a moving
coordinator; everything else raises on the first error code.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable

from kproto import ApiKey, messages
from kproto.errors import ErrorCode

from .core import Client, by_topic
from .errors import KafkaError, MetadataUnavailable
from .kafka_errors import COORDINATOR_CODES, kafka_error, raise_for_code
from .metadata import ClusterSnapshot
from .types import (LATEST_TIMESTAMP, SCRAM_MECHANISMS, AclBinding, AclFilter, AclOperation, AclPermission,
                    AlterConfigOp, ClientQuotaEntry, CommittedOffset, ConfigEntry, ConfigResourceType,
                    GroupListing, NewTopic, PatternType, ProducerIdAndEpoch, ProducerState, ResourceType,
                    ScramCredentialInfo, TopicPartition, TransactionDescription)

_OFFSET_COMMIT_TOPIC_ID_VERSION = 10
_OFFSET_FETCH_TOPIC_ID_VERSION = 10
_OFFSET_FETCH_GROUPS_VERSION = 8
_FIND_COORDINATOR_LIST_VERSION = 4
# AddPartitionsToTxn v4+ is the brokers' batched form (verification); a
# producer sends v3 or older.
_ADD_PARTITIONS_TO_TXN_PIN = (0, 3)
GROUP_KEY, TRANSACTION_KEY = 0, 1


def _all_led(snapshot: ClusterSnapshot, topic: str) -> bool:
    info = snapshot.topics.get(topic)
    return (info is not None and not info.error_code and bool(info.partitions)
            and all(p.leader >= 0 for p in info.partitions.values()))


class Admin:
    """Admin calls over `client` (which the caller owns, starts and closes)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def __repr__(self) -> str:
        return f"<Admin {self.client!r}>"

    async def delete_records(self, offsets: Mapping[TopicPartition, int], *, timeout_ms: int = 30000,
                             retry_for: float | None = None) -> dict[TopicPartition, int]:
        """Move log start offsets forward; returns the new low watermarks.

        Leader moves and REQUEST_TIMED_OUT are retried (refreshing metadata);
        other errors raise KafkaError for the partition.
        """
        D = messages.DeleteRecordsRequest

        async def call(node: int, part: dict[TopicPartition, int]) -> dict[TopicPartition, Any]:
            def build(version: int) -> Any:
                return D(timeout_ms=timeout_ms, topics=[D.DeleteRecordsTopic(name=t, partitions=[
                    D.DeleteRecordsPartition(partition_index=p, offset=o) for p, o in parts])
                    for t, parts in by_topic(part.items()).items()])
            response, _ = await self.client.versioned_request(
                node, ApiKey.DELETE_RECORDS, build,
                timeout=self.client.config.request_timeout + timeout_ms / 1000)
            out: dict[TopicPartition, Any] = {}
            for topic in response.topics:
                for p in topic.partitions:
                    tp = (topic.name, p.partition_index)
                    out[tp] = (kafka_error(p.error_code, broker=str(node), tp=tp,
                                           api="DeleteRecords")
                               if p.error_code else p.low_watermark)
            return out
        return await self.client.per_leader(offsets, call, retry_for=retry_for)

    # -- Topics and configs -------------------------------------------------------------------------
    async def create_topics(self, topics: Sequence[NewTopic], *, timeout_ms: int = 30000,
                            validate_only: bool = False, exist_ok: bool = False,
                            wait: bool = True) -> dict[str, Any]:
        """Create topics; returns {name: topic_id}. Raises on the first error.

        With `exist_ok`, TOPIC_ALREADY_EXISTS is no error and the topic maps
        to None (so callers can tell created from existing topics).

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
        response, _ = await self.client.versioned_request(
            await self.client.any_node(), ApiKey.CREATE_TOPICS, build,
            timeout=self.client.config.request_timeout + timeout_ms / 1000)
        out: dict[str, Any] = {}
        for result in response.topics:
            if result.error_code == ErrorCode.TOPIC_ALREADY_EXISTS and exist_ok:
                out[result.name] = None
                continue
            raise_for_code(result.error_code, result.error_message, tp=(result.name, -1),
                           api="CreateTopics")
            out[result.name] = getattr(result, "topic_id", None)
        if not validate_only:
            if wait:
                await self._wait_for_leaders(list(out), timeout_ms / 1000)
            else:
                self.client.mark_stale("topics created")
        return out

    async def _wait_for_leaders(self, topics: list[str], timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        delay = 0.02
        while True:
            snapshot = await self.client.refresh_metadata(topics)
            missing = [t for t in topics if not _all_led(snapshot, t)]
            if not missing:
                # Metadata can name a leader before that broker has created
                # the partition (UNKNOWN_LEADER_EPOCH, NOT_LEADER_OR_FOLLOWER);
                # a ListOffsets answered by every leader proves they serve it.
                await self.client.list_offsets({(t, p): LATEST_TIMESTAMP for t in topics
                                                for p in snapshot.topics[t].partitions})
                return
            if asyncio.get_running_loop().time() > deadline:
                raise MetadataUnavailable(
                    f"topics without leaders {timeout:.0f}s after creation: {', '.join(missing)}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def create_partitions(self, counts: Mapping[str, int], *, timeout_ms: int = 30000,
                                validate_only: bool = False, exist_ok: bool = False) -> None:
        """Grow topics to `counts` partitions and wait for their leaders.

        With `exist_ok`, a topic that already has that many (or more) is no
        error (INVALID_PARTITIONS is checked against the metadata).
        """
        C = messages.CreatePartitionsRequest

        def build(version: int) -> Any:
            return C(timeout_ms=timeout_ms, validate_only=validate_only, topics=[
                C.CreatePartitionsTopic(name=t, count=n, assignments=None)
                for t, n in counts.items()])
        response, _ = await self.client.versioned_request(
            await self.client.any_node(), ApiKey.CREATE_PARTITIONS, build)
        for result in response.results:
            if result.error_code == ErrorCode.INVALID_PARTITIONS and exist_ok:
                await self.client.refresh_metadata([result.name])
                info = self.client.snapshot.topics.get(result.name)
                if info is not None and len(info.partitions) >= counts[result.name]:
                    continue
            raise_for_code(result.error_code, result.error_message, tp=(result.name, -1),
                           api="CreatePartitions")
        if not validate_only:
            await self._wait_for_partitions(counts, timeout_ms / 1000)

    async def delete_topics(self, topics: Sequence[str], *, timeout_ms: int = 30000) -> None:
        """Delete topics by name and wait until the metadata no longer lists them (a topic of the
        same name created right after then is a new topic, not the one being deleted)."""
        D = messages.DeleteTopicsRequest
        names = list(topics)

        def build(version: int) -> Any:
            if version >= 6:
                return D(timeout_ms=timeout_ms, topics=[D.DeleteTopicState(name=t) for t in names])
            return D(timeout_ms=timeout_ms, topic_names=names)
        response, _ = await self.client.versioned_request(
            await self.client.any_node(), ApiKey.DELETE_TOPICS, build,
            timeout=self.client.config.request_timeout + timeout_ms / 1000)
        for result in response.responses:
            raise_for_code(result.error_code, getattr(result, "error_message", None), tp=(result.name, -1),
                           api="DeleteTopics")
        deadline = asyncio.get_running_loop().time() + timeout_ms / 1000
        while True:
            snapshot = await self.client.refresh_metadata(names)
            left = [t for t in names if t in snapshot.topics and not snapshot.topics[t].error_code]
            if not left:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise MetadataUnavailable(f"topics still listed {timeout_ms / 1000:.0f}s after deletion: "
                                          f"{', '.join(left)}")
            await asyncio.sleep(0.1)

    async def _wait_for_partitions(self, counts: Mapping[str, int], timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            snapshot = await self.client.refresh_metadata(counts)
            if all(_all_led(snapshot, t) and len(snapshot.topics[t].partitions) >= n
                   for t, n in counts.items()):
                await self.client.list_offsets({(t, p): LATEST_TIMESTAMP for t in counts
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
                    else await self.client.any_node())
            by_node.setdefault(node, []).append((int(resource_type), name))
        out: dict[tuple[int, str], dict[str, ConfigEntry]] = {}
        for node, items in by_node.items():
            def build(version: int, items: list[tuple[int, str]] = items) -> Any:
                return D(include_synonyms=False, resources=[
                    D.DescribeConfigsResource(resource_type=t, resource_name=n,
                                              configuration_keys=None if keys is None else list(keys))
                    for t, n in items])
            response, _ = await self.client.versioned_request(node, ApiKey.DESCRIBE_CONFIGS, build)
            for result in response.results:
                raise_for_code(result.error_code, result.error_message,
                               tp=(result.resource_name, -1), api="DescribeConfigs")
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
                    else await self.client.any_node())
            by_node.setdefault(node, []).append(A.AlterConfigsResource(
                resource_type=int(resource_type), resource_name=name, configs=[
                    A.AlterableConfig(name=k, config_operation=int(op), value=v)
                    for k, (op, v) in entries.items()]))
        for node, resources in by_node.items():
            response, _ = await self.client.versioned_request(
                node, ApiKey.INCREMENTAL_ALTER_CONFIGS,
                lambda v, r=resources: A(resources=r, validate_only=validate_only))
            for result in response.responses:
                raise_for_code(result.error_code, result.error_message,
                               tp=(result.resource_name, -1), api="IncrementalAlterConfigs")

    async def topic_configs(self, topics: Iterable[str]) -> dict[str, dict[str, str | None]]:
        """{topic: {config name: value}} for every config of each topic."""
        names = list(topics)
        if not names:
            return {}
        found = await self.describe_configs([(ConfigResourceType.TOPIC, t) for t in names])
        return {name: {k: e.value for k, e in entries.items()} for (_, name), entries in found.items()}

    async def alter_topic_configs(self, topic: str, configs: Mapping[str, str]) -> None:
        """Set these configs on a topic, leaving the others as they are."""
        await self.incremental_alter_configs(
            {(ConfigResourceType.TOPIC, topic): {k: (AlterConfigOp.SET, v) for k, v in configs.items()}})

    # -- Groups -------------------------------------------------------------------------------------
    async def find_coordinator(self, key: str, key_type: int = GROUP_KEY) -> int:
        """Node id of the coordinator for a group (key_type 0) or transaction (1)."""
        F = messages.FindCoordinatorRequest

        def build(version: int) -> Any:
            if version >= _FIND_COORDINATOR_LIST_VERSION:
                return F(key_type=key_type, coordinator_keys=[key])
            return F(key=key, key_type=key_type)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.client.config.request_timeout
        delay = 0.05
        while True:
            response, version = await self.client.versioned_request(
                await self.client.any_node(), ApiKey.FIND_COORDINATOR, build)
            if version >= _FIND_COORDINATOR_LIST_VERSION:
                entry = response.coordinators[0]
                code, message, node = entry.error_code, entry.error_message, entry.node_id
            else:
                code, message, node = response.error_code, response.error_message, response.node_id
            # A fresh cluster answers COORDINATOR_NOT_AVAILABLE until it has
            # created __consumer_offsets / __transaction_state.
            if code in COORDINATOR_CODES and loop.time() + delay < deadline:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            raise_for_code(code, message, context=f"FindCoordinator {key!r}")
            if node not in self.client.snapshot.brokers:
                await self.client.refresh_metadata()
            return node

    async def list_groups(self) -> list[GroupListing]:
        """Groups on every broker, merged."""
        if not self.client.snapshot.brokers:
            await self.client.refresh_metadata()
        answers = await asyncio.gather(*(self.list_groups_on(node) for node in sorted(self.client.snapshot.brokers)))
        return [g for answer in answers for g in answer]

    async def list_groups_on(self, node: int) -> list[GroupListing]:
        """The groups one broker coordinates (callers that tolerate a broker down ask each)."""
        L = messages.ListGroupsRequest
        response, _ = await self.client.versioned_request(node, ApiKey.LIST_GROUPS,
                                                          lambda v: L(states_filter=[], types_filter=[]))
        raise_for_code(response.error_code, None, context="ListGroups")
        return [GroupListing(g.group_id, g.protocol_type, getattr(g, "group_state", None),
                             getattr(g, "group_type", None)) for g in response.groups]

    async def _with_coordinator(self, group_id: str, call: Callable[[int], Any]) -> Any:
        """Run `call(coordinator)`, re-finding the coordinator while it moves or loads."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.client.config.request_timeout
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
        response, _ = await self.client.versioned_request(
            node, ApiKey.DESCRIBE_GROUPS,
            lambda v: D(groups=[group_id], include_authorized_operations=False))
        for group in response.groups:
            raise_for_code(group.error_code, getattr(group, "error_message", None),
                           context=f"DescribeGroups {group.group_id}")
            out[group.group_id] = group
        return out

    async def offset_fetch(self, group_id: str, partitions: Iterable[TopicPartition] | None = None
                           ) -> dict[TopicPartition, CommittedOffset]:
        """Committed offsets of a group (all partitions when `partitions` is None).

        A group the coordinator does not know (GROUP_ID_NOT_FOUND) has none;
        offsets of topics no longer in the metadata (deleted) are left out.
        """
        parts = None if partitions is None else list(partitions)
        return await self._with_coordinator(
            group_id, lambda node: self._offset_fetch(node, group_id, parts))

    async def _offset_fetch(self, node: int, group_id: str, partitions: list[TopicPartition] | None
                            ) -> dict[TopicPartition, CommittedOffset]:
        O = messages.OffsetFetchRequest
        grouped = None if partitions is None else by_topic((tp, None) for tp in partitions)

        async def build(version: int) -> Any:
            if version >= _OFFSET_FETCH_GROUPS_VERSION:
                topics = None
                if grouped is not None:
                    ids = ({t: await self.client.topic_id(t) for t in grouped}
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
        response, version = await self.client.versioned_request(node, ApiKey.OFFSET_FETCH, build)
        out: dict[TopicPartition, CommittedOffset] = {}
        code = response.groups[0].error_code if version >= _OFFSET_FETCH_GROUPS_VERSION \
            else response.error_code
        if code == ErrorCode.GROUP_ID_NOT_FOUND:
            return out
        raise_for_code(code, None, context=f"OffsetFetch {group_id!r}")
        topics = response.groups[0].topics if version >= _OFFSET_FETCH_GROUPS_VERSION \
            else response.topics
        names = await self._topic_names(topics, version >= _OFFSET_FETCH_TOPIC_ID_VERSION)
        for topic in topics:
            name = names.get(topic.topic_id) if version >= _OFFSET_FETCH_TOPIC_ID_VERSION \
                else topic.name
            if name is None:
                continue
            for p in topic.partitions:
                raise_for_code(p.error_code, None, tp=(name, p.partition_index),
                               api=f"OffsetFetch {group_id!r}")
                out[(name, p.partition_index)] = CommittedOffset(
                    p.committed_offset, getattr(p, "committed_leader_epoch", -1), p.metadata)
        return out

    async def share_group_offsets(self, group_id: str, partitions: Iterable[TopicPartition] | None = None
                                  ) -> dict[TopicPartition, int]:
        """Start offsets of a share group (KIP-932) on `partitions` (None: every partition it has
        state for): where its share partitions begin (records below are delivered and
        acknowledged). A partition without state is left out; so is an unknown group."""
        D = messages.DescribeShareGroupOffsetsRequest
        grouped = None if partitions is None else by_topic((tp, None) for tp in partitions)

        async def call(node: int) -> dict[TopicPartition, int]:
            def build(version: int) -> Any:
                return D(groups=[D.DescribeShareGroupOffsetsRequestGroup(group_id=group_id, topics=None if
                    grouped is None else [D.DescribeShareGroupOffsetsRequestTopic(
                        topic_name=t, partitions=[p for p, _ in parts]) for t, parts in grouped.items()])])
            response, _ = await self.client.versioned_request(node, ApiKey.DESCRIBE_SHARE_GROUP_OFFSETS, build)
            out: dict[TopicPartition, int] = {}
            for g in response.groups:
                if g.error_code == ErrorCode.GROUP_ID_NOT_FOUND:
                    return out
                raise_for_code(g.error_code, g.error_message, context=f"DescribeShareGroupOffsets {group_id!r}")
                for t in g.topics:
                    for p in t.partitions:
                        if p.error_code in (ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,) or p.start_offset < 0:
                            continue   # no state for it (never consumed by the group)
                        raise_for_code(p.error_code, p.error_message, tp=(t.topic_name, p.partition_index),
                                       api=f"DescribeShareGroupOffsets {group_id!r}")
                        out[(t.topic_name, p.partition_index)] = p.start_offset
            return out
        return await self._with_coordinator(group_id, call)

    async def alter_share_group_offsets(self, group_id: str, offsets: Mapping[TopicPartition, int]) -> None:
        """Set a share group's start offsets (the group must have no members: NON_EMPTY_GROUP)."""
        A = messages.AlterShareGroupOffsetsRequest
        grouped = by_topic(offsets.items())

        async def call(node: int) -> None:
            def build(version: int) -> Any:
                return A(group_id=group_id, topics=[
                    A.AlterShareGroupOffsetsRequestTopic(topic_name=t, partitions=[
                        A.AlterShareGroupOffsetsRequestPartition(partition_index=p, start_offset=o)
                        for p, o in parts]) for t, parts in grouped.items()])
            response, _ = await self.client.versioned_request(node, ApiKey.ALTER_SHARE_GROUP_OFFSETS, build)
            raise_for_code(response.error_code, response.error_message,
                           context=f"AlterShareGroupOffsets {group_id!r}")
            for t in response.responses:
                for p in t.partitions:
                    raise_for_code(p.error_code, p.error_message, tp=(t.topic_name, p.partition_index),
                                   api=f"AlterShareGroupOffsets {group_id!r}")
        await self._with_coordinator(group_id, call)

    async def _topic_names(self, topics: Sequence[Any], by_id: bool) -> dict[Any, str]:
        """Names for the topic ids in a response, refreshing metadata once for unknown ids."""
        if not by_id:
            return {}
        known = self.client.snapshot.topic_names_by_id
        if any(t.topic_id not in known for t in topics):
            await self.client.refresh_metadata()
            known = self.client.snapshot.topic_names_by_id
        return {t.topic_id: known[t.topic_id] for t in topics if t.topic_id in known}

    async def offset_commit(self, group_id: str, offsets: Mapping[TopicPartition, int | CommittedOffset], *,
                            generation_id: int = -1, member_id: str = "",
                            metadata: str | None = None,
                            return_errors: bool = False) -> dict[TopicPartition, KafkaError]:
        """Commit offsets for a group (a standalone commit by default). A `CommittedOffset` value
        carries its own leader epoch and metadata; a plain offset gets epoch -1 and `metadata`.

        Raises the first per-partition error, or with `return_errors` returns
        them all ({} when every partition was committed). Coordinator moves
        are retried either way.
        """
        return await self._with_coordinator(
            group_id, lambda node: self._offset_commit(node, group_id, offsets, generation_id,
                                                       member_id, metadata, return_errors))

    async def _offset_commit(self, node: int, group_id: str, offsets: Mapping[TopicPartition, int | CommittedOffset],
                             generation_id: int, member_id: str, metadata: str | None,
                             return_errors: bool) -> dict[TopicPartition, KafkaError]:
        O = messages.OffsetCommitRequest
        grouped = by_topic(offsets.items())

        async def build(version: int) -> Any:
            ids = ({t: await self.client.topic_id(t) for t in grouped}
                   if version >= _OFFSET_COMMIT_TOPIC_ID_VERSION else {})
            return O(group_id=group_id, generation_id_or_member_epoch=generation_id,
                     member_id=member_id, topics=[O.OffsetCommitRequestTopic(
                         name=t, topic_id=ids.get(t), partitions=[
                             O.OffsetCommitRequestPartition(partition_index=p, committed_offset=o.offset,
                                                            committed_leader_epoch=o.leader_epoch,
                                                            committed_metadata=o.metadata)
                             if isinstance(o, CommittedOffset) else
                             O.OffsetCommitRequestPartition(partition_index=p, committed_offset=o,
                                                            committed_metadata=metadata)
                             for p, o in parts]) for t, parts in grouped.items()])
        response, version = await self.client.versioned_request(node, ApiKey.OFFSET_COMMIT, build)
        errors: dict[TopicPartition, KafkaError] = {}
        for topic in response.topics:
            name = (self.client.topic_name(topic.topic_id)
                    if version >= _OFFSET_COMMIT_TOPIC_ID_VERSION else topic.name)
            for p in topic.partitions:
                if p.error_code:
                    tp = (name, p.partition_index)
                    errors[tp] = kafka_error(p.error_code, broker=str(node), tp=tp,
                                             api=f"OffsetCommit {group_id!r}")
        coordinator_moved = [e for e in errors.values() if e.code in COORDINATOR_CODES]
        if coordinator_moved or (errors and not return_errors):
            raise (coordinator_moved or list(errors.values()))[0]
        return errors

    async def describe_consumer_groups(self, group_ids: Sequence[str]) -> dict[str, Any]:
        """{group_id: described group} for KIP-848 consumer groups (ConsumerGroupDescribe).

        Raises UnsupportedVersion on brokers without the new group protocol,
        and KafkaError (e.g. GROUP_ID_NOT_FOUND for a classic group).
        """
        out: dict[str, Any] = {}
        for group_id in group_ids:
            out.update(await self._with_coordinator(
                group_id, lambda node, g=group_id: self._describe_consumer_group(node, g)))
        return out

    async def _describe_consumer_group(self, node: int, group_id: str) -> dict[str, Any]:
        C = messages.ConsumerGroupDescribeRequest
        response, _ = await self.client.versioned_request(
            node, ApiKey.CONSUMER_GROUP_DESCRIBE,
            lambda v: C(group_ids=[group_id], include_authorized_operations=False))
        out: dict[str, Any] = {}
        for group in response.groups:
            raise_for_code(group.error_code, group.error_message,
                           context=f"ConsumerGroupDescribe {group.group_id}")
            out[group.group_id] = group
        return out

    # -- ACLs ---------------------------------------------------------------------------------------
    async def describe_acls(self, acl_filter: AclFilter = AclFilter()) -> list[AclBinding]:
        """The ACLs matching `acl_filter` (every ACL by default)."""
        D = messages.DescribeAclsRequest
        f = acl_filter

        def build(version: int) -> Any:
            return D(resource_type_filter=int(f.resource_type), resource_name_filter=f.resource_name,
                     pattern_type_filter=int(f.pattern_type), principal_filter=f.principal,
                     host_filter=f.host, operation=int(f.operation), permission_type=int(f.permission))
        response, _ = await self.client.versioned_request(await self.client.any_node(),
                                                          ApiKey.DESCRIBE_ACLS, build)
        raise_for_code(response.error_code, response.error_message, api="DescribeAcls")
        return [AclBinding(ResourceType(r.resource_type), r.resource_name, a.principal,
                           AclOperation(a.operation), AclPermission(a.permission_type), a.host,
                           PatternType(getattr(r, "pattern_type", PatternType.LITERAL)))
                for r in response.resources for a in r.acls]

    async def create_acls(self, bindings: Sequence[AclBinding], *, wait: bool = True) -> None:
        """Create ACLs (creating one that exists is no error); raises the first failure.

        With `wait`, returns once DescribeAcls shows them (at most the request
        timeout): a KRaft broker answers CreateAcls before its authorizer has
        replayed the change, so an immediate describe (or a check by a client)
        could still miss them.
        """
        C = messages.CreateAclsRequest

        def build(version: int) -> Any:
            return C(creations=[C.AclCreation(
                resource_type=int(b.resource_type), resource_name=b.resource_name,
                resource_pattern_type=int(b.pattern_type), principal=b.principal, host=b.host,
                operation=int(b.operation), permission_type=int(b.permission)) for b in bindings])
        response, _ = await self.client.versioned_request(await self.client.any_node(),
                                                          ApiKey.CREATE_ACLS, build)
        for binding, result in zip(bindings, response.results):
            raise_for_code(result.error_code, result.error_message,
                           context=f"CreateAcls {binding.principal} on {binding.resource_name}")
        if wait:
            await self._until_visible(set(bindings))

    async def _until_visible(self, bindings: set[AclBinding]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.client.config.request_timeout
        delay = 0.02
        while loop.time() + delay < deadline:
            try:
                if bindings <= set(await self.describe_acls()):
                    return
            except KafkaError:
                return   # may create but not describe: nothing to wait with
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def delete_acls(self, filters: Sequence[AclFilter]) -> int:
        """Delete matching ACLs; returns how many were deleted."""
        D = messages.DeleteAclsRequest

        def build(version: int) -> Any:
            return D(filters=[D.DeleteAclsFilter(
                resource_type_filter=int(f.resource_type), resource_name_filter=f.resource_name,
                pattern_type_filter=int(f.pattern_type), principal_filter=f.principal,
                host_filter=f.host, operation=int(f.operation), permission_type=int(f.permission))
                for f in filters])
        response, _ = await self.client.versioned_request(await self.client.any_node(),
                                                          ApiKey.DELETE_ACLS, build)
        deleted = 0
        for result in response.filter_results:
            raise_for_code(result.error_code, result.error_message, api="DeleteAcls")
            for match in result.matching_acls:
                raise_for_code(match.error_code, match.error_message, api="DeleteAcls")
                deleted += 1
        return deleted

    # -- Users and quotas ------------------------------------------------------------------------------
    async def describe_user_scram_credentials(self, users: Sequence[str] | None = None
                                              ) -> dict[str, list[ScramCredentialInfo]]:
        """User -> its SCRAM mechanisms and iterations (secrets are never sent). `users` None:
        every user with a credential; a named user without one is left out (RESOURCE_NOT_FOUND).

        "All users" is sent as an empty list, not null (both mean all): a Kafka 4.4.0 broker
        refusing a null request (CLUSTER_AUTHORIZATION_FAILED) throws a NullPointerException
        building its error response and never answers (measured: the call timed out)."""
        D = messages.DescribeUserScramCredentialsRequest

        def build(version: int) -> Any:
            return D(users=[D.UserName(name=u) for u in users or ()])
        response, _ = await self.client.versioned_request(await self.client.any_node(),
                                                          ApiKey.DESCRIBE_USER_SCRAM_CREDENTIALS, build)
        raise_for_code(response.error_code, response.error_message, api="DescribeUserScramCredentials")
        out: dict[str, list[ScramCredentialInfo]] = {}
        for r in response.results:
            if r.error_code == ErrorCode.RESOURCE_NOT_FOUND:
                continue
            raise_for_code(r.error_code, r.error_message, context=f"DescribeUserScramCredentials {r.user}")
            out[r.user] = sorted(ScramCredentialInfo(SCRAM_MECHANISMS.get(c.mechanism, f"mechanism {c.mechanism}"),
                                                     c.iterations) for c in r.credential_infos)
        return out

    async def describe_client_quotas(self) -> list[ClientQuotaEntry]:
        """Every client quota of the cluster (DescribeClientQuotas with a match-all filter)."""
        D = messages.DescribeClientQuotasRequest

        def build(version: int) -> Any:
            return D(components=[], strict=False)
        response, _ = await self.client.versioned_request(await self.client.any_node(),
                                                          ApiKey.DESCRIBE_CLIENT_QUOTAS, build)
        raise_for_code(response.error_code, response.error_message, api="DescribeClientQuotas")
        return [ClientQuotaEntry(tuple(sorted(((e.entity_type, e.entity_name) for e in entry.entity),
                                              key=lambda x: (x[0], x[1] or ""))),
                                 {v.key: v.value for v in entry.values})
                for entry in response.entries or []]

    # -- Producers and transactions ------------------------------------------------------------------
    async def describe_producers(self, partitions: Iterable[TopicPartition]
                                 ) -> dict[TopicPartition, list[ProducerState]]:
        """Active producers per partition, asked of each leader (leader moves retried)."""
        D = messages.DescribeProducersRequest

        async def call(node: int, part: dict[TopicPartition, None]) -> dict[TopicPartition, Any]:
            def build(version: int) -> Any:
                return D(topics=[D.TopicRequest(name=t, partition_indexes=[p for p, _ in parts])
                                 for t, parts in by_topic(part.items()).items()])
            response, _ = await self.client.versioned_request(node, ApiKey.DESCRIBE_PRODUCERS, build)
            out: dict[TopicPartition, Any] = {}
            for topic in response.topics:
                for p in topic.partitions:
                    tp = (topic.name, p.partition_index)
                    out[tp] = (kafka_error(p.error_code, p.error_message, broker=str(node), tp=tp,
                                           api="DescribeProducers")
                               if p.error_code else
                               [ProducerState(s.producer_id, s.producer_epoch, s.last_sequence,
                                              s.last_timestamp, s.coordinator_epoch,
                                              s.current_txn_start_offset)
                                for s in p.active_producers])
            return out
        return await self.client.per_leader(dict.fromkeys(partitions), call)

    async def init_producer_id(self, *, transactional_id: str | None = None,
                               transaction_timeout_ms: int = 60_000, node: int | None = None,
                               current: ProducerIdAndEpoch | None = None) -> ProducerIdAndEpoch:
        """A producer id and epoch from InitProducerId.

        Without a transactional id it is an idempotent producer's id, from
        `node` (any broker by default: each allocates from its own block).
        With one, the transaction coordinator answers (found, and re-found
        while it moves) and fences older epochs of that id; `current` asks to
        bump an existing producer's epoch (KIP-360). Retriable errors raise
        KafkaError with `retriable` set; the caller decides whether to retry.
        """
        I = messages.InitProducerIdRequest

        def build(version: int) -> Any:
            return I(transactional_id=transactional_id,
                     transaction_timeout_ms=transaction_timeout_ms,
                     producer_id=current.producer_id if current else -1,
                     producer_epoch=current.producer_epoch if current else -1)

        async def ask(target: int) -> ProducerIdAndEpoch:
            response, _ = await self.client.versioned_request(target, ApiKey.INIT_PRODUCER_ID, build)
            raise_for_code(response.error_code, None, broker=str(target), api="InitProducerId")
            return ProducerIdAndEpoch(response.producer_id, response.producer_epoch)
        if transactional_id is not None:
            return await self._with_transaction_coordinator(transactional_id, ask)
        target = node if node is not None else await self.client.any_node()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.client.config.request_timeout
        delay = 0.02
        while True:
            try:
                return await ask(target)
            except KafkaError as exc:
                # COORDINATOR_LOAD_IN_PROGRESS: the broker has no id block yet.
                if not exc.retriable or loop.time() + delay > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def burn_producer_ids(self, node: int, past: int, *, max_ids: int, max_seconds: float,
                                in_flight: int = 128, start: int = -1) -> tuple[int, int]:
        """Pipelined non-transactional InitProducerId on `node` until it hands out an id above
        `past` (a broker allocates from blocks the controller hands out in increasing order, so
        every later id is larger too), within `max_ids` ids and `max_seconds`. Returns (ids
        used, the last id returned, `start` if none); a refusal raises KafkaError."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_seconds
        used, last = 0, start
        while last <= past and used < max_ids and loop.time() < deadline:
            n = min(in_flight, max_ids - used)
            got = await asyncio.gather(*(self.init_producer_id(node=node) for _ in range(n)))
            last = max(last, *(g.producer_id for g in got))
            used += n
        return used, last

    async def _with_transaction_coordinator(self, transactional_id: str,
                                            call: Callable[[int], Any]) -> Any:
        """Run `call(coordinator)`, re-finding the coordinator while it moves, loads,
        or is busy finishing the previous transaction (CONCURRENT_TRANSACTIONS)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.client.config.request_timeout
        delay = 0.02
        while True:
            node = await self.find_coordinator(transactional_id, TRANSACTION_KEY)
            try:
                return await call(node)
            except KafkaError as exc:
                if (exc.code not in COORDINATOR_CODES
                        and exc.code != ErrorCode.CONCURRENT_TRANSACTIONS) or loop.time() > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def add_partitions_to_txn(self, transactional_id: str, producer: ProducerIdAndEpoch,
                                    partitions: Iterable[TopicPartition]) -> None:
        """Register partitions with the open transaction before producing to them."""
        A = messages.AddPartitionsToTxnRequest
        grouped = by_topic((tp, None) for tp in partitions)

        def build(version: int) -> Any:
            return A(v3_and_below_transactional_id=transactional_id,
                     v3_and_below_producer_id=producer.producer_id,
                     v3_and_below_producer_epoch=producer.producer_epoch,
                     v3_and_below_topics=[A.AddPartitionsToTxnTopic(
                         name=t, partitions=[p for p, _ in parts]) for t, parts in grouped.items()])

        async def ask(node: int) -> None:
            response, _ = await self.client.versioned_request(
                node, ApiKey.ADD_PARTITIONS_TO_TXN, build, pin=_ADD_PARTITIONS_TO_TXN_PIN)
            errors = [kafka_error(p.partition_error_code, broker=str(node),
                                  tp=(t.name, p.partition_index), api="AddPartitionsToTxn")
                      for t in response.results_by_topic_v3_and_below
                      for p in t.results_by_partition if p.partition_error_code]
            # OPERATION_NOT_ATTEMPTED marks the partitions that were fine
            # while another one failed: report the one that did fail.
            errors.sort(key=lambda e: e.code == ErrorCode.OPERATION_NOT_ATTEMPTED)
            if errors:
                raise errors[0]
        await self._with_transaction_coordinator(transactional_id, ask)

    async def describe_transaction(self, transactional_id: str) -> TransactionDescription | None:
        """The coordinator's view of one transactional id, or None when it has none
        (TRANSACTIONAL_ID_NOT_FOUND). Never changes the transaction (unlike InitProducerId)."""
        D = messages.DescribeTransactionsRequest

        def build(version: int) -> Any:
            return D(transactional_ids=[transactional_id])

        async def ask(node: int) -> TransactionDescription | None:
            response, _ = await self.client.versioned_request(node, ApiKey.DESCRIBE_TRANSACTIONS, build)
            (state,) = response.transaction_states
            if state.error_code == ErrorCode.TRANSACTIONAL_ID_NOT_FOUND:
                return None
            raise_for_code(state.error_code, None, broker=str(node), api="DescribeTransactions")
            return TransactionDescription(transactional_id, state.transaction_state, state.producer_id,
                                          state.producer_epoch,
                                          frozenset((t.topic, p) for t in state.topics for p in t.partitions))
        return await self._with_transaction_coordinator(transactional_id, ask)

    async def end_txn(self, transactional_id: str, producer: ProducerIdAndEpoch, *,
                      commit: bool) -> ProducerIdAndEpoch:
        """Commit or abort the open transaction; returns the producer id and epoch to use
        next (bumped by coordinators speaking transactions v2, else unchanged)."""
        E = messages.EndTxnRequest

        def build(version: int) -> Any:
            return E(transactional_id=transactional_id, producer_id=producer.producer_id,
                     producer_epoch=producer.producer_epoch, committed=commit)

        async def ask(node: int) -> ProducerIdAndEpoch:
            response, _ = await self.client.versioned_request(node, ApiKey.END_TXN, build)
            raise_for_code(response.error_code, None, broker=str(node), api="EndTxn")
            if getattr(response, "producer_id", -1) >= 0:
                return ProducerIdAndEpoch(response.producer_id, response.producer_epoch)
            return producer
        return await self._with_transaction_coordinator(transactional_id, ask)
