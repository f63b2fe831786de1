"""The hand-written views against an independent declarative layout in construct."""

from __future__ import annotations

import construct as cs
from hypothesis import given, settings
from hypothesis import strategies as st

from kproto.records import BatchView, Codec, NewRecord, build_batch, decode_records

# The v2 batch and record layout, written from the Kafka protocol docs.
ZigZag32 = cs.ExprAdapter(
    cs.VarInt, lambda raw, ctx: (raw >> 1) ^ -(raw & 1), lambda v, ctx: ((v << 1) ^ (v >> 31)) & 0xFFFFFFFF
)
ZigZag64 = cs.ExprAdapter(
    cs.VarInt, lambda raw, ctx: (raw >> 1) ^ -(raw & 1), lambda v, ctx: ((v << 1) ^ (v >> 63)) & ((1 << 64) - 1)
)
NullableBytes = cs.Struct("length" / ZigZag32, "data" / cs.If(cs.this.length >= 0, cs.Bytes(cs.this.length)))
RecordHeaderC = cs.Struct("key_length" / ZigZag32, "key" / cs.Bytes(cs.this.key_length), "value" / NullableBytes)
RecordC = cs.Struct(
    "length" / ZigZag32,
    "attributes" / cs.Int8sb,
    "timestamp_delta" / ZigZag64,
    "offset_delta" / ZigZag32,
    "key" / NullableBytes,
    "value" / NullableBytes,
    "header_count" / ZigZag32,
    "headers" / cs.Array(cs.this.header_count, RecordHeaderC),
)
BatchC = cs.Struct(
    "base_offset" / cs.Int64sb,
    "batch_length" / cs.Int32sb,
    "partition_leader_epoch" / cs.Int32sb,
    "magic" / cs.Int8sb,
    "crc" / cs.Int32ub,
    "attributes" / cs.BitStruct(
        "unused" / cs.BitsInteger(9),
        "delete_horizon" / cs.Flag,
        "control" / cs.Flag,
        "transactional" / cs.Flag,
        "timestamp_type" / cs.Flag,
        "codec" / cs.BitsInteger(3),
    ),
    "last_offset_delta" / cs.Int32sb,
    "base_timestamp" / cs.Int64sb,
    "max_timestamp" / cs.Int64sb,
    "producer_id" / cs.Int64sb,
    "producer_epoch" / cs.Int16sb,
    "base_sequence" / cs.Int32sb,
    "record_count" / cs.Int32sb,
    "payload" / cs.Bytes(cs.this.batch_length - 49),
)

int8 = st.integers(-(2**7), 2**7 - 1)
int16 = st.integers(-(2**15), 2**15 - 1)
int32 = st.integers(-(2**31), 2**31 - 1)
int64 = st.integers(-(2**63), 2**63 - 1)
blob = st.one_of(st.none(), st.binary(max_size=40))
records = st.lists(
    st.builds(
        NewRecord,
        value=blob,
        key=blob,
        headers=st.lists(st.tuples(st.text(max_size=8), blob), max_size=3),
        timestamp=st.integers(0, 2**41),
    ),
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(
    records=records,
    base_offset=int64,
    ple=int32,
    producer_id=int64,
    producer_epoch=int16,
    base_sequence=int32,
    transactional=st.booleans(),
    control=st.booleans(),
    delete_horizon=st.booleans(),
    log_append=st.booleans(),
)
def test_view_fields_match_the_declarative_layout(
    records, base_offset, ple, producer_id, producer_epoch, base_sequence, transactional, control, delete_horizon,
    log_append,
):
    raw = build_batch(
        records,
        base_offset=base_offset,
        partition_leader_epoch=ple,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=base_sequence,
        transactional=transactional,
        control=control,
        delete_horizon=delete_horizon,
        timestamp_type=int(log_append),
        base_timestamp=1_700_000_000_000,
    )
    parsed = BatchC.parse(raw)
    view = BatchView(raw)
    assert view.base_offset == parsed.base_offset
    assert view.batch_length == parsed.batch_length == len(raw) - 12
    assert view.partition_leader_epoch == parsed.partition_leader_epoch
    assert view.magic == parsed.magic == 2
    assert view.crc == parsed.crc
    assert view.codec == parsed.attributes.codec == Codec.NONE
    assert int(view.timestamp_type) == int(parsed.attributes.timestamp_type)
    assert view.is_transactional == parsed.attributes.transactional
    assert view.is_control == parsed.attributes.control
    assert view.has_delete_horizon == parsed.attributes.delete_horizon
    assert view.last_offset_delta == parsed.last_offset_delta
    assert view.base_timestamp == parsed.base_timestamp
    assert view.max_timestamp == parsed.max_timestamp
    assert view.producer_id == parsed.producer_id
    assert view.producer_epoch == parsed.producer_epoch
    assert view.base_sequence == parsed.base_sequence
    assert view.record_count == parsed.record_count == len(records)
    assert bytes(view.payload) == parsed.payload

    oracle_records = cs.GreedyRange(RecordC).parse(parsed.payload)
    mine = decode_records(view)
    assert len(oracle_records) == len(mine)
    for theirs, ours in zip(oracle_records, mine):
        assert ours.offset_delta == theirs.offset_delta
        assert ours.timestamp_delta == theirs.timestamp_delta
        assert ours.key == theirs.key.data
        assert ours.value == theirs.value.data
        assert ours.headers == [(h.key.decode(), h.value.data) for h in theirs.headers]
