"""Per-topic routing's merged Metadata answer and node-id offsets (pure; no brokers)."""
from __future__ import annotations

from kproto import ApiKey, messages
from kproto.errors import ErrorCode
from linker.client.metadata import ClusterSnapshot
from linker.proxy import UpstreamConfig
from linker.proxy.routing import VIRTUAL_NODE_OFFSET, Split, merge_metadata, shift_node_ids

R = messages.MetadataResponse
SRC = UpstreamConfig(name="source", bootstrap="s:9092")
DST = UpstreamConfig(name="destination", bootstrap="d:9092", epoch_shift=1 << 24)


def _answer(brokers: list[int], topics: dict[str, int]) -> object:
    """A Metadata answer: `topics` name -> leader (one partition, epoch 5)."""
    return R(brokers=[R.MetadataResponseBroker(node_id=b, host=f"h{b}", port=9000 + b) for b in brokers],
             controller_id=brokers[0], topics=[R.MetadataResponseTopic(name=n, error_code=0, partitions=[
                 R.MetadataResponsePartition(partition_index=0, leader_id=leader, leader_epoch=5,
                                             replica_nodes=[leader], isr_nodes=[leader])])
                 for n, leader in topics.items()])


def _proxy_address(node: int, host: str, port: int) -> tuple[str, int]:
    return "proxy", 20000 + node % 1000


def test_each_topic_comes_from_the_cluster_serving_it_with_distinct_broker_ids():
    split = Split(SRC, DST, {"moved"})
    dst_view = ClusterSnapshot.from_response(_answer([1, 2], {"moved": 2, "stays": 1, "dest-only": 1}))
    src_answer = _answer([1, 2], {"moved": 1, "stays": 2})
    merge_metadata(src_answer, SRC, split, {"destination": dst_view}, all_topics=True, address_of=_proxy_address)
    ids = sorted(b.node_id for b in src_answer.brokers)
    assert ids == [1, 2, VIRTUAL_NODE_OFFSET + 1, VIRTUAL_NODE_OFFSET + 2]
    by_name = {t.name: t for t in src_answer.topics}
    assert set(by_name) == {"moved", "stays"}          # no topic the client was not shown by its cluster
    moved = by_name["moved"].partitions[0]
    assert moved.leader_id == VIRTUAL_NODE_OFFSET + 2 and moved.isr_nodes == [VIRTUAL_NODE_OFFSET + 2]
    assert moved.leader_epoch == 5 + (1 << 24)        # the destination's epochs, shifted as on its own answers
    assert by_name["stays"].partitions[0].leader_id == 2


def test_an_answer_of_the_destination_shows_the_source_topics_from_the_source():
    split = Split(SRC, DST, {"moved"})
    src_view = ClusterSnapshot.from_response(_answer([1], {"moved": 1, "stays": 1}))
    dst_answer = _answer([7], {"moved": 7, "stays": 7, "unknown": 7})
    assert shift_node_ids(ApiKey.METADATA, 12, dst_answer, split.shift_of(DST))
    merge_metadata(dst_answer, DST, split, {"source": src_view}, all_topics=False, address_of=_proxy_address)
    by_name = {t.name: t for t in dst_answer.topics}
    assert by_name["moved"].partitions[0].leader_id == VIRTUAL_NODE_OFFSET + 7
    assert by_name["stays"].partitions[0].leader_id == 1 and by_name["stays"].partitions[0].leader_epoch == 5
    # named by the client but unknown to the serving cluster's view: retriable
    assert by_name["unknown"].error_code == ErrorCode.LEADER_NOT_AVAILABLE
    assert sorted(b.node_id for b in dst_answer.brokers) == [1, VIRTUAL_NODE_OFFSET + 7]


def test_find_coordinator_on_the_wrong_cluster_is_answered_from_the_right_one():
    import kproto
    from linker.proxy.filters_chain import Answer, GroupRouteFilter, RequestContext

    class _Server:
        split = Split(SRC, DST, {"moved"}, {"moved-group"})
        looked_up: list[tuple[str, str]] = []

        def coordinator_seen(self, cluster, key, key_type=0):
            self.looked_up.append((cluster.name, key))
            return VIRTUAL_NODE_OFFSET + 3 if key == "moved-group" else None

        def broker_address(self, node):
            return ("d3", 9093)

        def address_of(self, node, host, port):
            return "proxy", 30000

    server, f = _Server(), GroupRouteFilter()
    F = messages.FindCoordinatorRequest
    for version in range(0, 7):
        body = F(key="moved-group", key_type=0) if version <= 3 else F(key_type=0, coordinator_keys=["moved-group",
                                                                                                      "stays"])
        answer = f.on_request(server, RequestContext(ApiKey.FIND_COORDINATOR, version, 1, None, body, "t", SRC))
        assert isinstance(answer, Answer)
        kproto.encode_response(answer.body, version, 1)
        if version <= 3:
            assert (answer.body.node_id, answer.body.port) == (VIRTUAL_NODE_OFFSET + 3, 30000)
        else:
            got = {c.key: (c.error_code, c.node_id) for c in answer.body.coordinators}
            assert got == {"moved-group": (0, VIRTUAL_NODE_OFFSET + 3),
                           "stays": (ErrorCode.COORDINATOR_NOT_AVAILABLE, -1)}   # looked up; the client retries
    # on the cluster that coordinates the group: forwarded
    body = F(key="moved-group", key_type=0)
    assert f.on_request(server, RequestContext(ApiKey.FIND_COORDINATOR, 3, 1, None, body, "t", DST)) is None
    H = messages.HeartbeatRequest
    wrong = f.on_request(server, RequestContext(ApiKey.HEARTBEAT, 4, 1, None, H(group_id="moved-group"), "t", SRC))
    assert isinstance(wrong, Answer) and wrong.body.error_code == ErrorCode.NOT_COORDINATOR
