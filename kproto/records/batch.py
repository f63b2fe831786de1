"""Zero-copy views over one RecordBatch v2 or one legacy (v0/v1) message.

A view keeps the caller's buffer, the batch's position in it and the header
tuple from one precompiled unpack. Every header field is a named read-only
property over that tuple (other modules use the names, never the tuple's
positions). No payload byte is copied; ``buffer`` and ``payload`` are
memoryview slices made on demand.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from kproto.records.buffers import Buffer, as_byte_view
from kproto.records.crc import compute_crc, crc32c
from kproto.records.errors import CorruptBatchError, CrcMismatchError
from kproto.records.layout import (
    ATTRIBUTES_POS,
    CODEC_MASK,
    CONTROL_BIT,
    DELETE_HORIZON_BIT,
    HEADER,
    HEADER_SIZE,
    IX_ATTRIBUTES,
    IX_BASE_OFFSET,
    IX_BASE_SEQUENCE,
    IX_BASE_TIMESTAMP,
    IX_BATCH_LENGTH,
    IX_CRC,
    IX_LAST_OFFSET_DELTA,
    IX_MAGIC,
    IX_MAX_TIMESTAMP,
    IX_PARTITION_LEADER_EPOCH,
    IX_PRODUCER_EPOCH,
    IX_PRODUCER_ID,
    IX_RECORD_COUNT,
    LEGACY_ATTRIBUTES_POS,
    LEGACY_MIN_SIZES,
    LOG_OVERHEAD,
    MIN_BATCH_LENGTH,
    PREFIX,
    PREFIX_SIZE,
    TIMESTAMP_TYPE_BIT,
    TRANSACTIONAL_BIT,
    BatchHeader,
    Codec,
    TimestampType,
)

if TYPE_CHECKING:
    from kproto.records.record import Record

class BatchView:
    """One v2 record batch inside a larger buffer.

    Build one with ``BatchView(buffer, position)`` (validates framing) or get
    them from ``walk_batches``. Header fields are read-only properties over
    the header tuple unpacked once (a property over a tuple costs no
    per-batch work in the walk; ``header`` gives all of them as a
    ``BatchHeader``).
    """

    __slots__ = ("_buf", "_pos", "_h")

    _buf: memoryview
    _pos: int
    _h: tuple[int, ...]

    def __init__(self, buffer: Buffer, position: int = 0) -> None:
        mv = as_byte_view(buffer)
        available = len(mv) - position
        if position < 0 or available < HEADER_SIZE:
            raise CorruptBatchError(
                f"a v2 batch needs {HEADER_SIZE} header bytes, only {max(available, 0)} available",
                position=position,
            )
        header = HEADER.unpack_from(mv, position)
        _check_v2_header(BatchHeader._make(header), available, position)
        self._buf = mv
        self._pos = position
        self._h = header

    # --- the 61-byte header, field by field -------------------------------
    @property
    def base_offset(self) -> int:
        return self._h[IX_BASE_OFFSET]

    @property
    def batch_length(self) -> int:
        return self._h[IX_BATCH_LENGTH]

    @property
    def partition_leader_epoch(self) -> int:
        return self._h[IX_PARTITION_LEADER_EPOCH]

    @property
    def magic(self) -> int:
        return self._h[IX_MAGIC]

    @property
    def crc(self) -> int:
        return self._h[IX_CRC]

    @property
    def attributes(self) -> int:
        return self._h[IX_ATTRIBUTES]

    @property
    def last_offset_delta(self) -> int:
        return self._h[IX_LAST_OFFSET_DELTA]

    @property
    def base_timestamp(self) -> int:
        return self._h[IX_BASE_TIMESTAMP]

    @property
    def max_timestamp(self) -> int:
        return self._h[IX_MAX_TIMESTAMP]

    @property
    def producer_id(self) -> int:
        return self._h[IX_PRODUCER_ID]

    @property
    def producer_epoch(self) -> int:
        return self._h[IX_PRODUCER_EPOCH]

    @property
    def base_sequence(self) -> int:
        return self._h[IX_BASE_SEQUENCE]

    @property
    def record_count(self) -> int:
        return self._h[IX_RECORD_COUNT]

    # --- attributes, decoded ------------------------------------------------
    @property
    def codec(self) -> Codec:
        """The compression codec; raises for the ids Kafka never assigned."""
        bits = self._h[IX_ATTRIBUTES] & CODEC_MASK
        try:
            return Codec(bits)
        except ValueError:
            raise CorruptBatchError(
                f"batch at offset {self.base_offset} has unknown codec id {bits}", position=self._pos
            ) from None

    @property
    def timestamp_type(self) -> TimestampType:
        if self._h[IX_ATTRIBUTES] & TIMESTAMP_TYPE_BIT:
            return TimestampType.LOG_APPEND_TIME
        return TimestampType.CREATE_TIME

    @property
    def is_transactional(self) -> bool:
        return bool(self._h[IX_ATTRIBUTES] & TRANSACTIONAL_BIT)

    @property
    def is_control(self) -> bool:
        return bool(self._h[IX_ATTRIBUTES] & CONTROL_BIT)

    @property
    def has_delete_horizon(self) -> bool:
        return bool(self._h[IX_ATTRIBUTES] & DELETE_HORIZON_BIT)

    @property
    def is_idempotent(self) -> bool:
        """The producer id is set (idempotent or transactional producer)."""
        return self._h[IX_PRODUCER_ID] >= 0

    # --- derived positions --------------------------------------------------
    @property
    def header(self) -> BatchHeader:
        """All 13 header fields in wire order, by name."""
        return BatchHeader._make(self._h)

    @property
    def position(self) -> int:
        """Byte position of this batch in the buffer it was read from."""
        return self._pos

    @property
    def size(self) -> int:
        """Total bytes of the batch, batchLength + 12."""
        return self._h[IX_BATCH_LENGTH] + LOG_OVERHEAD

    @property
    def last_offset(self) -> int:
        return self._h[IX_BASE_OFFSET] + self._h[IX_LAST_OFFSET_DELTA]

    @property
    def next_offset(self) -> int:
        """The offset right after this batch (where a fetch continues)."""
        return self._h[IX_BASE_OFFSET] + self._h[IX_LAST_OFFSET_DELTA] + 1

    @property
    def buffer(self) -> memoryview:
        """The whole batch as a memoryview slice (no copy)."""
        return self._buf[self._pos : self._pos + self._h[IX_BATCH_LENGTH] + LOG_OVERHEAD]

    @property
    def payload(self) -> memoryview:
        """The records section after the 61-byte header (possibly compressed)."""
        return self._buf[self._pos + HEADER_SIZE : self._pos + self._h[IX_BATCH_LENGTH] + LOG_OVERHEAD]

    # --- CRC ------------------------------------------------------------------
    def compute_crc(self) -> int:
        """CRC32C of the covered bytes as they are now."""
        return compute_crc(self._buf, self._pos, self._h[IX_BATCH_LENGTH] + LOG_OVERHEAD)

    @property
    def crc_covered(self) -> memoryview:
        """The bytes the CRC covers (attributes .. end of batch), as a slice (no copy).

        Two batches with equal ``crc_covered`` bytes differ at most in
        baseOffset, batchLength, partitionLeaderEpoch, magic and the CRC.
        """
        pos = self._pos
        return self._buf[pos + ATTRIBUTES_POS : pos + self._h[IX_BATCH_LENGTH] + LOG_OVERHEAD]

    def crc_valid(self) -> bool:
        """True when the stored CRC matches the covered bytes."""
        return self._h[IX_CRC] == crc32c(self.crc_covered)

    def verify_crc(self) -> None:
        """Raise CrcMismatchError (naming the offset and both values) unless the CRC matches."""
        actual = self.compute_crc()
        if actual != self.crc:
            raise CrcMismatchError(
                f"batch at offset {self.base_offset}: stored CRC 0x{self.crc:08x}, computed 0x{actual:08x}",
                position=self._pos,
            )

    # --- records, on demand ---------------------------------------------------
    def records(self) -> Iterator[Record]:
        """Decode the records lazily (decompressing as far as needed)."""
        from kproto.records.decode import iter_records

        return iter_records(self)

    def __repr__(self) -> str:
        return (
            f"BatchView(base_offset={self.base_offset}, count={self.record_count}, "
            f"last_offset_delta={self.last_offset_delta}, size={self.size}, "
            f"attributes=0x{self.attributes:04x}, producer_id={self.producer_id})"
        )


def _check_v2_header(header: BatchHeader, available: int, position: int) -> None:
    """Reject what cannot be a complete, well-framed v2 batch."""
    if header.magic != 2:
        raise CorruptBatchError(f"expected magic 2, found magic {header.magic}", position=position)
    if header.batch_length < MIN_BATCH_LENGTH:
        raise CorruptBatchError(
            f"batchLength {header.batch_length} at offset {header.base_offset} "
            f"is below the minimum {MIN_BATCH_LENGTH}",
            position=position,
        )
    if header.batch_length + LOG_OVERHEAD > available:
        raise CorruptBatchError(
            f"batch at offset {header.base_offset} declares {header.batch_length + LOG_OVERHEAD} bytes, "
            f"only {available} available",
            position=position,
        )


#: The walker builds views without ``__init__`` (its header is already checked):
#: ``_new_view(BatchView)`` then the three slot stores.
_new_view = BatchView.__new__


class LegacyEntry:
    """One magic v0/v1 message (possibly a compressed wrapper) in a records blob.

    Recognised so callers can name it (clients cannot produce it again);
    ``records()`` decodes it on request. For a compressed wrapper, ``offset``
    is the offset of the last inner message.
    """

    __slots__ = ("_buf", "_pos", "offset", "size", "magic", "attributes")

    def __init__(self, buffer: memoryview, position: int, offset: int, size: int, magic: int) -> None:
        self._buf = buffer
        self._pos = position
        self.offset = offset
        self.size = size
        self.magic = magic
        self.attributes = buffer[position + LEGACY_ATTRIBUTES_POS]

    @property
    def position(self) -> int:
        return self._pos

    @property
    def last_offset(self) -> int:
        return self.offset

    @property
    def next_offset(self) -> int:
        return self.offset + 1

    @property
    def codec(self) -> Codec:
        bits = self.attributes & CODEC_MASK
        try:
            return Codec(bits)
        except ValueError:
            raise CorruptBatchError(
                f"legacy message at offset {self.offset} has unknown codec id {bits}", position=self._pos
            ) from None

    @property
    def buffer(self) -> memoryview:
        return self._buf[self._pos : self._pos + self.size]

    @property
    def crc(self) -> int:
        return int.from_bytes(self._buf[self._pos + 12 : self._pos + 16], "big")

    def crc_valid(self) -> bool:
        """Legacy messages carry a plain CRC32 over magic .. end."""
        return self.crc == zlib.crc32(self._buf[self._pos + 16 : self._pos + self.size])

    def records(self) -> Iterator[Record]:
        """Decode this legacy message (and the inner ones of a compressed wrapper)."""
        from kproto.records.legacy import iter_legacy_records

        return iter_legacy_records(self)

    def __repr__(self) -> str:
        return f"LegacyEntry(magic={self.magic}, offset={self.offset}, size={self.size}, codec={self.attributes & 7})"


def legacy_entry_at(buffer: memoryview, position: int) -> LegacyEntry | None:
    """The legacy message at ``position``, or None when it is cut off.

    Raises for sizes no v0/v1 message can have.
    """
    available = len(buffer) - position
    if available < PREFIX_SIZE:
        return None
    offset, length, magic = PREFIX.unpack_from(buffer, position)
    minimum = LEGACY_MIN_SIZES.get(magic)
    if minimum is None:
        raise CorruptBatchError(f"invalid magic {magic} at offset {offset}", position=position)
    if length < minimum:
        raise CorruptBatchError(
            f"magic v{magic} message at offset {offset} declares size {length}, below the minimum {minimum}",
            position=position,
        )
    if length + LOG_OVERHEAD > available:
        return None
    return LegacyEntry(buffer, position, offset, length + LOG_OVERHEAD, magic)
