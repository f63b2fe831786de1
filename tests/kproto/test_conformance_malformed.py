"""Malformed input: kproto and Kafka's own codec on damaged bytes (Hypothesis).

Valid encodings of random messages (every API body, header and data spec)
are damaged (bit flips, truncation, extra bytes, overwritten runs) and given
to both codecs. kproto must

- raise only KprotoError (never crash with another exception);
- refuse everything Kafka refuses;
- when both accept, re-encode to exactly Kafka's bytes;
- when only Kafka accepts, do so for a known, deliberate reason: kproto is
  stricter than Kafka on invalid UTF-8 (Kafka substitutes U+FFFD) and on
  negative lengths other than -1 (Kafka reads any negative length as null).
"""
from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kafkabed.javacodec import (
    JavaCodec,
    MessageSpec,
    RandomMessages,
    build_object,
    case_for,
    is_codec_spec,
    message_specs,
)

kproto = pytest.importorskip("kproto", reason="kproto has not landed yet")
from kproto import KprotoError, messages  # noqa: E402

EXAMPLES = int(os.environ.get("KPROTO_MALFORMED_EXAMPLES", "300"))
SPECS = message_specs()
TARGETS = [(spec, v) for spec in sorted(SPECS.values(), key=lambda s: s.name)
           if is_codec_spec(spec) for v in spec.versions()]
#: Why kproto may refuse what Kafka reads (see the module docstring).
STRICTER_ON = ("UnicodeDecodeError", "negative")

_java: JavaCodec | None = None


@pytest.fixture(scope="module", autouse=True)
def java() -> JavaCodec:
    global _java
    with JavaCodec() as codec:
        _java = codec
        yield codec
    _java = None


def damage(data: bytes, how: str, at: int, value: int) -> bytes:
    out = bytearray(data)
    if not out:
        return bytes([value & 0xFF])
    i = at % len(out)
    if how == "flip":
        out[i] ^= 1 << (value % 8)
    elif how == "truncate":
        del out[i:]
    elif how == "append":
        out.append(value & 0xFF)
    else:  # overwrite a run of up to 4 bytes with one value (lengths, varints)
        for j in range(i, min(len(out), i + 1 + value % 4)):
            out[j] = value & 0xFF
    return bytes(out)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(TARGETS), seed=st.integers(0, 2**32 - 1),
       how=st.sampled_from(("flip", "truncate", "append", "overwrite")),
       at=st.integers(0, 1 << 16), value=st.integers(0, 255))
def test_damaged_bytes_are_refused_or_read_like_kafka(
        target: tuple[MessageSpec, int], seed: int, how: str, at: int, value: int) -> None:
    spec, version = target
    cls = getattr(messages, spec.name)
    value_json = RandomMessages(random.Random(seed), max_items=2).message(spec, version)
    data = damage(build_object(cls, cls, spec.fields, version, value_json).encode(version), how, at, value)

    try:
        ours = cls.decode(data, version)
        error = None
    except KprotoError as exc:  # any other exception fails the test as a crash
        ours, error = None, exc
    (kafka,) = _java.run([case_for(spec, version, data)])  # type: ignore[union-attr]
    where = f"{spec.name} v{version} bytes {data.hex()}"
    if not kafka.ok:
        assert error is not None, f"{where}: kproto accepts what Kafka refuses ({kafka.error.splitlines()[0]})"
    elif error is None:
        assert ours.encode(version) == kafka.data, f"{where}: both accept, encodings differ"
    else:
        assert any(word in str(error) for word in STRICTER_ON), (
            f"{where}: Kafka accepts, kproto refuses for an unlisted reason: {error}")
