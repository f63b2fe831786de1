"""Pure parts of the proxy: address rewriting, version clamping, the write guard, settings."""
from __future__ import annotations

import pytest

from kproto import ApiKey, messages
from linker.proxy import MirrorTopics, PortMapping, ProxyConfig, Refusal, UpstreamConfig
from linker.proxy.guard import guard_request
from linker.proxy.rewrite import clamp_api_versions, needs_decode, rewrite_response

PROXY_PORTS = {1: 9001, 2: 9002, 3: 9003}


def address_of(node: int, host: str, port: int) -> tuple[str, int]:
    assert host == f"b{node}" or host.startswith("c")
    return "proxy.local", PROXY_PORTS[node]


def _roundtrip(body, version):
    """Encode and decode again, as the session does, to prove the rewritten message is valid."""
    return type(body).decode(b"".join(bytes(c) for c in body.encode_chunks(version)), version)


def test_needs_decode_only_where_addresses_can_appear():
    assert needs_decode(ApiKey.METADATA, 0) and needs_decode(ApiKey.FIND_COORDINATOR, 6)
    assert needs_decode(ApiKey.PRODUCE, 10) and not needs_decode(ApiKey.PRODUCE, 9)
    assert needs_decode(ApiKey.FETCH, 16) and not needs_decode(ApiKey.FETCH, 15)
    assert not needs_decode(ApiKey.LIST_OFFSETS, 9) and not needs_decode(ApiKey.OFFSET_COMMIT, 9)
    assert not needs_decode(30000, 0)


def test_metadata_and_describe_cluster_brokers_are_rewritten():
    M = messages.MetadataResponse
    body = M(brokers=[M.MetadataResponseBroker(node_id=n, host=f"b{n}", port=100 + n) for n in (1, 2)])
    assert rewrite_response(ApiKey.METADATA, 12, body, address_of)
    assert [(b.node_id, b.host, b.port) for b in _roundtrip(body, 12).brokers] == [
        (1, "proxy.local", 9001), (2, "proxy.local", 9002)]
    D = messages.DescribeClusterResponse
    body = D(cluster_id="c", brokers=[D.DescribeClusterBroker(broker_id=3, host="b3", port=103)])
    assert rewrite_response(ApiKey.DESCRIBE_CLUSTER, 1, body, address_of)
    assert (body.brokers[0].host, body.brokers[0].port) == ("proxy.local", 9003)
    controllers = D(cluster_id="c", endpoint_type=2, brokers=[D.DescribeClusterBroker(broker_id=3, host="c3", port=7)])
    assert not rewrite_response(ApiKey.DESCRIBE_CLUSTER, 1, controllers, address_of)
    assert controllers.brokers[0].host == "c3"


def test_find_coordinator_single_and_list_forms():
    F = messages.FindCoordinatorResponse
    old = F(node_id=2, host="b2", port=102)
    assert rewrite_response(ApiKey.FIND_COORDINATOR, 3, old, address_of)
    assert (old.host, old.port) == ("proxy.local", 9002)
    failed = F(error_code=15, node_id=-1, host="", port=-1)
    assert not rewrite_response(ApiKey.FIND_COORDINATOR, 3, failed, address_of)
    new = F(coordinators=[F.Coordinator(key="g", node_id=1, host="b1", port=101),
                          F.Coordinator(key="h", node_id=-1, host="", port=-1, error_code=15)])
    assert rewrite_response(ApiKey.FIND_COORDINATOR, 6, new, address_of)
    assert [(c.host, c.port) for c in _roundtrip(new, 6).coordinators] == [("proxy.local", 9001), ("", -1)]


@pytest.mark.parametrize("api,version", [(ApiKey.PRODUCE, 12), (ApiKey.FETCH, 17),
                                         (ApiKey.SHARE_FETCH, 1), (ApiKey.SHARE_ACKNOWLEDGE, 1)])
def test_node_endpoints_are_rewritten(api, version):
    cls = messages.by_key(api, False)
    body = cls(node_endpoints=[cls.NodeEndpoint(node_id=3, host="b3", port=103, rack="r")])
    assert rewrite_response(api, version, body, address_of)
    e = _roundtrip(body, version).node_endpoints[0]
    assert (e.node_id, e.host, e.port, e.rack) == (3, "proxy.local", 9003, "r")
    assert not rewrite_response(api, version, cls(), address_of)  # nothing to rewrite: forward raw


def test_api_versions_clamped_to_kproto_and_unknown_keys_kept():
    R = messages.ApiVersionsResponse
    produce_hi = messages.ProduceRequest.VALID_VERSIONS[1]
    body = R(api_keys=[R.ApiVersion(api_key=ApiKey.PRODUCE, min_version=0, max_version=produce_hi + 5),
                       R.ApiVersion(api_key=ApiKey.SASL_HANDSHAKE, min_version=0, max_version=1),
                       R.ApiVersion(api_key=ApiKey.METADATA, min_version=99, max_version=120),
                       R.ApiVersion(api_key=30000, min_version=0, max_version=4)])
    clamp_api_versions(body)
    got = {k.api_key: (k.min_version, k.max_version) for k in body.api_keys}
    assert got == {ApiKey.PRODUCE: (messages.ProduceRequest.VALID_VERSIONS[0], produce_hi),
                   ApiKey.SASL_HANDSHAKE: (1, 1), 30000: (0, 4)}


