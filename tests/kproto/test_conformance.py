"""kproto against Apache Kafka's own codec, byte for byte, for every API key and version.

For every request, response, header and data spec in the pinned
kafka-clients jar and every valid version, random messages (RandomMessages,
in Kafka's JsonConverter form) are

1. built by Kafka from that JSON and serialized: kproto must produce the very
   same bytes from the same values, and decode Kafka's bytes to those values;
2. encoded by kproto and read back by Kafka: Kafka must accept them, write
   them back unchanged and print (JsonConverter) the values kproto was given.

Also: unknown tagged fields survive both codecs, kproto's defaults equal
Kafka's default-constructed messages, and the suite's reach equals Kafka's
own list of API versions.

Set KPROTO_CONFORMANCE_CASES for more cases per version (default 40) and
KPROTO_CONFORMANCE_SEED to explore other random messages.
"""
from __future__ import annotations

import base64
import os
import random

import pytest

from kafkabed.javacodec import (
    Answer,
    JavaCodec,
    Kind,
    MessageSpec,
    RandomMessages,
    build_object,
    case_for,
    in_range,
    is_codec_spec,
    message_specs,
    render_object,
    rendered,
    uuid_text,
)

messages = pytest.importorskip("kproto.messages", reason="kproto.messages has not landed yet")

CASES = int(os.environ.get("KPROTO_CONFORMANCE_CASES", "40"))
SEED = os.environ.get("KPROTO_CONFORMANCE_SEED", "0")
SPECS = message_specs()
CODEC_SPECS = sorted((s for s in SPECS.values() if is_codec_spec(s)),
                     key=lambda s: (s.kind, s.api_key if s.api_key is not None else -1, s.name))


def kproto_class(spec: MessageSpec) -> type:
    cls = getattr(messages, spec.name, None)
    assert cls is not None, f"kproto.messages has no class {spec.name}"
    return cls


@pytest.fixture(scope="module")
def java() -> JavaCodec:
    with JavaCodec() as codec:
        yield codec


def test_kproto_has_a_class_for_every_spec_and_version_range() -> None:
    for spec in CODEC_SPECS:
        cls = kproto_class(spec)
        assert cls.VALID_VERSIONS == spec.valid, spec.name
        if spec.api_key is not None:
            assert cls.API_KEY == spec.api_key, spec.name
        flexible_from = spec.flexible[0] if spec.flexible is not None else None
        assert cls.FLEXIBLE_FROM == flexible_from, spec.name


@pytest.mark.parametrize("spec", CODEC_SPECS, ids=lambda s: s.name)
def test_kproto_bytes_equal_kafka_bytes(java: JavaCodec, spec: MessageSpec) -> None:
    cls = kproto_class(spec)
    gen = RandomMessages(random.Random(f"conformance:{SEED}:{spec.name}"))
    values = [(v, gen.message(spec, v)) for v in spec.versions() for _ in range(CASES)]

    # Kafka builds each message from the values; kproto must agree on the bytes.
    kafka = java.run([case_for(spec, v, m, from_json=True) for v, m in values])
    ours: list[bytes] = []
    for (v, m), answer in zip(values, kafka):
        where = f"{spec.name} v{v} values {m}"
        assert answer.ok, f"{where}: Kafka refused the generated values: {answer.error}"
        obj = build_object(cls, cls, spec.fields, v, m)
        data = obj.encode(v)
        assert data == answer.data, f"{where}: kproto encodes\n{data.hex()}\nKafka encodes\n{answer.data.hex()}"
        decoded = cls.decode(answer.data, v)
        assert render_object(decoded, spec.fields, v) == answer.json, f"{where}: kproto decodes Kafka's bytes differently"
        assert decoded.encode(v) == answer.data, f"{where}: decode+encode of Kafka's bytes is not identity"
        ours.append(data)

    # Kafka reads kproto's bytes and writes them back unchanged.
    back = java.run([case_for(spec, v, data) for (v, _), data in zip(values, ours)])
    for (v, m), data, answer in zip(values, ours, back):
        where = f"{spec.name} v{v} values {m}"
        assert answer.ok, f"{where}: Kafka cannot read kproto's bytes {data.hex()}: {answer.error}"
        assert answer.data == data, f"{where}: Kafka rewrote kproto's bytes"
        assert answer.json == rendered(spec.fields, v, m), f"{where}: Kafka reads other values"


FLEXIBLE_SPECS = [s for s in CODEC_SPECS if s.flexible is not None and s.kind != "header"]


