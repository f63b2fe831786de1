"""Zigzag varints: edge values, round trips, bounds, and agreement with construct."""

from __future__ import annotations

import construct as cs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kproto.records import CorruptRecordError
from kproto.records.varint import (
    encode_varint,
    encode_varlong,
    read_varint,
    read_varlong,
    varint_size,
)

INT32_EDGES = [0, 1, -1, 63, -64, 64, -65, 8191, -8192, 8192, 2**20, -(2**20), 2**31 - 1, -(2**31)]
INT64_EDGES = INT32_EDGES + [2**31, -(2**31) - 1, 2**62, -(2**62), 2**63 - 1, -(2**63)]


@pytest.mark.parametrize("value", INT32_EDGES)
def test_varint_edges_round_trip(value):
    encoded = encode_varint(value)
    assert read_varint(encoded + b"\xff", 0) == (value, len(encoded))
    assert len(encoded) == varint_size(value) <= 5


@pytest.mark.parametrize("value", INT64_EDGES)
def test_varlong_edges_round_trip(value):
    encoded = encode_varlong(value)
    assert read_varlong(b"\x00" + encoded, 1) == (value, 1 + len(encoded))
    assert len(encoded) == varint_size(value) <= 10


def test_known_encodings():
    # from the Kafka protocol guide's zigzag table
    assert encode_varint(0) == b"\x00"
    assert encode_varint(-1) == b"\x01"
    assert encode_varint(1) == b"\x02"
    assert encode_varint(-64) == b"\x7f"
    assert encode_varint(64) == b"\x80\x01"
    assert encode_varint(2**31 - 1) == b"\xfe\xff\xff\xff\x0f"
    assert encode_varint(-(2**31)) == b"\xff\xff\xff\xff\x0f"


@given(st.integers(-(2**31), 2**31 - 1))
def test_varint_round_trip_and_matches_construct(value):
    encoded = encode_varint(value)
    assert read_varint(encoded, 0) == (value, len(encoded))
    assert cs.VarInt.build(((value << 1) ^ (value >> 31)) & 0xFFFFFFFF) == encoded


@given(st.integers(-(2**63), 2**63 - 1))
def test_varlong_round_trip(value):
    encoded = encode_varlong(value)
    assert read_varlong(encoded, 0) == (value, len(encoded))


def test_out_of_range_values_are_refused_by_name():
    with pytest.raises(CorruptRecordError, match="outside int32"):
        encode_varint(2**31)
    with pytest.raises(CorruptRecordError, match="outside int64"):
        encode_varlong(-(2**63) - 1)


def test_overlong_and_overflowing_encodings_are_refused():
    with pytest.raises(CorruptRecordError, match="longer than 5 bytes"):
        read_varint(b"\x80\x80\x80\x80\x80\x01", 0)
    with pytest.raises(CorruptRecordError, match="does not fit 32 bits"):
        read_varint(b"\xff\xff\xff\xff\x1f", 0)
    with pytest.raises(CorruptRecordError, match="longer than 10 bytes"):
        read_varlong(b"\x80" * 10 + b"\x01", 0)
    with pytest.raises(CorruptRecordError, match="does not fit 64 bits"):
        read_varlong(b"\xff" * 9 + b"\x7f", 0)


def test_truncated_varint_raises_index_error_for_the_caller_to_wrap():
    with pytest.raises(IndexError):
        read_varint(b"\x80\x80", 0)
