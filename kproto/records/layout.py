"""Byte layout of a RecordBatch v2 (magic 2) and of the legacy framing.

One place for the offsets and bit masks so the view, the walker, the CRC code
and the builder cannot drift apart.
"""

from __future__ import annotations

import enum
import struct
from typing import NamedTuple

#: The whole 61-byte v2 header in one precompiled unpack:
#: baseOffset, batchLength, partitionLeaderEpoch, magic, crc, attributes,
#: lastOffsetDelta, baseTimestamp, maxTimestamp, producerId, producerEpoch,
#: baseSequence, recordCount.
HEADER = struct.Struct(">qiibIhiqqqhii")
HEADER_SIZE = HEADER.size  # 61


class BatchHeader(NamedTuple):
    """``HEADER``'s 13 fields by name, in wire order.

    ``HEADER.pack_into(buf, 0, *header._replace(producer_id=...))`` writes a
    changed copy.
    """

    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    record_count: int


#: Where each field sits in ``HEADER.unpack_from``'s plain tuple, for the two
#: modules that unpack it themselves (the view and the walk); everyone else
#: reads ``BatchView``'s named properties.
(
    IX_BASE_OFFSET,
    IX_BATCH_LENGTH,
    IX_PARTITION_LEADER_EPOCH,
    IX_MAGIC,
    IX_CRC,
    IX_ATTRIBUTES,
    IX_LAST_OFFSET_DELTA,
    IX_BASE_TIMESTAMP,
    IX_MAX_TIMESTAMP,
    IX_PRODUCER_ID,
    IX_PRODUCER_EPOCH,
    IX_BASE_SEQUENCE,
    IX_RECORD_COUNT,
) = range(len(BatchHeader._fields))

#: Every batch and legacy message starts with baseOffset(int64) + length(int32).
LOG_OVERHEAD = 12
#: offset, length, skip 4 (partitionLeaderEpoch v2 / crc v0-v1), magic.
PREFIX = struct.Struct(">qi4xb")
PREFIX_SIZE = PREFIX.size  # 17

BASE_OFFSET_POS = 0
BATCH_LENGTH_POS = 8
PARTITION_LEADER_EPOCH_POS = 12
MAGIC_POS = 16
CRC_POS = 17
ATTRIBUTES_POS = 21  # the CRC covers attributes .. end of batch
RECORDS_POS = HEADER_SIZE

#: The smallest batchLength a v2 batch can declare (a header with no records).
MIN_BATCH_LENGTH = HEADER_SIZE - LOG_OVERHEAD  # 49

CRC = struct.Struct(">I")

# attributes bits
CODEC_MASK = 0x07
TIMESTAMP_TYPE_BIT = 0x08
TRANSACTIONAL_BIT = 0x10
CONTROL_BIT = 0x20
DELETE_HORIZON_BIT = 0x40

# legacy (v0/v1) message framing: offset, size, crc, magic, attributes[, timestamp]
LEGACY_V0_MIN_SIZE = 14  # crc4 + magic1 + attributes1 + keylen4 + valuelen4
LEGACY_V1_MIN_SIZE = 22  # + timestamp8
LEGACY_ATTRIBUTES_POS = 17  # offset 8 + size 4 + crc 4 + magic 1
LEGACY_MIN_SIZES = {0: LEGACY_V0_MIN_SIZE, 1: LEGACY_V1_MIN_SIZE}

NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
NO_SEQUENCE = -1
NO_PARTITION_LEADER_EPOCH = -1


class Codec(enum.IntEnum):
    """Compression codec id stored in the low 3 attribute bits."""

    NONE = 0
    GZIP = 1
    SNAPPY = 2
    LZ4 = 3
    ZSTD = 4


class TimestampType(enum.IntEnum):
    """Attribute bit 3: who set the timestamps."""

    CREATE_TIME = 0
    LOG_APPEND_TIME = 1
