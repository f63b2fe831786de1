"""Record decoding for every codec and framing, laziness, and kafka-python as a reader oracle."""

from __future__ import annotations

import os
import random

import cramjam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka import codec as kafka_codec
from kafka.record import MemoryRecords

from kproto.records import (
    BatchView,
    Codec,
    CompressionError,
    CorruptBatchError,
    CorruptRecordError,
    NewRecord,
    TimestampType,
    build_batch,
    compress,
    decode_records,
    decompress,
    decompress_chunks,
    iter_records,
)
from kproto.records.codecs import CHUNK, XERIAL_MAGIC

CODECS = list(Codec)


def _require_kafka_python_snappy() -> None:
    """kafka-python's snappy codec needs the python-snappy package (a dev extra)."""
    if not kafka_codec.has_snappy():
        pytest.skip("kafka-python's snappy codec needs python-snappy (python-snappy>=0.7 in the dev extras)")


def _sample(n: int, seed: int = 1) -> list[NewRecord]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        key = None if i % 3 == 0 else b"key-%d" % i
        value = None if i % 7 == 6 else bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(0, 60))) + b"v" * 40
        headers = [("trace", b"%d" % i), ("null", None)] if i % 2 else []
        out.append(NewRecord(value, key=key, headers=headers, timestamp=1_700_000_000_000 + i * 3 - (i % 5)))
    return out


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.name)
@pytest.mark.parametrize("level", [None, 1])
def test_round_trip_and_kafka_python_reads_the_same_records(codec, level):
    if codec is Codec.SNAPPY:
        _require_kafka_python_snappy()
    records = _sample(500)
    raw = build_batch(records, codec=codec, level=level if codec not in (Codec.NONE, Codec.SNAPPY) else None,
                      base_offset=1000, producer_id=12, producer_epoch=3, base_sequence=40)
    view = BatchView(raw)
    assert view.codec == codec and view.crc_valid()
    ours = decode_records(view)
    assert [(r.key, r.value, r.headers, r.timestamp) for r in ours] == [
        (r.key, r.value, list(r.headers), r.timestamp) for r in records
    ]
    assert [r.offset for r in ours] == list(range(1000, 1500))
    theirs_batch = MemoryRecords(raw).next_batch()
    assert theirs_batch.validate_crc()
    theirs = [(r.offset, r.timestamp, r.key, r.value, list(r.headers)) for r in theirs_batch]
    assert theirs == [(r.offset, r.timestamp, r.key, r.value, r.headers) for r in ours]


def test_snappy_raw_block_and_xerial_framing_both_decode():
    data = os.urandom(1000) * 100
    xerial = compress(Codec.SNAPPY, data)
    raw = compress(Codec.SNAPPY, data, snappy_framing="raw")
    assert xerial.startswith(XERIAL_MAGIC) and not raw.startswith(XERIAL_MAGIC)
    assert bytes(cramjam.snappy.decompress_raw(raw)) == data
    assert decompress(Codec.SNAPPY, xerial) == decompress(Codec.SNAPPY, raw) == data
    with pytest.raises(CompressionError, match="unknown snappy framing"):
        compress(Codec.SNAPPY, data, snappy_framing="hadoop")


@pytest.mark.parametrize("codec", [Codec.GZIP, Codec.LZ4, Codec.ZSTD, Codec.SNAPPY], ids=lambda c: c.name)
def test_streaming_decompression_is_bounded_per_chunk(codec):
    data = os.urandom(64) * 100_000  # 6.4 MB, compresses well
    chunks = decompress_chunks(codec, compress(codec, data))
    first = next(chunks)
    assert 0 < len(first) <= CHUNK
    assert first + b"".join(chunks) == data


@pytest.mark.parametrize("codec", [Codec.GZIP, Codec.LZ4, Codec.ZSTD, Codec.SNAPPY], ids=lambda c: c.name)
def test_first_record_decodes_without_touching_a_corrupt_far_end(codec):
    records = [NewRecord(os.urandom(16) * 64, timestamp=1) for _ in range(4000)]  # ~4 MB uncompressed
    raw = bytearray(build_batch(records, codec=codec))
    cut = len(raw) - len(raw) // 3
    del raw[cut:]  # lose the last third of the compressed payload
    raw[8:12] = (len(raw) - 12).to_bytes(4, "big")
    lazy = iter_records(BatchView(raw))
    assert next(lazy).value == records[0].value
    with pytest.raises((CompressionError, CorruptRecordError)):
        for _ in lazy:
            pass


def test_log_append_time_batches_report_the_max_timestamp():
    raw = build_batch(_sample(3), timestamp_type=TimestampType.LOG_APPEND_TIME, max_timestamp=99)
    assert {r.timestamp for r in decode_records(BatchView(raw))} == {99}


def test_count_mismatches_are_reported():
    raw = build_batch(_sample(3), record_count=4)
    with pytest.raises(CorruptRecordError, match="ends after 3 of 4 records"):
        decode_records(BatchView(raw))
    raw = build_batch(_sample(3), record_count=2)
    with pytest.raises(CorruptRecordError, match="bytes left after its 2 declared records"):
        decode_records(BatchView(raw))


def test_unknown_codec_id_is_named():
    raw = bytearray(build_batch(_sample(1)))
    raw[22] |= 0x07
    with pytest.raises(CorruptBatchError, match="unknown codec id 7"):
        decode_records(BatchView(raw))
    with pytest.raises(CompressionError, match="unknown codec id 5"):
        decompress(5, b"")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.builds(
            NewRecord,
            value=st.one_of(st.none(), st.binary(max_size=300)),
            key=st.one_of(st.none(), st.binary(max_size=30)),
            headers=st.lists(st.tuples(st.text(max_size=10), st.one_of(st.none(), st.binary(max_size=10))), max_size=4),
            timestamp=st.integers(0, 2**50),
            attributes=st.integers(0, 255),
        ),
        max_size=20,
    ),
    st.sampled_from(CODECS),
)
def test_record_encoding_round_trips(records, codec):
    raw = build_batch(records, codec=codec)
    decoded = decode_records(BatchView(raw))
    assert [(r.key, r.value, r.headers, r.timestamp, r.attributes, r.offset_delta) for r in decoded] == [
        (r.key, r.value, list(r.headers), r.timestamp, r.attributes, i) for i, r in enumerate(records)
    ]


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.name)
def test_records_straddling_decompressed_chunks_decode_exactly(codec):
    rnd = random.Random(7)
    records = [
        NewRecord(bytes([i % 251]) * rnd.randrange(0, 3 * CHUNK // 2), key=b"%d" % i, timestamp=10 + i)
        for i in range(120)
    ]
    view = BatchView(build_batch(records, codec=codec, base_offset=5))
    assert sum(len(r.value) for r in records) > 40 * CHUNK
    got = decode_records(view)
    assert [(r.offset, r.key, r.value) for r in got] == [(5 + i, r.key, r.value) for i, r in enumerate(records)]


def test_walk_can_start_inside_a_blob():
    first = build_batch(_sample(2), base_offset=0)
    second = build_batch(_sample(3), base_offset=2)
    from kproto.records import walk_batches

    walk = walk_batches(first + second, position=len(first))
    assert [v.base_offset for v in walk] == [2]
    assert walk.consumed == len(first) + len(second)
    with pytest.raises(CorruptBatchError, match="outside"):
        walk_batches(first, position=len(first) + 1)
