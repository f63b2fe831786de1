"""Control records: the transaction markers (and the KRaft types, by name).

A control record's key is ``version:int16, type:int16``. For COMMIT and ABORT
the value is ``version:int16`` followed by EndTxnMarker v0
(``coordinatorEpoch:int32``).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from kproto.records.errors import CorruptRecordError
from kproto.records.record import Record

_KEY = struct.Struct(">hh")
_END_TXN_VALUE = struct.Struct(">hi")
CURRENT_KEY_VERSION = 0
CURRENT_END_TXN_VERSION = 0


class ControlType(enum.IntEnum):
    """Control record types Kafka defines (ControlRecordType)."""

    ABORT = 0
    COMMIT = 1
    LEADER_CHANGE = 2
    SNAPSHOT_HEADER = 3
    SNAPSHOT_FOOTER = 4
    KRAFT_VERSION = 5
    KRAFT_VOTERS = 6


@dataclass(frozen=True, slots=True)
class ControlRecord:
    """A decoded control record; ``coordinator_epoch`` is set for markers."""

    type: ControlType | int
    key_version: int
    coordinator_epoch: int | None = None
    value_version: int | None = None

    @property
    def is_commit(self) -> bool:
        return self.type == ControlType.COMMIT

    @property
    def is_abort(self) -> bool:
        return self.type == ControlType.ABORT


def parse_control_record(record: Record) -> ControlRecord:
    """Read a control record's key (and marker value for COMMIT/ABORT)."""
    key = record.key
    if key is None or len(key) < _KEY.size:
        raise CorruptRecordError(f"control record at offset {record.offset} has a key of {_len(key)} bytes, needs 4")
    key_version, raw_type = _KEY.unpack_from(key)
    try:
        ctype: ControlType | int = ControlType(raw_type)
    except ValueError:
        ctype = raw_type
    if ctype not in (ControlType.ABORT, ControlType.COMMIT):
        return ControlRecord(ctype, key_version)
    value = record.value
    if value is None or len(value) < _END_TXN_VALUE.size:
        raise CorruptRecordError(
            f"transaction marker at offset {record.offset} has a value of {_len(value)} bytes, needs 6"
        )
    value_version, epoch = _END_TXN_VALUE.unpack_from(value)
    return ControlRecord(ctype, key_version, epoch, value_version)


def marker_key(ctype: ControlType | int, version: int = CURRENT_KEY_VERSION) -> bytes:
    """The key of a control record of type ``ctype``."""
    return _KEY.pack(version, int(ctype))


def marker_value(coordinator_epoch: int, version: int = CURRENT_END_TXN_VERSION) -> bytes:
    """The value of a COMMIT/ABORT marker."""
    return _END_TXN_VALUE.pack(version, coordinator_epoch)


def _len(data: bytes | None) -> str:
    return "null" if data is None else str(len(data))
