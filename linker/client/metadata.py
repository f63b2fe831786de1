"""Immutable snapshots of what Metadata says about a cluster."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .kafka_errors import STALE_METADATA_CODES


def leader_hints(partitions: Mapping[tuple[str, int], Any]) -> list[tuple[str, int, int, int]]:
    """(topic, partition, leader, epoch) for leader errors that name the new leader."""
    hints = []
    for (topic, partition), part in partitions.items():
        if part.error_code in STALE_METADATA_CODES:
            current = getattr(part, "current_leader", None)
            if current is not None and current.leader_id >= 0:
                hints.append((topic, partition, current.leader_id, current.leader_epoch))
    return hints


@dataclasses.dataclass(frozen=True, slots=True)
class BrokerInfo:
    node_id: int
    host: str
    port: int
    rack: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class PartitionInfo:
    topic: str
    partition: int
    leader: int
    leader_epoch: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    offline: tuple[int, ...]
    error_code: int


@dataclasses.dataclass(frozen=True, slots=True)
class TopicInfo:
    name: str
    topic_id: Any  # kproto's UUID value, hashable
    is_internal: bool
    partitions: dict[int, PartitionInfo]
    error_code: int


@dataclasses.dataclass(frozen=True, slots=True)
class ClusterSnapshot:
    cluster_id: str | None
    controller_id: int
    brokers: dict[int, BrokerInfo]
    topics: dict[str, TopicInfo]
    topic_names_by_id: dict[Any, str]

    @classmethod
    def empty(cls) -> ClusterSnapshot:
        return cls(None, -1, {}, {}, {})

    @classmethod
    def from_response(cls, response: Any, previous: ClusterSnapshot | None = None,
                      replace_all_topics: bool = True) -> ClusterSnapshot:
        """Build from a MetadataResponse; a partial refresh keeps other topics."""
        brokers = {b.node_id: BrokerInfo(b.node_id, b.host, b.port, b.rack)
                   for b in response.brokers}
        topics: dict[str, TopicInfo] = {}
        if previous is not None and not replace_all_topics:
            topics.update(previous.topics)
        for topic in response.topics:
            name = topic.name
            if name is None:
                continue
            partitions = {
                p.partition_index: PartitionInfo(
                    name, p.partition_index, p.leader_id, getattr(p, "leader_epoch", -1),
                    tuple(p.replica_nodes), tuple(p.isr_nodes),
                    tuple(getattr(p, "offline_replicas", ()) or ()), p.error_code)
                for p in topic.partitions
            }
            topics[name] = TopicInfo(name, getattr(topic, "topic_id", None),
                                     topic.is_internal, partitions, topic.error_code)
        names_by_id = {t.topic_id: t.name for t in topics.values() if t.topic_id is not None}
        return cls(response.cluster_id, response.controller_id, brokers, topics, names_by_id)

    def with_leader_hints(self, hints: list[tuple[str, int, int, int]],
                          endpoints: list[BrokerInfo]) -> ClusterSnapshot:
        """Apply KIP-951 hints (topic, partition, leader, epoch) from Produce/Fetch errors.

        A hint only wins over the cache when its leader epoch is newer.
        """
        brokers = dict(self.brokers)
        for broker in endpoints:
            brokers.setdefault(broker.node_id, broker)
        topics = dict(self.topics)
        changed = False
        for topic, partition, leader, epoch in hints:
            info = topics.get(topic)
            part = info.partitions.get(partition) if info else None
            if info is None or part is None or epoch <= part.leader_epoch or leader not in brokers:
                continue
            partitions = dict(info.partitions)
            partitions[partition] = dataclasses.replace(part, leader=leader, leader_epoch=epoch,
                                                        error_code=0)
            topics[topic] = dataclasses.replace(info, partitions=partitions)
            changed = True
        if not changed:
            return self
        return ClusterSnapshot(self.cluster_id, self.controller_id, brokers, topics,
                               self.topic_names_by_id)
