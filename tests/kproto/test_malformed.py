"""Malformed bytes and unencodable objects: one error type, naming API, version and field."""
from __future__ import annotations

import uuid

import pytest

import kproto
from kproto import messages

F = messages.FetchResponse
P = messages.ProduceRequest
FR = messages.FetchRequest


def fetch_response() -> F:
    return F(responses=[F.FetchableTopicResponse(topic="t", partitions=[
        F.PartitionData(partition_index=i, records=b"r" * 200) for i in range(2)])])


def test_truncation_names_the_field_path() -> None:
    raw = fetch_response().encode(12)
    with pytest.raises(kproto.DecodeError) as info:
        F.decode(raw[:-60], 12)
    err = info.value
    assert (err.api, err.version, err.path) == ("FetchResponse", 12, "responses[0].partitions[1].records")
    assert "exceeds" in err.reason and "FetchResponse v12" in str(err)


@pytest.mark.parametrize("version", [4, 12, 16])
def test_every_prefix_of_a_valid_encoding_raises_decode_error(version: int) -> None:
    raw = fetch_response().encode(version)
    for end in range(len(raw)):
        with pytest.raises(kproto.DecodeError):
            F.decode(raw[:end], version)


def test_null_in_a_non_nullable_string() -> None:
    raw = bytearray(messages.FindCoordinatorResponse(error_code=0, host="h").encode(3))
    # v3 layout: throttle(4) error(2) message(compact, 1 byte null) node_id(4) host(compact)
    assert raw[11] == 2  # compact length of "h" + 1
    raw[11] = 0
    with pytest.raises(kproto.DecodeError) as info:
        messages.FindCoordinatorResponse.decode(bytes(raw), 3)
    assert info.value.path == "host" and "non-nullable" in info.value.reason


def test_invalid_utf8_is_a_decode_error() -> None:
    raw = bytearray(messages.FindCoordinatorResponse(host="hh").encode(3))
    raw[12:14] = b"\xff\xfe"
    with pytest.raises(kproto.DecodeError) as info:
        messages.FindCoordinatorResponse.decode(bytes(raw), 3)
    assert info.value.path == "host"


def test_tagged_field_size_past_the_end() -> None:
    raw = messages.MetadataResponse().encode(12)
    bad = raw[:-1] + b"\x01\x05\x7f"  # one tagged field, tag 5, 127 bytes announced, none present
    with pytest.raises(kproto.DecodeError) as info:
        messages.MetadataResponse.decode(bad, 12)
    assert info.value.path == "<tagged fields>"


def test_versions_outside_the_spec() -> None:
    with pytest.raises(kproto.DecodeError, match="outside the valid versions"):
        F.decode(b"", 99)
    with pytest.raises(kproto.UnsupportedVersion, match="outside the valid versions"):
        P().encode(2)  # Produce v0-2 were removed in Kafka 4
    with pytest.raises(kproto.UnsupportedVersion):
        messages.ControlledShutdownRequest().encode(0)  # no versions left in 4.x


def test_non_ignorable_field_the_version_lacks() -> None:
    req = FR(topics=[FR.FetchTopic(topic="t", partitions=[FR.FetchPartition(last_fetched_epoch=5)])])
    with pytest.raises(kproto.UnsupportedVersion) as info:
        req.encode(11)
    assert info.value.path == "topics[0].partitions[0].last_fetched_epoch"
    assert len(req.encode(12)) > 0
    with pytest.raises(kproto.UnsupportedVersion, match="replica_id"):
        FR(replica_id=3).encode(15)  # v15 carries it as the tagged ReplicaState instead


def test_ignorable_fields_are_dropped() -> None:
    req = P(acks=1, topic_data=[P.TopicProduceData(name="t", topic_id=uuid.uuid4())])
    back13 = P.decode(req.encode(13), 13)
    assert back13.topic_data[0].name == "" and back13.topic_data[0].topic_id == req.topic_data[0].topic_id
    back12 = P.decode(req.encode(12), 12)
    assert back12.topic_data[0].name == "t" and back12.topic_data[0].topic_id == uuid.UUID(int=0)


@pytest.mark.parametrize("obj,path", [
    (P(acks="x"), "acks"),
    (P(acks=1 << 20), "acks"),
    (P(topic_data=[P.TopicProduceData(name=None)]), "topic_data[0].name"),
    (P(topic_data=[P.TopicProduceData(name=5)]), "topic_data[0].name"),
    (P(topic_data=[P.TopicProduceData(partition_data=[P.PartitionProduceData(records=12)])]),
     "topic_data[0].partition_data[0].records"),
    (P(topic_data=None), "topic_data"),
])
def test_bad_values_name_the_field(obj: P, path: str) -> None:
    with pytest.raises(kproto.EncodeError) as info:
        obj.encode(9)
    assert info.value.path == path and info.value.api == "ProduceRequest" and info.value.version == 9


