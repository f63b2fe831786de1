"""CRC32C validation/recompute and the produce-ready forwarding helpers."""

from __future__ import annotations

import struct

import crc32c
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kproto.records import (
    ZERO_BASE_OFFSET,
    BatchView,
    Codec,
    CorruptBatchError,
    CrcMismatchError,
    NewRecord,
    build_batch,
    build_control_batch,
    ControlType,
    compute_crc,
    decode_records,
    produce_bytes,
    produce_chunks,
    rewrite_header,
    walk_batches,
    write_crc,
)


def _batch(**kwargs) -> bytes:
    return build_batch([NewRecord(b"value-%d" % i, key=b"k", timestamp=5000 + i) for i in range(4)], **kwargs)


def test_crc_matches_an_independent_crc32c_of_the_covered_region():
    raw = _batch(codec=Codec.GZIP, base_offset=99)
    view = BatchView(raw)
    assert view.crc == crc32c.crc32c(raw[21:]) == view.compute_crc()
    assert view.crc_valid()


@pytest.mark.parametrize("position", [0, 3, 7, 12, 15])
def test_base_offset_and_leader_epoch_lie_outside_the_crc(position):
    raw = bytearray(_batch())
    raw[position] ^= 0x5A
    view = BatchView(raw)
    assert view.crc_valid()


@pytest.mark.parametrize("position", [21, 23, 30, 45, 52, 56, 60, 61, -1])
def test_any_flip_inside_the_covered_region_fails_validation(position):
    raw = bytearray(_batch(codec=Codec.LZ4, base_offset=31))
    raw[position] ^= 0x40
    view = BatchView(raw)
    assert not view.crc_valid()
    with pytest.raises(CrcMismatchError, match="batch at offset 31: stored CRC 0x"):
        view.verify_crc()


def test_write_crc_repairs_a_deliberately_changed_batch():
    raw = bytearray(_batch(producer_id=5, producer_epoch=1, base_sequence=0))
    struct.pack_into(">q", raw, 43, 777)  # producerId
    assert not BatchView(raw).crc_valid()
    new_crc = write_crc(raw)
    view = BatchView(raw)
    assert view.crc_valid() and view.crc == new_crc and view.producer_id == 777
    with pytest.raises(CorruptBatchError, match="shorter than a v2 header"):
        write_crc(bytearray(30))


def test_produce_chunks_zero_the_base_offset_and_copy_nothing_else():
    blob = _batch(base_offset=1000) + _batch(base_offset=1004, codec=Codec.ZSTD)
    views = list(walk_batches(blob))
    second = views[1]
    head, rest = produce_chunks(second)
    assert head is ZERO_BASE_OFFSET and head == bytes(8)
    assert isinstance(rest, memoryview) and rest.obj is blob
    assert len(head) + len(rest) == second.size
    produced = BatchView(head + bytes(rest))
    assert produced.base_offset == 0
    assert produced.crc == second.crc and produced.crc_valid()
    assert bytes(produced.buffer)[8:] == bytes(second.buffer)[8:]
    assert produce_bytes(second) == head + bytes(rest)


def test_rewrite_header_recomputes_crc_over_the_untouched_payload():
    raw = _batch(codec=Codec.SNAPPY, base_offset=50, partition_leader_epoch=3)
    view = BatchView(raw)
    header, payload = rewrite_header(
        view, producer_id=4242, producer_epoch=7, base_sequence=11, transactional=True, partition_leader_epoch=-1
    )
    assert len(header) == 61 and payload.obj is raw
    rebuilt = BatchView(header + bytes(payload))
    assert rebuilt.crc_valid()
    assert (rebuilt.base_offset, rebuilt.producer_id, rebuilt.producer_epoch, rebuilt.base_sequence) == (0, 4242, 7, 11)
    assert rebuilt.is_transactional and rebuilt.partition_leader_epoch == -1
    assert rebuilt.codec == Codec.SNAPPY and rebuilt.record_count == 4
    assert [r.value for r in decode_records(rebuilt)] == [r.value for r in decode_records(view)]
    # leaving everything alone gives back the same CRC
    same, _ = rewrite_header(view)
    assert BatchView(same + bytes(payload)).crc == view.crc


def test_rewrite_refuses_control_batches_and_out_of_range_fields():
    marker = BatchView(build_control_batch(ControlType.COMMIT, coordinator_epoch=1, producer_id=1, producer_epoch=0))
    with pytest.raises(CorruptBatchError, match="control batch"):
        rewrite_header(marker)
    with pytest.raises(CorruptBatchError, match="out-of-range"):
        rewrite_header(BatchView(_batch()), producer_epoch=70000)


def test_compute_crc_on_a_batch_inside_a_larger_buffer():
    blob = _batch() + _batch(codec=Codec.GZIP)
    second = list(walk_batches(blob))[1]
    assert compute_crc(memoryview(blob), second.position) == second.crc


@settings(max_examples=100, deadline=None)
@given(
    codec=st.sampled_from(list(Codec)),
    producer_id=st.integers(-1, 2**63 - 1),
    producer_epoch=st.integers(-1, 2**15 - 1),
    base_sequence=st.integers(-1, 2**31 - 1),
    transactional=st.booleans(),
)
def test_rewrite_header_property(codec, producer_id, producer_epoch, base_sequence, transactional):
    view = BatchView(_batch(codec=codec, base_offset=3, partition_leader_epoch=9))
    header, payload = rewrite_header(
        view, producer_id=producer_id, producer_epoch=producer_epoch, base_sequence=base_sequence,
        transactional=transactional,
    )
    out = BatchView(header + bytes(payload))
    out.verify_crc()
    assert out.header[1:5:2] == view.header[1:5:2]  # batchLength, magic unchanged
    assert (out.producer_id, out.producer_epoch, out.base_sequence) == (producer_id, producer_epoch, base_sequence)
    assert out.is_transactional == transactional and out.codec == codec
    assert (out.partition_leader_epoch, out.record_count, out.max_timestamp) == (9, 4, view.max_timestamp)


@pytest.mark.parametrize("codec", [Codec.GZIP, Codec.LZ4, Codec.ZSTD])
def test_compression_level_is_applied(codec):
    records = [NewRecord(b"%d" % (i * 7919 % 1000) * 30, timestamp=1) for i in range(300)]
    fast = build_batch(records, codec=codec, level=1)
    best = build_batch(records, codec=codec, level={Codec.GZIP: 9, Codec.LZ4: 12, Codec.ZSTD: 19}[codec])
    assert len(best) < len(fast)
    assert [r.value for r in decode_records(BatchView(best))] == [r.value for r in records]
