"""Request/response headers and whole frames, with the protocol's quirks."""
from __future__ import annotations

import struct

import pytest

import kproto
from kproto import ApiKey, messages


def test_request_header_versions() -> None:
    assert kproto.request_header_version(ApiKey.METADATA, 8) == 1
    assert kproto.request_header_version(ApiKey.METADATA, 9) == 2
    assert kproto.request_header_version(ApiKey.PRODUCE, 9) == 2
    assert kproto.request_header_version(ApiKey.API_VERSIONS, 3) == 2
    assert kproto.request_header_version(ApiKey.CONTROLLED_SHUTDOWN, 0) == 0
    with pytest.raises(KeyError):
        kproto.request_header_version(9999, 0)


def test_response_header_versions() -> None:
    assert kproto.response_header_version(ApiKey.METADATA, 8) == 0
    assert kproto.response_header_version(ApiKey.METADATA, 9) == 1
    # ApiVersions responses always use header v0, even in flexible versions.
    assert kproto.response_header_version(ApiKey.API_VERSIONS, 3) == 0
    assert kproto.response_header_version(ApiKey.API_VERSIONS, 4) == 0


def test_client_id_stays_a_non_compact_string_in_header_v2() -> None:
    h = kproto.RequestHeader(api_key=18, api_version=3, correlation_id=5, client_id="abc")
    assert h.encode(2) == struct.pack(">hhih", 18, 3, 5, 3) + b"abc" + b"\x00"
    assert h.encode(1) == struct.pack(">hhih", 18, 3, 5, 3) + b"abc"
    assert h.encode(0) == struct.pack(">hhi", 18, 3, 5)
    null = kproto.RequestHeader(api_key=18, api_version=3, correlation_id=5, client_id=None)
    assert null.encode(2) == struct.pack(">hhih", 18, 3, 5, -1) + b"\x00"
    for version, raw in ((2, h.encode(2)), (1, h.encode(1))):
        assert kproto.RequestHeader.decode(raw, version) == (h, len(raw))


def test_header_unknown_tags_are_kept() -> None:
    h = kproto.RequestHeader(api_key=3, api_version=12, correlation_id=1, client_id="c",
                             unknown_tags={7: b"xyz"})
    raw = h.encode(2)
    back, end = kproto.RequestHeader.decode(raw + b"body", 2)
    assert back.unknown_tags == {7: b"xyz"} and end == len(raw)


def test_request_frame_round_trip() -> None:
    req = messages.MetadataRequest(topics=[messages.MetadataRequest.MetadataRequestTopic(name="t")])
    chunks = kproto.encode_request(req, 12, correlation_id=42, client_id="linker")
    raw = b"".join(chunks)
    assert struct.unpack_from(">i", raw)[0] == len(raw) - 4
    header, body = kproto.decode_request(raw[4:])
    assert (header.api_key, header.api_version, header.correlation_id, header.client_id) == (3, 12, 42, "linker")
    assert body == req
    peeked, offset = kproto.peek_request_header(raw[4:])
    assert peeked == header and raw[4 + offset:] == req.encode(12)


def test_peek_works_for_unknown_api_keys() -> None:
    frame = struct.pack(">hhih", 4242, 7, 99, 2) + b"id" + b"opaque body"
    header, offset = kproto.peek_request_header(frame)
    assert (header.api_key, header.api_version, header.correlation_id, header.client_id) == (4242, 7, 99, "id")
    assert frame[offset:] == b"opaque body"
    with pytest.raises(kproto.DecodeError, match="unknown API key"):
        kproto.decode_request(frame)


def test_api_versions_response_uses_header_v0() -> None:
    resp = messages.ApiVersionsResponse(error_code=35, api_keys=[])
    raw = b"".join(kproto.encode_response(resp, 3, correlation_id=7))
    assert raw[4:8] == struct.pack(">i", 7)
    assert raw[8:] == resp.encode(3)  # no tagged-field byte after the correlation id
    assert kproto.peek_correlation_id(raw[4:]) == 7
    corr, body = kproto.decode_response(ApiKey.API_VERSIONS, 3, raw[4:])
    assert corr == 7 and body == resp


def test_flexible_response_header_has_a_tag_section() -> None:
    resp = messages.MetadataResponse(cluster_id="c")
    raw = b"".join(kproto.encode_response(resp, 12, correlation_id=8))
    assert raw[8:9] == b"\x00" and raw[9:] == resp.encode(12)
    assert kproto.decode_response(ApiKey.METADATA, 12, raw[4:]) == (8, resp)
    old = b"".join(kproto.encode_response(resp, 8, correlation_id=8))
    assert old[8:] == resp.encode(8)


def test_wrong_direction_is_refused() -> None:
    with pytest.raises(kproto.EncodeError, match="not a request"):
        kproto.encode_request(messages.MetadataResponse(), 12, 1, None)
    with pytest.raises(kproto.EncodeError, match="not a response"):
        kproto.encode_response(messages.MetadataRequest(), 12, 1)


def test_truncated_headers_raise_decode_error() -> None:
    with pytest.raises(kproto.DecodeError):
        kproto.peek_request_header(b"\x00\x03")
    with pytest.raises(kproto.DecodeError, match="client_id"):
        kproto.peek_request_header(struct.pack(">hhih", 3, 12, 1, 50) + b"short")
    with pytest.raises(kproto.DecodeError):
        kproto.peek_correlation_id(b"\x00")
    with pytest.raises(kproto.DecodeError):
        kproto.decode_response(ApiKey.METADATA, 12, b"\x00\x00\x00\x01")


def test_produce_records_pass_through_uncopied() -> None:
    P = messages.ProduceRequest
    header = b"H" * 61
    payload = memoryview(bytearray(b"P" * 1000))
    req = P(acks=-1, timeout_ms=1000, topic_data=[P.TopicProduceData(
        name="t", partition_data=[P.PartitionProduceData(index=0, records=[header, payload])])])
    chunks = kproto.encode_request(req, 9, correlation_id=1, client_id="c")
    assert any(c is payload for c in chunks) and any(c is header for c in chunks)
    _h, body = kproto.decode_request(b"".join(chunks)[4:])
    assert bytes(body.topic_data[0].partition_data[0].records) == header + bytes(payload)


def test_fetch_response_records_are_views_of_the_input() -> None:
    F = messages.FetchResponse
    resp = F(responses=[F.FetchableTopicResponse(topic="t", partitions=[
        F.PartitionData(partition_index=i, records=bytes([i]) * 300) for i in range(3)])])
    frame = b"".join(kproto.encode_response(resp, 12, correlation_id=3))[4:]
    _corr, body = kproto.decode_response(ApiKey.FETCH, 12, frame)
    for i, part in enumerate(body.responses[0].partitions):
        assert isinstance(part.records, memoryview) and part.records.obj is frame
        assert part.records == bytes([i]) * 300
