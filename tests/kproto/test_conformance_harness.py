"""The Java conformance helper itself: it must agree with Kafka's specs and fail loudly.

These tests check the oracle before kproto is judged by it: random messages
generated from the pinned kafka-clients specs are accepted by Kafka's
JsonConverter, printed back unchanged, and Kafka's bytes survive Kafka's own
read/write. The kproto comparison lives in test_conformance.py.
"""
from __future__ import annotations

import os
import random
import signal

import pytest

from kafkabed.javacodec import (
    Case,
    JavaCodec,
    JavaCodecError,
    Kind,
    MessageSpec,
    RandomMessages,
    case_for,
    is_codec_spec,
    message_specs,
    parse_versions,
    rendered,
)

CASES = int(os.environ.get("KPROTO_HARNESS_CASES", "10"))
SPECS = message_specs()
# Removed APIs (validVersions "none") have nothing to encode; the listing test
# checks that Kafka agrees they are gone.
CODEC_SPECS = sorted((s for s in SPECS.values() if is_codec_spec(s)),
                     key=lambda s: (s.kind, s.api_key if s.api_key is not None else -1, s.name))


@pytest.fixture(scope="module")
def java() -> JavaCodec:
    with JavaCodec() as codec:
        yield codec


def test_helper_knows_exactly_the_apis_of_the_specs(java: JavaCodec) -> None:
    listed = {a["apiKey"]: a for a in java.apis() if "apiKey" in a}
    for spec in SPECS.values():
        if spec.kind not in ("request", "response"):
            continue
        entry = listed.get(spec.api_key)
        assert entry is not None, f"{spec.name}: api key {spec.api_key} unknown to Kafka"
        if spec.valid is None:
            assert entry.get("removed"), f"{spec.name} has no versions but Kafka still has classes"
            continue
        assert (entry["lowest"], entry["highest"]) == spec.valid, spec.name
        assert entry[f"{spec.kind}Class"] == spec.name + "Data"
    spec_keys = {s.api_key for s in SPECS.values() if s.kind == "request"}
    assert set(listed) == spec_keys


@pytest.mark.parametrize("spec", CODEC_SPECS, ids=lambda s: s.name)
def test_kafka_accepts_and_reproduces_random_messages(java: JavaCodec, spec: MessageSpec) -> None:
    versions = list(spec.versions())
    rng = random.Random(f"harness:{spec.name}")
    gen = RandomMessages(rng)
    values = [(v, gen.message(spec, v)) for v in versions for _ in range(CASES)]
    built = java.run([case_for(spec, v, m, from_json=True) for v, m in values])
    for (v, m), answer in zip(values, built):
        assert answer.ok, f"{spec.name} v{v}: Kafka refused {m}: {answer.error}"
        assert answer.json == rendered(spec.fields, v, m), f"{spec.name} v{v}"
    again = java.run([case_for(spec, v, a.data) for (v, _), a in zip(values, built)])
    for (v, _), first, second in zip(values, built, again):
        assert second.ok, f"{spec.name} v{v}: Kafka cannot read its own bytes: {second.error}"
        assert second.data == first.data and second.json == first.json, f"{spec.name} v{v}"


def test_trailing_bytes_are_refused_by_name(java: JavaCodec) -> None:
    good = java.from_json(Kind.RESPONSE_HEADER, 0, 0, {"correlationId": 7})
    assert good.ok and good.data == b"\x00\x00\x00\x07"
    bad = java.roundtrip(Kind.RESPONSE_HEADER, 0, 0, good.data + b"\x00")
    assert not bad.ok and "1 trailing bytes" in bad.error


def test_data_messages_are_found_by_class_name(java: JavaCodec) -> None:
    (unknown, not_message) = java.run([
        Case(Kind.REQUEST, 0, 0, b"", data_class="NoSuchMessage"),
        Case(Kind.REQUEST, 0, 0, b"", data_class="ApiMessageType")])
    assert not unknown.ok and "no message class NoSuchMessage" in unknown.error
    assert not not_message.ok and "not a Kafka message class" in not_message.error


def test_unknown_api_and_version_are_named(java: JavaCodec) -> None:
    unknown = java.roundtrip(Kind.REQUEST, 999, 0, b"")
    assert not unknown.ok and "unknown api key 999" in unknown.error
    too_new = java.roundtrip(Kind.REQUEST, 18, 99, b"")
    assert not too_new.ok and "version out of range" in too_new.error


def test_truncated_input_is_an_answer_not_a_crash(java: JavaCodec) -> None:
    full = java.from_json(Kind.REQUEST_HEADER, 0, 2, {
        "requestApiKey": 3, "requestApiVersion": 12, "correlationId": 1, "clientId": "abc"})
    assert full.ok
    cut = java.roundtrip(Kind.REQUEST_HEADER, 0, 2, full.data[:-2])
    assert not cut.ok and cut.error
    assert java.roundtrip(Kind.REQUEST_HEADER, 0, 2, full.data).data == full.data


def test_a_dead_helper_fails_loudly_and_close_reaps_it() -> None:
    codec = JavaCodec()
    pid = codec.pid
    assert codec.roundtrip(Kind.RESPONSE_HEADER, 0, 0, b"\x00\x00\x00\x01").ok
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(JavaCodecError, match="exit|answering"):
        for _ in range(3):  # the first write may still land in the pipe buffer
            codec.roundtrip(Kind.RESPONSE_HEADER, 0, 0, b"\x00\x00\x00\x01")
    codec.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_close_stops_the_helper() -> None:
    codec = JavaCodec()
    pid = codec.pid
    codec.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.parametrize("text,expected", [
    ("0+", (0, 0x7FFF)), ("3-7", (3, 7)), ("5", (5, 5)), ("none", None)])
def test_version_ranges_parse(text: str, expected: tuple[int, int] | None) -> None:
    assert parse_versions(text) == expected


def test_bad_version_range_is_named() -> None:
    with pytest.raises(ValueError, match="'x\\+'"):
        parse_versions("x+")
