"""Read-only questions a preflight asks a cluster: what the principal may do (the brokers'
own authorized-operations answers), what each broker speaks (ApiVersions, finalized
features) and how many bytes a partition holds (DescribeLogDirs). None of them writes.

Authorized operations come from Metadata (per topic), DescribeGroups (per group) and
DescribeCluster (cluster): the
broker evaluates the caller's ACLs itself, so no ACL has to be read or interpreted here.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kproto import ApiKey, messages
from kproto.errors import ErrorCode

from .admin import Admin
from .core import Client
from .errors import KafkaError
from .kafka_errors import raise_for_code
from .types import AclOperation, TopicPartition

#: Kafka's "not asked / not known" value of an authorized-operations bit field
_UNKNOWN_OPS = -2147483648


def _operations(bits: int) -> frozenset[AclOperation] | None:
    if bits == _UNKNOWN_OPS or bits < 0:
        return None
    return frozenset(op for op in AclOperation if bits & (1 << int(op)))


async def topic_operations(client: Client, topics: Iterable[str]) -> dict[str, frozenset[AclOperation] | None]:
    """Operations the client's principal may do on each topic (None: the broker did not say).
    A topic the principal may not describe is answered TOPIC_AUTHORIZATION_FAILED: an empty set;
    a topic that does not exist is left out."""
    names = sorted(set(topics))
    if not names:
        return {}
    M = messages.MetadataRequest
    response, _ = await client.versioned_request(
        await client.any_node(), ApiKey.METADATA,
        lambda v: M(topics=[M.MetadataRequestTopic(name=n) for n in names], allow_auto_topic_creation=False,
                    include_topic_authorized_operations=True))
    out: dict[str, frozenset[AclOperation] | None] = {}
    for t in response.topics:
        if t.error_code == ErrorCode.TOPIC_AUTHORIZATION_FAILED:
            out[t.name] = frozenset()
        elif not t.error_code:
            out[t.name] = _operations(t.topic_authorized_operations)
    return out


async def cluster_operations(client: Client) -> frozenset[AclOperation] | None:
    """Operations the client's principal may do on the cluster resource (None: not said)."""
    response, _ = await client.versioned_request(
        await client.any_node(), ApiKey.DESCRIBE_CLUSTER,
        lambda v: messages.DescribeClusterRequest(include_cluster_authorized_operations=True))
    raise_for_code(response.error_code, response.error_message, context="DescribeCluster")
    return _operations(response.cluster_authorized_operations)


@dataclass
class BrokerVersions:
    """What one broker answered to ApiVersions."""
    node_id: int
    host: str
    api_versions: dict[int, tuple[int, int]] = field(default_factory=dict)
    finalized_features: dict[str, int] = field(default_factory=dict)

    def max_version(self, api_key: int) -> int | None:
        found = self.api_versions.get(api_key)
        return None if found is None else found[1]


async def broker_versions(client: Client) -> list[BrokerVersions]:
    """ApiVersions of every broker in the metadata (a connection to each is opened)."""
    snapshot = await client.refresh_metadata()
    out = []
    for node in sorted(snapshot.brokers):
        connection = await client.connection(node)
        b = snapshot.brokers[node]
        out.append(BrokerVersions(node, f"{b.host}:{b.port}", dict(connection.api_versions),
                                  dict(connection.finalized_features)))
    return out


async def log_dir_sizes(client: Client, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
    """Bytes on disk of each partition's leader replica (DescribeLogDirs to each leader). Raises
    ``KafkaError`` (CLUSTER_AUTHORIZATION_FAILED) when the principal may not describe the cluster."""
    D = messages.DescribeLogDirsRequest
    grouped = await client.leaders(partitions)
    out: dict[TopicPartition, int] = {}
    for node, tps in grouped.items():
        by_topic: dict[str, list[int]] = {}
        for t, p in tps:
            by_topic.setdefault(t, []).append(p)
        wanted = set(tps)
        response, _ = await client.versioned_request(
            node, ApiKey.DESCRIBE_LOG_DIRS,
            lambda v, by_topic=by_topic: D(topics=[D.DescribableLogDirTopic(topic=t, partitions=ps)
                                                  for t, ps in by_topic.items()]))
        raise_for_code(getattr(response, "error_code", 0), None, context="DescribeLogDirs")
        for result in response.results:
            if result.error_code:
                continue
            for topic in result.topics:
                for p in topic.partitions:
                    tp = (topic.name, p.partition_index)
                    if tp in wanted and not p.is_future_key:
                        out[tp] = max(out.get(tp, 0), p.partition_size)
    return out


async def group_operations(client: Client, groups: Iterable[str]) -> dict[str, frozenset[AclOperation]]:
    """Operations the principal may do on each consumer group (DescribeGroups with
    ``include_authorized_operations``, at each group's coordinator). A group the principal may not
    describe (GROUP_AUTHORIZATION_FAILED, also from FindCoordinator) is an empty set; a group
    that does not exist yet is answered like one that does (the rights are on the name)."""
    admin = Admin(client)
    D = messages.DescribeGroupsRequest
    out: dict[str, frozenset[AclOperation]] = {}
    for group in sorted(set(groups)):
        try:
            node = await admin.find_coordinator(group)
        except KafkaError as exc:
            if exc.code != ErrorCode.GROUP_AUTHORIZATION_FAILED:
                raise
            out[group] = frozenset()
            continue
        response, _ = await client.versioned_request(
            node, ApiKey.DESCRIBE_GROUPS, lambda v, g=group: D(groups=[g], include_authorized_operations=True))
        for g in response.groups:
            if g.error_code == ErrorCode.GROUP_AUTHORIZATION_FAILED:
                out[g.group_id] = frozenset()
            elif not g.error_code:
                ops = _operations(g.authorized_operations)
                if ops is not None:
                    out[g.group_id] = ops
    return out