@pytest.mark.parametrize("version", [8, 9])
def test_strings_longer_than_32767_bytes_are_refused(version: int) -> None:
    # Kafka limits every string, compact or not, to 32767 bytes.
    with pytest.raises(kproto.EncodeError) as info:
        P(transactional_id="x" * 40000).encode(version)
    assert info.value.path == "transactional_id"
    assert P.decode(P(transactional_id="x" * 32767).encode(version), version).transactional_id == "x" * 32767


def test_compact_string_length_above_32767_is_a_decode_error() -> None:
    raw = messages.FindCoordinatorResponse(host="h").encode(3)
    bad = raw[:11] + b"\x81\x80\x02" + b"x" * 32768 + raw[13:]  # uvarint 32769 = length 32768
    with pytest.raises(kproto.DecodeError, match="exceeds 32767") as info:
        messages.FindCoordinatorResponse.decode(bad, 3)
    assert info.value.path == "host"


def test_tags_of_other_versions_are_refused_like_kafka() -> None:
    # FetchRequest tag 1 (ReplicaState) exists from v15 only.
    raw = FR().encode(12)
    bad = raw[:-1] + b"\x01\x01\x0d" + bytes(13)
    with pytest.raises(kproto.DecodeError, match="tag 1 is not valid for version 12"):
        FR.decode(bad, 12)
    assert FR.decode(FR().encode(15)[:-1] + b"\x01\x01\x0d" + bytes(12) + b"\x00", 15).replica_state.replica_id == 0


def test_known_tag_sizes_are_not_enforced_like_kafka() -> None:
    # Kafka reads a known tagged field from where it starts, whatever size was declared.
    good = FR(cluster_id="abc").encode(12)
    assert good.endswith(b"\x01\x00\x04\x04abc")
    lying = good[:-5] + b"\x09\x04abc"
    assert FR.decode(lying, 12).cluster_id == "abc"


def test_unknown_tags_survive_decode_and_encode() -> None:
    part = F.PartitionData(partition_index=1, unknown_tags={90: b"future"})
    resp = F(responses=[F.FetchableTopicResponse(topic="t", partitions=[part])], unknown_tags={77: b"\x01\x02"})
    raw = resp.encode(12)
    back = F.decode(raw, 12)
    assert back.unknown_tags == {77: b"\x01\x02"}
    assert back.responses[0].partitions[0].unknown_tags == {90: b"future"}
    assert back.encode(12) == raw


def test_known_and_unknown_tags_are_written_in_tag_order() -> None:
    part = F.PartitionData(current_leader=F.LeaderIdAndEpoch(leader_id=3, leader_epoch=4),
                           unknown_tags={0x7F: b"z", 0: b"never"})
    part.unknown_tags.pop(0)
    raw = F(responses=[F.FetchableTopicResponse(partitions=[part])]).encode(12)
    back = F.decode(raw, 12).responses[0].partitions[0]
    assert back.current_leader == F.LeaderIdAndEpoch(leader_id=3, leader_epoch=4)
    assert back.unknown_tags == {0x7F: b"z"}


def test_wrong_class_for_encode() -> None:
    with pytest.raises(kproto.EncodeError, match="expected"):
        P._codec.encode_parts(F(), 9)


def test_constructor_defaults_follow_the_spec() -> None:
    p = F.PartitionData()
    assert (p.last_stable_offset, p.log_start_offset, p.preferred_read_replica) == (-1, -1, -1)
    assert p.records is None and p.aborted_transactions == [] and p.unknown_tags == {}
    assert p.current_leader == F.LeaderIdAndEpoch(leader_id=-1, leader_epoch=-1)
    assert P().transactional_id is None and P().topic_data == [] and P().topic_data is not P().topic_data
    with pytest.raises(TypeError):
        P(no_such_field=1)


def test_bad_values_are_encode_errors_not_version_errors() -> None:
    with pytest.raises(kproto.EncodeError) as info:
        P(topic_data=None).encode(9)
    assert not isinstance(info.value, kproto.UnsupportedVersion) and "non-nullable" in info.value.reason
    with pytest.raises(kproto.UnsupportedVersion):
        FR(replica_id=3).encode(15)
