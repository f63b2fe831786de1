"""Per-topic routing (issue 17.7): some topics served by the destination, the rest by the source,
behind one bootstrap address (pure: the server keeps the state and the caches).

After a per-topic cutover the proxy is *split*: the source stays the default cluster, the
promoted topics are served by the destination. Clients see one cluster whose brokers are both
clusters' brokers: the source's with their own node ids, the destination's with virtual ids
(`VIRTUAL_NODE_OFFSET` + its id), so ids cannot collide and each broker listener knows which
cluster it leads to. A Metadata answer, whichever cluster gave it, is merged: both clusters'
brokers, and each topic as the cluster that serves it describes it (from the proxy's cached
view of the other cluster).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from kproto import ApiKey, messages
from kproto.errors import ErrorCode

from linker.client.metadata import ClusterSnapshot

from .config import UpstreamConfig

#: Destination broker N is shown as node VIRTUAL_NODE_OFFSET + N. Source ids must stay below it.
VIRTUAL_NODE_OFFSET = 1 << 20


@dataclasses.dataclass
class Split:
    """The source is the default; `promoted` topics are served by `other` (the destination)."""

    default: UpstreamConfig
    other: UpstreamConfig
    promoted: set[str]
    #: consumer groups coordinated by `other` (moved by a cutover); the rest by `default`
    moved_groups: set[str] = dataclasses.field(default_factory=set)

    def serves(self, topic: str) -> UpstreamConfig:
        return self.other if topic in self.promoted else self.default

    def group_cluster(self, group: str) -> UpstreamConfig:
        return self.other if group in self.moved_groups else self.default

    def shift_of(self, cluster: UpstreamConfig) -> int:
        """What is added to `cluster`'s node ids in what clients see."""
        return VIRTUAL_NODE_OFFSET if cluster.name == self.other.name else 0


def shift_node_ids(api_key: int, version: int, body: Any, shift: int) -> bool:
    """Add `shift` to every node id in a decoded response (a destination's, in a split)."""
    if not shift:
        return False

    def up(n: int) -> int:
        return n + shift if n >= 0 else n
    if api_key == ApiKey.METADATA:
        for b in body.brokers:
            b.node_id = up(b.node_id)
        body.controller_id = up(body.controller_id)
        for t in body.topics:
            for p in t.partitions:
                _shift_partition(p, up)
        return True
    if api_key == ApiKey.FIND_COORDINATOR:
        if version <= 3:
            body.node_id = up(body.node_id)
        for c in body.coordinators or ():
            c.node_id = up(c.node_id)
        return True
    if api_key == ApiKey.DESCRIBE_CLUSTER:
        for b in body.brokers:
            b.broker_id = up(b.broker_id)
        body.controller_id = up(body.controller_id)
        return True
    if api_key in (ApiKey.PRODUCE, ApiKey.FETCH, ApiKey.SHARE_FETCH, ApiKey.SHARE_ACKNOWLEDGE):
        changed = False
        for e in getattr(body, "node_endpoints", None) or ():
            e.node_id = up(e.node_id)
            changed = True
        topics = body.responses
        for t in topics:
            for p in getattr(t, "partition_responses", None) or getattr(t, "partitions", None) or ():
                leader = getattr(p, "current_leader", None)
                if leader is not None and leader.leader_id >= 0:
                    leader.leader_id = up(leader.leader_id)
                    changed = True
        return changed
    return False


def _shift_partition(p: Any, up: Callable[[int], int]) -> None:
    p.leader_id = up(p.leader_id)
    p.replica_nodes = [up(n) for n in p.replica_nodes]
    p.isr_nodes = [up(n) for n in p.isr_nodes]
    if getattr(p, "offline_replicas", None):
        p.offline_replicas = [up(n) for n in p.offline_replicas]


def _topic_from(snapshot: ClusterSnapshot, name: str, shift: int, epoch_shift: int, prefix: str = "") -> Any:
    """A Metadata topic entry built from a cached snapshot (ids shifted, epochs raised; the
    cluster's name `prefix + name` shown as `name`: rename.py)."""
    R = messages.MetadataResponse
    info = snapshot.topics.get(name if name.startswith("__") else prefix + name)
    if info is None or info.error_code:
        # not known (yet) to the proxy's view: retriable, the client asks again
        return R.MetadataResponseTopic(name=name, error_code=ErrorCode.LEADER_NOT_AVAILABLE, partitions=[])

    def up(n: int) -> int:
        return n + shift if n >= 0 else n
    parts = []
    for p in sorted(info.partitions.values(), key=lambda p: p.partition):
        epoch = p.leader_epoch + epoch_shift if p.leader_epoch >= 0 else p.leader_epoch
        parts.append(R.MetadataResponsePartition(
            error_code=p.error_code, partition_index=p.partition, leader_id=up(p.leader),
            leader_epoch=epoch, replica_nodes=[up(n) for n in p.replicas], isr_nodes=[up(n) for n in p.isr],
            offline_replicas=[up(n) for n in p.offline]))
    kwargs: dict[str, Any] = {"name": name, "error_code": 0, "is_internal": info.is_internal, "partitions": parts}
    if info.topic_id is not None:
        kwargs["topic_id"] = info.topic_id
    return R.MetadataResponseTopic(**kwargs)


def merge_metadata(body: Any, answered_by: UpstreamConfig, split: Split, views: dict[str, ClusterSnapshot],
                   all_topics: bool, address_of: Callable[[int, str, int], tuple[str, int]]) -> None:
    """Make a Metadata answer (node ids already shifted, addresses rewritten) show both clusters:
    every broker of both, and each topic as the cluster that serves it describes it. `views` are
    the proxy's cached snapshots by cluster name; `all_topics`: the client asked for every topic."""
    R = messages.MetadataResponse
    here = answered_by
    there = split.other if answered_by.name == split.default.name else split.default
    view = views.get(there.name)
    shift = split.shift_of(there)
    if view is not None:
        known = {b.node_id for b in body.brokers}
        for b in view.brokers.values():
            if b.node_id + shift not in known:
                host, port = address_of(b.node_id + shift, b.host, b.port)
                body.brokers.append(R.MetadataResponseBroker(node_id=b.node_id + shift, host=host, port=port,
                                                            rack=b.rack))

    def from_there(name: str) -> Any:
        if view is None:
            return R.MetadataResponseTopic(name=name, error_code=ErrorCode.LEADER_NOT_AVAILABLE, partitions=[])
        return _topic_from(view, name, shift, there.epoch_shift, there.topic_prefix)
    # Each topic the answering cluster listed (the client may see it there), as the cluster that
    # serves it describes it. Topics only the other cluster has are not added: the proxy's view
    # is its own principal's, not the client's (docs/proxy.md, per-topic routing and security).
    topics = []
    for t in body.topics:
        if t.name is None or split.serves(t.name).name == here.name:
            topics.append(t)
        elif not all_topics or (view is not None and there.topic_prefix + t.name in view.topics):
            topics.append(from_there(t.name))
    body.topics = topics
