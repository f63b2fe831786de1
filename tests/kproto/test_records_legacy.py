"""Legacy v0/v1 message sets: recognised by the walk and decoded on request.

kafka-python's legacy builder and reader are the independent oracle.
"""

from __future__ import annotations

import struct

import lz4.frame
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka import codec as kafka_codec
from kafka.record import MemoryRecords
from kafka.record.legacy_records import LegacyRecordBatchBuilder

from kproto.exceptions import KprotoError
from kproto.records import LegacyEntry, iter_legacy_records, walk_batches
from kproto.records.legacy import _lz4_frame_blocks


def _require_kafka_python_snappy() -> None:
    """kafka-python's snappy codec needs the python-snappy package (a dev extra)."""
    if not kafka_codec.has_snappy():
        pytest.skip("kafka-python's snappy codec needs python-snappy (python-snappy>=0.7 in the dev extras)")


def _kafka_python_records(raw: bytes) -> list[tuple]:
    out, records = [], MemoryRecords(raw)
    while (batch := records.next_batch()) is not None:
        out += [(r.offset, -1 if r.timestamp is None else r.timestamp, r.key, r.value) for r in batch]
    return out


def _legacy_set(magic: int, codec: int, wrapper_offset: int = 104, log_append_time: bool = False) -> bytes:
    if codec == 2:
        _require_kafka_python_snappy()
    builder = LegacyRecordBatchBuilder(magic, codec, 1 << 20)
    for i in range(5):
        builder.append(i, 1000 + i if magic else None, b"k%d" % i if i else None, b"v%d" % i * 20)
    raw = bytearray(builder.build())
    if codec:
        struct.pack_into(">q", raw, 0, wrapper_offset)  # the broker-assigned offset of the last inner message
        if log_append_time:
            raw[17] |= 0x08
            struct.pack_into(">q", raw, 18, 777)
            struct.pack_into(">I", raw, 12, __import__("zlib").crc32(bytes(raw[16:])))
    return bytes(raw)


@pytest.mark.parametrize(
    ("magic", "codec"), [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (1, 3)],
    ids=lambda v: str(v),
)
def test_legacy_sets_decode_like_kafka_python(magic, codec):
    raw = _legacy_set(magic, codec)
    entries = list(walk_batches(raw))
    assert all(isinstance(e, LegacyEntry) and e.magic == magic and e.crc_valid() for e in entries)
    ours = [(r.offset, r.timestamp, r.key, r.value) for e in entries for r in e.records()]
    assert ours == _kafka_python_records(raw)
    if codec and magic == 1:
        assert [r[0] for r in ours] == [100, 101, 102, 103, 104]


def test_v1_log_append_time_wrapper_sets_every_timestamp():
    raw = _legacy_set(1, 1, log_append_time=True)
    (entry,) = list(walk_batches(raw))
    assert entry.crc_valid()
    assert {r.timestamp for r in iter_legacy_records(entry)} == {777}


def test_lz4_frames_with_the_v0_broken_header_checksum_decode():
    data = b"legacy lz4 payload " * 500
    frame = bytearray(lz4.frame.compress(data, block_linked=False, content_checksum=False, store_size=False))
    frame[6] ^= 0xFF  # KAFKA-3160: v0 producers wrote a wrong header checksum
    with pytest.raises(RuntimeError):
        lz4.frame.decompress(bytes(frame))
    assert _lz4_frame_blocks(bytes(frame), 0) == data


@pytest.mark.parametrize("magic", [0, 1])
@pytest.mark.parametrize("codec", [1, 2])
def test_shortened_wrappers_raise_kproto_errors(magic, codec):
    raw = bytearray(_legacy_set(magic, codec))
    del raw[-3:]  # lose the end of the compressed value, then fix the framing
    struct.pack_into(">i", raw, 8, len(raw) - 12)
    struct.pack_into(">i", raw, 22 + 8 * magic + 4 - 4, len(raw) - (22 + 8 * magic + 4))
    (entry,) = list(walk_batches(bytes(raw)))
    with pytest.raises(KprotoError):
        list(entry.records())


@settings(max_examples=300, deadline=None)
@given(
    seed=st.sampled_from([(m, c) for m in (0, 1) for c in (0, 1, 2) if c != 2 or kafka_codec.has_snappy()] + [(1, 3)]),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), min_size=1, max_size=4),
)
def test_flipped_legacy_sets_raise_kproto_errors_or_fail_the_crc(seed, flips):
    raw = bytearray(_legacy_set(*seed))
    for pos, mask in flips:
        raw[pos % len(raw)] ^= mask
    try:
        for entry in walk_batches(bytes(raw)):
            valid = entry.crc_valid()
            decoded = list(entry.records())
            assert decoded or not valid
    except KprotoError:
        pass
