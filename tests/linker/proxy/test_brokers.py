"""Brokers that leave, come back or appear upstream are followed by the proxy,
and KIP-951 leader hints in Produce/Fetch responses point at the proxy."""
from __future__ import annotations

import time

import pytest

from kafkabed.ports import free_ports
from kproto import ApiKey, messages
from kproto.records.builder import build_batch
from linker.proxy import PortMapping, ProxyConfig

from conftest import upstream_of
from proxy_rawwire import RawConnection

NOT_LEADER_OR_FOLLOWER = 6


def _metadata(address: str, topics=None):
    with RawConnection(address) as c:
        return c.request(messages.MetadataRequest(topics=topics), 12)


def _brokers(address: str) -> dict[int, int]:
    return {b.node_id: b.port for b in _metadata(address).brokers}


def _wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} not reached in {timeout}s")


def test_broker_restarted_or_joining_is_reflected(cluster3, start_proxy, topic_name):
    ports = dict(zip((1, 2, 3), free_ports(3)))
    cluster3.kill(3)
    try:
        proxy = start_proxy(ProxyConfig(upstream=upstream_of(cluster3), ports=PortMapping(fixed=ports)))
        seen = _wait_for(lambda: (b := _brokers(proxy.bootstrap)) and set(b) == {1, 2} and b,
                         what="metadata without node 3")
        assert seen == {1: ports[1], 2: ports[2]}
    finally:
        cluster3.start_broker(3)
    # node 3 joins: it appears in the rewritten metadata on its mapped port, and that port works
    seen = _wait_for(lambda: (b := _brokers(proxy.bootstrap)) and set(b) == {1, 2, 3} and b,
                     what="metadata with node 3")
    assert seen == ports
    assert {b.node_id for b in _metadata(f"127.0.0.1:{ports[3]}").brokers} == {1, 2, 3}

    # a restart keeps the same address, and clients keep working across it
    from kafka import KafkaProducer
    cluster3.create_topic(topic_name, 3)
    producer = KafkaProducer(bootstrap_servers=proxy.bootstrap, linger_ms=5)
    try:
        assert producer.send(topic_name, b"before").get(30).offset >= 0
        cluster3.restart(2)
        assert _brokers(proxy.bootstrap) == ports
        for i in range(30):
            assert producer.send(topic_name, f"after-{i}".encode()).get(60).offset >= 0
    finally:
        producer.close(10)


@pytest.mark.parametrize("fetch_node_endpoints", [True, False])
def test_kip951_leader_endpoints_point_at_the_proxy(cluster3, start_proxy, topic_name, fetch_node_endpoints):
    """Fetch v16+ is advertised only with fetch_node_endpoints; either way the endpoints of
    Produce v10+ and of a Fetch v16+ a client sends anyway are rewritten."""
    cluster3.create_topic(topic_name, 1, replication_factor=1)  # other brokers are not even replicas
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(cluster3), fetch_node_endpoints=fetch_node_endpoints))
    with RawConnection(proxy.bootstrap) as c:
        versions = {k.api_key: k.max_version for k in c.request(messages.ApiVersionsRequest(
            client_software_name="t", client_software_version="1"), 3).api_keys}
    assert (versions[ApiKey.FETCH] >= 16) == fetch_node_endpoints
    meta = _wait_for(lambda: (m := _metadata(proxy.bootstrap, [messages.MetadataRequest.MetadataRequestTopic(
        name=topic_name)])) and m.topics[0].partitions and m.topics[0].partitions[0].leader_id >= 0 and m,
        what="a leader")
    proxy_ports = {b.node_id: b.port for b in meta.brokers}
    leader = meta.topics[0].partitions[0].leader_id
    follower = next(n for n in proxy_ports if n != leader)
    P = messages.ProduceRequest
    produce = P(acks=-1, timeout_ms=5000, topic_data=[P.TopicProduceData(name=topic_name, partition_data=[
        P.PartitionProduceData(index=0, records=build_batch([b"x"]))])])
    F = messages.FetchRequest
    fetch = F(replica_id=-1, max_wait_ms=0, min_bytes=0, max_bytes=1 << 20, session_epoch=-1, topics=[
        F.FetchTopic(topic_id=meta.topics[0].topic_id, partitions=[
            F.FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=1 << 20)])])
    with RawConnection(f"127.0.0.1:{proxy_ports[follower]}") as c:
        produced = c.request(produce, 12)
        fetched = c.request(fetch, 17)
    part = produced.responses[0].partition_responses[0]
    assert part.error_code == NOT_LEADER_OR_FOLLOWER
    assert part.current_leader.leader_id == leader
    assert [(e.node_id, e.host, e.port) for e in produced.node_endpoints] == [
        (leader, "127.0.0.1", proxy_ports[leader])]
    fpart = fetched.responses[0].partitions[0]
    assert fpart.error_code == NOT_LEADER_OR_FOLLOWER and fpart.current_leader.leader_id == leader
    assert [(e.node_id, e.port) for e in fetched.node_endpoints] == [(leader, proxy_ports[leader])]
