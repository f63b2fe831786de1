"""Batch views and the walk over records blobs: framing, truncation, legacy."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kproto import exceptions
from kproto.records import (
    HEADER_SIZE,
    BatchHeader,
    BatchView,
    CorruptBatchError,
    LegacyEntry,
    NewRecord,
    build_batch,
    split_batches,
    walk_batches,
)
from kproto.records.layout import HEADER


def _batch(base_offset: int, n: int, size: int = 10) -> bytes:
    return build_batch(
        [NewRecord(bytes([i % 256]) * size, timestamp=1000 + i) for i in range(n)], base_offset=base_offset
    )


def _legacy_message(offset: int, magic: int, value: bytes, attributes: int = 0) -> bytes:
    body = struct.pack(">bb", magic, attributes)
    if magic == 1:
        body += struct.pack(">q", 1234)
    body += struct.pack(">i", -1) + struct.pack(">i", len(value)) + value
    crc = zlib.crc32(body)
    message = struct.pack(">I", crc) + body
    return struct.pack(">qi", offset, len(message)) + message


def test_view_accepts_bytes_bytearray_and_memoryview():
    raw = _batch(42, 3)
    for buffer in (raw, bytearray(raw), memoryview(raw), memoryview(bytearray(raw))):
        view = BatchView(buffer)
        assert (view.base_offset, view.record_count, view.last_offset_delta) == (42, 3, 2)
        assert view.last_offset == 44 and view.next_offset == 45
        assert view.size == len(raw)
        assert bytes(view.buffer) == raw


def test_view_shares_the_buffer_instead_of_copying():
    raw = bytearray(_batch(0, 2))
    view = BatchView(raw)
    payload = view.payload
    raw[-1] ^= 0xFF
    assert payload[-1] == raw[-1]
    assert not view.crc_valid()


def test_view_rejects_short_and_wrong_magic_buffers():
    raw = _batch(0, 1)
    with pytest.raises(CorruptBatchError, match="61 header bytes"):
        BatchView(raw[:60])
    with pytest.raises(CorruptBatchError, match="declares"):
        BatchView(raw[:-1])
    bad = bytearray(raw)
    bad[16] = 1
    with pytest.raises(CorruptBatchError, match="magic 1"):
        BatchView(bad)
    bad = bytearray(raw)
    struct.pack_into(">i", bad, 8, 48)
    with pytest.raises(CorruptBatchError, match="below the minimum"):
        BatchView(bad)
    assert issubclass(CorruptBatchError, exceptions.KprotoError)


def test_walk_yields_views_in_order_and_ends_cleanly():
    blob = b"".join(_batch(10 * i, 4) for i in range(5))
    walk = walk_batches(blob)
    views = list(walk)
    assert [v.base_offset for v in views] == [0, 10, 20, 30, 40]
    assert [v.position for v in views] == [i * len(_batch(0, 4)) for i in range(5)]
    assert walk.consumed == len(blob) and walk.tail == 0 and not walk.truncated
    assert all(v.crc_valid() for v in views)


@pytest.mark.parametrize("cut", [1, 11, 12, 16, 17, 30, 60, 61, 62])
def test_truncated_tail_is_reported_as_consumed_bytes(cut):
    whole = _batch(0, 3) + _batch(3, 3)
    first = len(_batch(0, 3))
    blob = whole[: first + cut]
    walk = walk_batches(blob)
    views = list(walk)
    assert [v.base_offset for v in views] == [0]
    assert walk.consumed == first
    assert walk.tail == cut and walk.truncated


def test_walk_reports_corrupt_length_instead_of_truncation():
    bad = bytearray(_batch(0, 1))
    struct.pack_into(">i", bad, 8, 20)
    with pytest.raises(CorruptBatchError, match="below the minimum"):
        list(walk_batches(bytes(bad)))
    with pytest.raises(CorruptBatchError, match="below the minimum"):
        list(walk_batches(bytes(bad[:30])))


def test_walk_rejects_unknown_magic_with_its_offset():
    bad = bytearray(_batch(77, 1))
    bad[16] = 7
    with pytest.raises(CorruptBatchError, match="invalid magic 7 at offset 77"):
        list(walk_batches(bytes(bad)))


def test_empty_and_none_blobs_yield_nothing():
    for blob in (b"", None):
        walk = walk_batches(blob)
        assert list(walk) == [] and walk.consumed == 0 and not walk.truncated


def test_legacy_message_sets_are_recognised_with_magic_and_offset():
    v0 = _legacy_message(5, 0, b"old")
    v1 = _legacy_message(6, 1, b"older", attributes=1)
    blob = v0 + v1 + _batch(7, 2)
    entries, consumed = split_batches(blob)
    assert consumed == len(blob)
    assert isinstance(entries[0], LegacyEntry) and isinstance(entries[1], LegacyEntry)
    assert (entries[0].magic, entries[0].offset, entries[0].size) == (0, 5, len(v0))
    assert (entries[1].magic, entries[1].offset, entries[1].codec) == (1, 6, 1)
    assert entries[0].crc_valid() and entries[1].crc_valid()
    assert isinstance(entries[2], BatchView) and entries[2].base_offset == 7
    assert "magic=1" in repr(entries[1])


def test_truncated_legacy_message_is_a_tail():
    v1 = _legacy_message(6, 1, b"x" * 100)
    walk = walk_batches(_legacy_message(5, 0, b"a") + v1[:50])
    assert [e.offset for e in walk] == [5]
    assert walk.tail == 50


batch_specs = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 300)), min_size=0, max_size=6)


@settings(max_examples=200, deadline=None)
@given(specs=batch_specs, cut=st.integers(0, 10_000))
def test_walk_over_random_concatenations_and_truncations(specs, cut):
    batches = []
    offset = 0
    for count, size in specs:
        raw = build_batch(
            [NewRecord(b"v" * size, timestamp=1) for _ in range(count)],
            base_offset=offset,
            last_offset_delta=max(count - 1, 0),
        )
        batches.append(raw)
        offset += max(count, 1)
    blob = b"".join(batches)
    cut = min(cut, len(blob))
    walk = walk_batches(blob[:cut])
    got = [bytes(v.buffer) for v in walk]
    # the complete batches within the cut, in order, and nothing else
    expected, pos = [], 0
    for raw in batches:
        if pos + len(raw) > cut:
            break
        expected.append(raw)
        pos += len(raw)
    assert got == expected
    assert walk.consumed == pos
    assert walk.tail == cut - pos


_header_fields = st.tuples(
    st.integers(-(2**63), 2**63 - 1),  # base_offset
    st.integers(-(2**31), 2**31 - 1),  # partition_leader_epoch
    st.integers(0, 2**32 - 1),  # crc
    st.integers(-(2**15), 2**15 - 1),  # attributes
    st.integers(-(2**31), 2**31 - 1),  # last_offset_delta
    st.integers(-(2**63), 2**63 - 1),  # base_timestamp
    st.integers(-(2**63), 2**63 - 1),  # max_timestamp
    st.integers(-(2**63), 2**63 - 1),  # producer_id
    st.integers(-(2**15), 2**15 - 1),  # producer_epoch
    st.integers(-(2**31), 2**31 - 1),  # base_sequence
    st.integers(-(2**31), 2**31 - 1),  # record_count
)


@settings(max_examples=300, deadline=None)
@given(fields=_header_fields, payload=st.binary(max_size=40), lead=st.binary(max_size=9))
def test_named_header_fields_read_what_the_header_holds(fields, payload, lead):
    """Every named field (and ``header``) reads its own wire position, in the view and in the walk."""
    base, epoch, crc, attrs, delta, base_ts, max_ts, pid, pepoch, seq, count = fields
    expected = BatchHeader(base, 49 + len(payload), epoch, 2, crc, attrs, delta, base_ts, max_ts, pid, pepoch, seq, count)
    raw = bytearray(HEADER_SIZE)
    HEADER.pack_into(raw, 0, *expected)
    blob = lead + bytes(raw) + payload
    from_walk = list(walk_batches(blob, len(lead)))
    assert len(from_walk) == 1
    for view in (BatchView(blob, len(lead)), from_walk[0]):
        assert view.header == expected and type(view.header) is BatchHeader
        for name in BatchHeader._fields:
            assert getattr(view, name) == getattr(expected, name), name
        assert view.position == len(lead)
        assert view.size == HEADER_SIZE + len(payload)
        assert view.last_offset == base + delta and view.next_offset == base + delta + 1
        assert view.is_transactional == bool(attrs & 0x10)
        assert view.is_control == bool(attrs & 0x20)
        assert view.has_delete_horizon == bool(attrs & 0x40)
        assert view.timestamp_type == (attrs >> 3) & 1
        assert view.is_idempotent == (pid >= 0)
        assert bytes(view.payload) == payload
        assert bytes(view.crc_covered) == bytes(raw[21:]) + payload
        assert view.buffer.obj is view.payload.obj  # slices of one buffer, nothing copied


def test_named_header_fields_are_read_only():
    view = BatchView(_batch(7, 2))
    for name in (*BatchHeader._fields, "header", "size", "last_offset", "next_offset", "crc_covered"):
        with pytest.raises(AttributeError):
            setattr(view, name, 1)
    assert view.base_offset == 7
