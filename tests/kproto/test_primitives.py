"""Wire primitives: varints at every edge, (compact) strings and bytes, UUIDs."""
from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kproto import primitives as p
from kproto.primitives import Malformed

UVARINT_EDGES = [0, 1, 127, 128, 16383, 16384, 2**21 - 1, 2**21, 2**28 - 1, 2**28, 2**31 - 1, 2**31, 2**32 - 1]
VARINT_EDGES = [0, 1, -1, 63, -64, 64, -65, 8191, -8192, 2**31 - 1, -(2**31)]
VARLONG_EDGES = VARINT_EDGES + [2**31, -(2**31) - 1, 2**63 - 1, -(2**63)]


@pytest.mark.parametrize("value", UVARINT_EDGES)
def test_uvarint_edges(value: int) -> None:
    raw = p.write_uvarint(value)
    assert len(raw) == max(1, (value.bit_length() + 6) // 7)
    assert p.read_uvarint(raw, 0) == (value, len(raw))
    assert p.read_uvarint(b"\x00" + raw + b"\x00", 1) == (value, len(raw) + 1)


@pytest.mark.parametrize("value", VARINT_EDGES)
def test_varint_edges(value: int) -> None:
    raw = p.write_varint(value)
    assert p.read_varint(raw, 0) == (value, len(raw))


@pytest.mark.parametrize("value", VARLONG_EDGES)
def test_varlong_edges(value: int) -> None:
    raw = p.write_varlong(value)
    assert len(raw) <= 10
    assert p.read_varlong(raw, 0) == (value, len(raw))


def test_zigzag_matches_kafka() -> None:
    # Known encodings from the Kafka protocol guide (zig-zag: 0, -1, 1, -2, ...).
    assert [p.write_varint(v) for v in (0, -1, 1, -2, 2)] == [b"\x00", b"\x01", b"\x02", b"\x03", b"\x04"]
    assert p.write_varint(-(2**31)) == b"\xff\xff\xff\xff\x0f"
    assert p.write_uvarint(300) == b"\xac\x02"


def test_overlong_varints_are_refused() -> None:
    with pytest.raises(Malformed, match="longer than 5"):
        p.read_uvarint(b"\x80\x80\x80\x80\x80\x01", 0)
    with pytest.raises(Malformed, match="exceeds 32 bits"):
        p.read_uvarint(b"\xff\xff\xff\xff\x7f", 0)
    with pytest.raises(Malformed, match="longer than 10"):
        p.read_varlong(b"\x80" * 10 + b"\x01", 0)
    with pytest.raises(Malformed, match="past the end"):
        p.read_uvarint(b"\x80\x80", 0)


@pytest.mark.parametrize("value", [-1, 2**32])
def test_uvarint_range_on_write(value: int) -> None:
    with pytest.raises(ValueError):
        p.write_uvarint(value)


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1])
def test_varint_range_on_write(value: int) -> None:
    with pytest.raises(ValueError):
        p.write_varint(value)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_uvarint_round_trip(value: int) -> None:
    assert p.read_uvarint(p.write_uvarint(value), 0)[0] == value


@settings(max_examples=300, deadline=None)
@given(st.integers(-(2**63), 2**63 - 1))
def test_varlong_round_trip(value: int) -> None:
    assert p.read_varlong(p.write_varlong(value), 0)[0] == value


@settings(max_examples=200, deadline=None)
@given(st.none() | st.text(max_size=40))
def test_strings_round_trip(value: str | None) -> None:
    raw = p.write_string(value)
    assert p.read_string(raw, 0) == (value, len(raw))
    raw = p.write_compact_string(value)
    assert p.read_compact_string(raw, 0) == (value, len(raw))


@settings(max_examples=200, deadline=None)
@given(st.none() | st.binary(max_size=300))
def test_bytes_round_trip(value: bytes | None) -> None:
    for write, read in ((p.write_bytes, p.read_bytes), (p.write_compact_bytes, p.read_compact_bytes)):
        raw = write(value)
        got, end = read(memoryview(raw), 0)
        assert end == len(raw)
        assert (None if got is None else bytes(got)) == value


def test_lengths_past_the_end_are_refused() -> None:
    with pytest.raises(Malformed, match="exceeds"):
        p.read_string(b"\x00\x05abc", 0)
    with pytest.raises(Malformed, match="exceeds"):
        p.read_compact_bytes(b"\x7fabc", 0)
    with pytest.raises(Malformed, match="negative"):
        p.read_bytes(b"\xff\xff\xff\xfe", 0)


@given(st.uuids())
def test_uuid_round_trip(value: uuid.UUID) -> None:
    assert p.read_uuid(p.write_uuid(value), 0) == (value, 16)
