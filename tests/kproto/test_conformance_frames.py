"""Whole frames (size, header, body) from kproto against Kafka's own classes.

Kafka decides each API version's header versions (ApiMessageType's
requestHeaderVersion/responseHeaderVersion, with the ApiVersions and
ControlledShutdown quirks); kproto's frames must use the same and carry
Kafka's exact header bytes in front of Kafka's exact body bytes.
"""
from __future__ import annotations

import random
import struct

import pytest

from kafkabed.javacodec import (
    Case,
    JavaCodec,
    Kind,
    RandomMessages,
    message_specs,
    render_object,
)

kproto = pytest.importorskip("kproto", reason="kproto has not landed yet")
from kproto import messages  # noqa: E402

SPECS = message_specs()
_SIZE = struct.Struct(">i")


@pytest.fixture(scope="module")
def java() -> JavaCodec:
    with JavaCodec() as codec:
        yield codec


@pytest.fixture(scope="module")
def apis(java: JavaCodec) -> list[dict]:
    return [a for a in java.apis() if "apiKey" in a and not a.get("removed")]


def test_header_versions_match_kafka_for_every_api_version(apis: list[dict]) -> None:
    checked = 0
    for api in apis:
        for i, v in enumerate(range(api["lowest"], api["highest"] + 1)):
            key = api["apiKey"]
            assert kproto.request_header_version(key, v) == api["requestHeaderVersions"][i], (api["name"], v)
            assert kproto.response_header_version(key, v) == api["responseHeaderVersions"][i], (api["name"], v)
            checked += 1
    assert checked > 250


def _joined(chunks: list) -> bytes:
    return b"".join(bytes(c) for c in chunks)


def test_frames_equal_kafka_header_plus_kafka_body(java: JavaCodec, apis: list[dict]) -> None:
    rng = random.Random("frames")
    gen = RandomMessages(rng, max_items=2)
    plans = []
    for api in apis:
        for i, v in enumerate(range(api["lowest"], api["highest"] + 1)):
            req_spec = SPECS[api["requestClass"].removesuffix("Data")]
            resp_spec = SPECS[api["responseClass"].removesuffix("Data")]
            correlation = rng.randint(-(1 << 31), (1 << 31) - 1)
            client = rng.choice((None, "", "linker-é", "c" * 40))
            plans.append((api, v, i, req_spec, resp_spec, gen.message(req_spec, v),
                          gen.message(resp_spec, v), correlation, client))
    cases = []
    for api, v, i, _, _, req, resp, corr, client in plans:
        key = api["apiKey"]
        cases += [
            Case(Kind.REQUEST, key, v, req, from_json=True),
            Case(Kind.RESPONSE, key, v, resp, from_json=True),
            Case(Kind.REQUEST_HEADER, 0, api["requestHeaderVersions"][i],
                 {"requestApiKey": key, "requestApiVersion": v, "correlationId": corr, "clientId": client},
                 from_json=True),
            Case(Kind.RESPONSE_HEADER, 0, api["responseHeaderVersions"][i], {"correlationId": corr},
                 from_json=True),
        ]
    answers = java.run(cases)
    for n, (api, v, _, req_spec, resp_spec, _, _, corr, client) in enumerate(plans):
        req_body, resp_body, req_head, resp_head = answers[4 * n: 4 * n + 4]
        where = f"{api['name']} v{v}"
        for a in (req_body, resp_body, req_head, resp_head):
            assert a.ok, f"{where}: {a.error}"

        request = messages.by_key(api["apiKey"], request=True).decode(req_body.data, v)
        frame = _joined(kproto.encode_request(request, v, corr, client))
        expected = req_head.data + req_body.data
        assert frame == _SIZE.pack(len(expected)) + expected, f"{where} request frame"
        header, body = kproto.decode_request(memoryview(frame)[4:])
        assert (header.api_key, header.api_version, header.correlation_id, header.client_id) == (
            api["apiKey"], v, corr, client), where
        assert render_object(body, req_spec.fields, v) == req_body.json, where

        response = messages.by_key(api["apiKey"], request=False).decode(resp_body.data, v)
        frame = _joined(kproto.encode_response(response, v, corr))
        expected = resp_head.data + resp_body.data
        assert frame == _SIZE.pack(len(expected)) + expected, f"{where} response frame"
        got_corr, body = kproto.decode_response(api["apiKey"], v, memoryview(frame)[4:])
        assert got_corr == corr and kproto.peek_correlation_id(memoryview(frame)[4:]) == corr, where
        assert render_object(body, resp_spec.fields, v) == resp_body.json, where
