"""Build v2 batches: for tests, gap fillers and benchmarks.

Everything the header holds can be set explicitly (offsets, deltas,
timestamps, producer fields, attributes), so tests can build the odd batches
brokers produce (compaction holes, empty batches, control batches).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kproto.records.codecs import compress
from kproto.records.control import ControlType, marker_key, marker_value
from kproto.records.crc import crc32c
from kproto.records.errors import RecordError
from kproto.records.layout import (
    ATTRIBUTES_POS,
    CODEC_MASK,
    CONTROL_BIT,
    CRC,
    CRC_POS,
    DELETE_HORIZON_BIT,
    HEADER,
    HEADER_SIZE,
    LOG_OVERHEAD,
    NO_PARTITION_LEADER_EPOCH,
    NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
    NO_SEQUENCE,
    TIMESTAMP_TYPE_BIT,
    TRANSACTIONAL_BIT,
    Codec,
    TimestampType,
)
from kproto.records.record import Header, encode_record


@dataclass(slots=True)
class NewRecord:
    """A record to put in a batch.

    ``timestamp`` is absolute (ms); None means the batch's base timestamp.
    ``offset_delta`` None means the record's index in the batch.
    """

    value: bytes | None
    key: bytes | None = None
    headers: Sequence[Header] = ()
    timestamp: int | None = None
    offset_delta: int | None = None
    attributes: int = 0


def build_batch(
    records: Iterable[NewRecord | bytes | None],
    *,
    codec: Codec | int = Codec.NONE,
    level: int | None = None,
    base_offset: int = 0,
    partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
    base_timestamp: int | None = None,
    max_timestamp: int | None = None,
    timestamp_type: TimestampType | int = TimestampType.CREATE_TIME,
    producer_id: int = NO_PRODUCER_ID,
    producer_epoch: int = NO_PRODUCER_EPOCH,
    base_sequence: int = NO_SEQUENCE,
    transactional: bool = False,
    control: bool = False,
    delete_horizon: bool = False,
    last_offset_delta: int | None = None,
    record_count: int | None = None,
    snappy_framing: str = "xerial",
) -> bytes:
    """One complete v2 batch (CRC filled in) holding ``records``.

    Bare ``bytes``/None items are values without key. ``base_timestamp``
    defaults to the first record's timestamp, else the current time;
    ``max_timestamp`` to the largest record timestamp; ``last_offset_delta``
    to the largest offset delta; ``record_count`` to the number of records.
    """
    items = [r if isinstance(r, NewRecord) else NewRecord(r) for r in records]
    codec = Codec(codec)
    if base_timestamp is None:
        first = next((r.timestamp for r in items if r.timestamp is not None), None)
        base_timestamp = first if first is not None else int(time.time() * 1000)
    encoded = []
    largest_ts = None
    largest_delta = -1
    for index, rec in enumerate(items):
        delta = index if rec.offset_delta is None else rec.offset_delta
        ts = base_timestamp if rec.timestamp is None else rec.timestamp
        encoded.append(encode_record(delta, ts - base_timestamp, rec.key, rec.value, list(rec.headers), rec.attributes))
        largest_delta = max(largest_delta, delta)
        largest_ts = ts if largest_ts is None else max(largest_ts, ts)
    if max_timestamp is None:
        max_timestamp = largest_ts if largest_ts is not None else base_timestamp
    if last_offset_delta is None:
        last_offset_delta = max(largest_delta, 0)
    if record_count is None:
        record_count = len(items)
    payload = compress(codec, b"".join(encoded), level, snappy_framing=snappy_framing)
    attributes = int(codec) & CODEC_MASK
    if TimestampType(timestamp_type) is TimestampType.LOG_APPEND_TIME:
        attributes |= TIMESTAMP_TYPE_BIT
    if transactional:
        attributes |= TRANSACTIONAL_BIT
    if control:
        attributes |= CONTROL_BIT
    if delete_horizon:
        attributes |= DELETE_HORIZON_BIT
    batch = bytearray(HEADER_SIZE + len(payload))
    try:
        HEADER.pack_into(
            batch,
            0,
            base_offset,
            len(batch) - LOG_OVERHEAD,
            partition_leader_epoch,
            2,
            0,
            attributes,
            last_offset_delta,
            base_timestamp,
            max_timestamp,
            producer_id,
            producer_epoch,
            base_sequence,
            record_count,
        )
    except Exception as exc:  # struct.error: a field outside its width
        raise RecordError(f"batch header field out of range: {exc}") from None
    batch[HEADER_SIZE:] = payload
    CRC.pack_into(batch, CRC_POS, crc32c(memoryview(batch)[ATTRIBUTES_POS:]))
    return bytes(batch)


def build_control_batch(
    ctype: ControlType,
    *,
    coordinator_epoch: int,
    producer_id: int,
    producer_epoch: int,
    base_offset: int = 0,
    timestamp: int | None = None,
    partition_leader_epoch: int = NO_PARTITION_LEADER_EPOCH,
) -> bytes:
    """A transaction marker batch as a broker writes it (for tests and tools)."""
    if ctype not in (ControlType.COMMIT, ControlType.ABORT):
        raise RecordError(f"only COMMIT and ABORT markers can be built, not {ctype!r}")
    record = NewRecord(marker_value(coordinator_epoch), key=marker_key(ctype), timestamp=timestamp)
    return build_batch(
        [record],
        base_offset=base_offset,
        partition_leader_epoch=partition_leader_epoch,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        transactional=True,
        control=True,
    )
