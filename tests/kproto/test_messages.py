"""The message classes' public surface (docs/kproto-api.md)."""
from __future__ import annotations

import copy
import pickle

import pytest

import kproto
from kproto import ApiKey, messages


def test_api_keys_and_classes() -> None:
    assert ApiKey.PRODUCE == 0 and ApiKey.FETCH == 1 and ApiKey.API_VERSIONS == 18
    assert ApiKey.DESCRIBE_TOPIC_PARTITIONS == 75 and ApiKey.CONSUMER_GROUP_HEARTBEAT == 68
    assert ApiKey.SHARE_FETCH == 78 and ApiKey.GET_TELEMETRY_SUBSCRIPTIONS == 71
    assert len(ApiKey) == len(messages.api_keys()) == 95
    for key in ApiKey:
        req, resp = messages.by_key(key, request=True), messages.by_key(key, request=False)
        assert req.API_KEY == resp.API_KEY == key
        assert req.NAME.endswith("Request") and resp.NAME.endswith("Response")
    assert messages.by_key(0, request=True) is messages.ProduceRequest
    with pytest.raises(KeyError):
        messages.by_key(4242)
    with pytest.raises(AttributeError):
        messages.NoSuchMessage  # noqa: B018


def test_class_attributes() -> None:
    P = messages.ProduceRequest
    assert (P.API_KEY, P.NAME, P.VALID_VERSIONS, P.FLEXIBLE_FROM) == (0, "ProduceRequest", (3, 13), 9)
    assert messages.ControlledShutdownRequest.VALID_VERSIONS is None
    assert messages.ConsumerProtocolAssignment.API_KEY is None
    assert messages.ConsumerProtocolAssignment.FLEXIBLE_FROM is None


def test_nested_structs_and_snake_case_names() -> None:
    P = messages.ProduceRequest
    part = P.PartitionProduceData(index=2, records=b"x")
    topic = P.TopicProduceData(name="t", partition_data=[part])
    req = P(transactional_id="tx", acks=-1, timeout_ms=5, topic_data=[topic])
    assert req.topic_data[0].partition_data[0].index == 2 and req.timeout_ms == 5
    assert type(topic).__qualname__ == "ProduceRequest.TopicProduceData"
    assert "transactional_id='tx'" in repr(req)
    m = messages.MetadataResponse.MetadataResponsePartition()
    assert m.isr_nodes == [] and m.offline_replicas == [] and m.leader_epoch == -1


def test_lazy_struct_defaults_are_independent() -> None:
    F = messages.FetchResponse
    a, b = F.PartitionData(), F.PartitionData()
    a.current_leader.leader_id = 7
    assert b.current_leader.leader_id == -1 and a.current_leader.leader_id == 7
    assert a != b


def test_copy_and_pickle() -> None:
    F = messages.FetchResponse
    x = F(responses=[F.FetchableTopicResponse(topic="a", partitions=[F.PartitionData(records=b"r")])],
          unknown_tags={9: b"z"})
    assert pickle.loads(pickle.dumps(x)) == x
    assert copy.deepcopy(x) == x and copy.copy(x) == x


def test_equality_includes_unknown_tags_and_type() -> None:
    M = messages.MetadataRequest
    assert M() == M() and M() != M(unknown_tags={1: b""}) and M(unknown_tags={}) == M()
    assert M() != messages.MetadataResponse()


def test_decode_rejects_non_buffers() -> None:
    with pytest.raises(TypeError):
        messages.MetadataResponse.decode(5, 12)  # type: ignore[arg-type]
    raw = messages.MetadataResponse(cluster_id="c").encode(12)
    assert messages.MetadataResponse.decode(bytearray(raw), 12).cluster_id == "c"
    assert messages.MetadataResponse.decode(memoryview(raw), 12).cluster_id == "c"


def test_exceptions_share_one_base() -> None:
    for cls in (kproto.DecodeError, kproto.EncodeError, kproto.UnsupportedVersion, kproto.FrameTooLarge):
        assert issubclass(cls, kproto.KprotoError)