@pytest.mark.parametrize("spec", FLEXIBLE_SPECS, ids=lambda s: s.name)
def test_unknown_tagged_fields_survive_both_codecs(java: JavaCodec, spec: MessageSpec) -> None:
    """Tags a version does not know are kept by kproto and by Kafka, in tag order."""
    cls = kproto_class(spec)
    rng = random.Random(f"unknown-tags:{SEED}:{spec.name}")
    gen = RandomMessages(rng, max_items=1)
    cases = []
    for v in spec.versions():
        if not in_range(v, spec.flexible):
            continue
        # Kafka refuses a tag that the struct defines in any other version
        # ("Tag 1 is not valid for version 13"), so use tags it never defines.
        defined = {f.tag for f in spec.fields if f.tag is not None}
        free = [t for t in range(0, 40) if t not in defined]
        m = gen.message(spec, v)
        obj = build_object(cls, cls, spec.fields, v, m)
        obj.unknown_tags = {t: rng.randbytes(rng.choice((0, 1, 5))) for t in rng.sample(free, 3)}
        data = obj.encode(v)
        again = cls.decode(data, v)
        assert again.unknown_tags == obj.unknown_tags, f"{spec.name} v{v}"
        assert again.encode(v) == data
        cases.append((v, m, data))
    answers = java.run([case_for(spec, v, data) for v, _, data in cases])
    for (v, m, data), answer in zip(cases, answers):
        assert answer.ok, f"{spec.name} v{v}: Kafka cannot read {data.hex()}: {answer.error}"
        assert answer.data == data, f"{spec.name} v{v}: Kafka wrote the unknown tags differently"
        assert answer.json == rendered(spec.fields, v, m)


def test_default_messages_equal_kafka_defaults(java: JavaCodec) -> None:
    """kproto's omitted-field defaults are Kafka's: `Cls().encode(v)` == Kafka's `new XxxData()`."""
    targets = [(spec, v) for spec in CODEC_SPECS for v in spec.versions()]
    answers = java.run([case_for(spec, v, b"", default=True) for spec, v in targets])
    wrong = []
    for (spec, v), answer in zip(targets, answers):
        assert answer.ok, f"{spec.name} v{v}: Kafka cannot write its default message: {answer.error}"
        cls = kproto_class(spec)
        ours = cls().encode(v)
        if ours != answer.data:
            wrong.append(f"{spec.name} v{v}: kproto {ours.hex()} Kafka {answer.data.hex()}")
        elif render_object(cls.decode(answer.data, v), spec.fields, v) != answer.json:
            wrong.append(f"{spec.name} v{v}: kproto reads Kafka's default as other values")
    assert not wrong, "\n".join(wrong)


def test_every_api_version_kafka_knows_is_in_the_suite(java: JavaCodec) -> None:
    """The suite's reach, checked against Kafka's ApiMessageType rather than the specs."""
    covered = {(s.name, v) for s in CODEC_SPECS if s.kind != "data" for v in s.versions()}
    expected = set()
    for api in java.apis():
        if "header" in api:
            expected |= {(api["header"], v) for v in range(api["lowest"], api["highest"] + 1)}
        elif not api.get("removed"):
            for cls in (api["requestClass"], api["responseClass"]):
                expected |= {(cls.removesuffix("Data"), v) for v in range(api["lowest"], api["highest"] + 1)}
    assert covered == expected
    assert len(covered) > 500  # 622 in Kafka 4.4.0: a floor against an empty listing


def test_kafka_bytes_decode_with_memoryview_records(java: JavaCodec) -> None:
    """records come back as memoryview slices of the input, per the API contract."""
    spec = SPECS["FetchResponse"]
    cls = kproto_class(spec)
    batch = bytes(range(61)) * 3
    value = {"throttleTimeMs": 0, "errorCode": 0, "sessionId": 1, "responses": [
        {"topicId": uuid_text(bytes(range(16))), "partitions": [
            {"partitionIndex": 0, "errorCode": 0, "highWatermark": 10, "lastStableOffset": 10,
             "logStartOffset": 0, "abortedTransactions": None, "preferredReadReplica": -1,
             "records": base64.b64encode(batch).decode()}]}]}
    answer: Answer = java.from_json(Kind.RESPONSE, 1, 16, value)
    assert answer.ok, answer.error
    decoded = cls.decode(answer.data, 16)
    records = decoded.responses[0].partitions[0].records
    assert isinstance(records, memoryview) and bytes(records) == batch