def _refuse(topic: str):
    return Refusal(44, f"{topic} is a mirror of L") if topic.startswith("m") else None


def test_produce_guard_splits_topics_and_completes_the_response():
    P = messages.ProduceRequest
    req = P(acks=-1, topic_data=[P.TopicProduceData(name=n, partition_data=[
        P.PartitionProduceData(index=i, records=b"") for i in (0, 1)]) for n in ("m1", "ok")])
    g = guard_request(ApiKey.PRODUCE, 9, req, _refuse, lambda _: None)
    assert g is not None and g.refused == ["m1"]
    assert [t.name for t in g.forward.topic_data] == ["ok"]
    R = messages.ProduceResponse
    upstream = R(responses=[R.TopicProduceResponse(name="ok", partition_responses=[
        R.PartitionProduceResponse(index=0, base_offset=5)])])
    done = _roundtrip(g.complete(upstream), 9)
    refused = next(t for t in done.responses if t.name == "m1")
    assert [(p.index, p.error_code, p.error_message) for p in refused.partition_responses] == [
        (0, 44, "m1 is a mirror of L"), (1, 44, "m1 is a mirror of L")]
    assert next(t for t in done.responses if t.name == "ok").partition_responses[0].base_offset == 5
    assert guard_request(ApiKey.PRODUCE, 9, P(topic_data=[P.TopicProduceData(name="ok")]), _refuse,
                         lambda _: None) is None


def test_produce_by_topic_id_unknown_to_the_proxy_is_retriable():
    P = messages.ProduceRequest
    import uuid
    tid = uuid.uuid4()
    req = P(acks=1, topic_data=[P.TopicProduceData(topic_id=tid, partition_data=[P.PartitionProduceData(index=0)])])
    g = guard_request(ApiKey.PRODUCE, 13, req, _refuse, lambda _: None)
    assert g is not None and g.forward is None
    resp = g.complete(None)
    assert resp.responses[0].partition_responses[0].error_code == 100  # UNKNOWN_TOPIC_ID
    known = guard_request(ApiKey.PRODUCE, 13, P(acks=1, topic_data=[P.TopicProduceData(
        topic_id=tid, partition_data=[P.PartitionProduceData(index=0)])]), _refuse, lambda _: "plain")
    assert known is None


def test_admin_guards_only_touch_mirror_topics():
    I = messages.IncrementalAlterConfigsRequest
    req = I(resources=[I.AlterConfigsResource(resource_type=2, resource_name="m1"),
                       I.AlterConfigsResource(resource_type=4, resource_name="m1"),   # a broker named m1
                       I.AlterConfigsResource(resource_type=2, resource_name="ok")])
    g = guard_request(ApiKey.INCREMENTAL_ALTER_CONFIGS, 1, req, _refuse, lambda _: None)
    assert [(r.resource_type, r.resource_name) for r in g.forward.resources] == [(4, "m1"), (2, "ok")]
    T = messages.DeleteTopicsRequest
    g = guard_request(ApiKey.DELETE_TOPICS, 5, T(topic_names=["m1", "m2"]), _refuse, lambda _: None)
    assert g.forward is None
    assert [(r.name, r.error_code) for r in _roundtrip(g.complete(None), 5).responses] == [("m1", 44), ("m2", 44)]


def test_mirror_topics_registry():
    reg = MirrorTopics()
    assert not reg.has_mirrors()
    reg.set_mirror("t", "L")
    assert reg.has_mirrors() and reg.mirror_link("t") == "L"
    reg.promote("t")
    assert reg.mirror_link("t") is None
    with pytest.raises(ValueError, match="link name"):
        reg.set_mirror("t", "")


def test_a_links_selection_is_guarded_before_its_topics_exist():
    """A topic the link selects (named, or matching its patterns) is a mirror before the link
    state knows it: created through the proxy first, it would make the mirror DIVERGED."""
    import re
    reg = MirrorTopics()
    reg.set_selection(lambda t: t == "named" or re.fullmatch(r"orders\..*", t) is not None, ["named"], "L")
    assert reg.has_mirrors()
    assert reg.mirror_link("named") == "L" and reg.mirror_link("orders.eu") == "L"
    assert reg.mirror_link("other") is None
    assert reg.topics() == ["named"]            # patterns cannot be listed
    reg.promote("orders.eu")
    reg.promote("named")
    assert reg.mirror_link("orders.eu") is None and reg.mirror_link("named") is None and reg.topics() == []
    reg.set_mirror("named", "L")                # the state says mirrored again
    assert reg.mirror_link("named") == "L"
    with pytest.raises(ValueError, match="link's name"):
        reg.set_selection(lambda t: True, [], "")


def test_settings_are_checked_with_clear_errors():
    with pytest.raises(ValueError, match="host:port"):
        UpstreamConfig(name="x", bootstrap="nohost")
    with pytest.raises(ValueError, match="max_in_flight"):
        ProxyConfig(upstream=UpstreamConfig(name="x", bootstrap="h:1"), max_in_flight=0)
    assert PortMapping(fixed={1: 9100}, base=9000).port_for(1) == 9100
    assert PortMapping(base=9000).port_for(7) == 9007
    assert PortMapping().port_for(7) == 0
    with pytest.raises(ValueError, match="outside"):
        PortMapping(base=65530).port_for(10)
