"""Control records: transaction markers with coordinator epoch."""

from __future__ import annotations

import pytest

from kproto.records import (
    BatchView,
    ControlType,
    CorruptRecordError,
    NewRecord,
    Record,
    build_batch,
    build_control_batch,
    decode_records,
    parse_control_record,
)
from kproto.records.control import marker_key


@pytest.mark.parametrize("ctype", [ControlType.COMMIT, ControlType.ABORT])
def test_marker_round_trip(ctype):
    raw = build_control_batch(ctype, coordinator_epoch=17, producer_id=4000, producer_epoch=2, base_offset=55)
    view = BatchView(raw)
    assert view.is_control and view.is_transactional and view.record_count == 1
    (record,) = decode_records(view)
    assert record.key == b"\x00\x00\x00" + bytes([int(ctype)])
    marker = parse_control_record(record)
    assert marker.type is ctype and marker.coordinator_epoch == 17
    assert marker.key_version == 0 and marker.value_version == 0
    assert marker.is_commit == (ctype is ControlType.COMMIT) and marker.is_abort == (ctype is ControlType.ABORT)


def test_kraft_and_unknown_types_are_named_without_a_value():
    rec = decode_records(BatchView(build_batch([NewRecord(b"", key=marker_key(ControlType.LEADER_CHANGE))], control=True)))[0]
    assert parse_control_record(rec).type is ControlType.LEADER_CHANGE
    rec.key = marker_key(42)
    assert parse_control_record(rec).type == 42


def test_malformed_markers_raise_record_errors():
    with pytest.raises(CorruptRecordError, match="key of null bytes"):
        parse_control_record(Record(offset=3, timestamp=0, key=None, value=b""))
    with pytest.raises(CorruptRecordError, match="value of 2 bytes"):
        parse_control_record(Record(offset=3, timestamp=0, key=marker_key(ControlType.COMMIT), value=b"\x00\x00"))
    with pytest.raises(Exception, match="only COMMIT and ABORT"):
        build_control_batch(ControlType.SNAPSHOT_HEADER, coordinator_epoch=0, producer_id=1, producer_epoch=0)
