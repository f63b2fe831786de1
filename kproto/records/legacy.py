"""Decoding of legacy (magic v0/v1) message sets, for tools and tests.

The linker never forwards these (clients can only produce v2); this module
lets a tool show what an old log holds. A compressed legacy message is a
wrapper whose value is a compressed message set of inner messages; for v1 the
inner offsets are relative and the wrapper carries the absolute offset of the
last inner message. LZ4 here is Kafka's pre-KIP-57 framing, whose header
checksum is wrong for v0 (KAFKA-3160), so frames are parsed by hand and the
header checksum is not checked.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING

import lz4.block

from kproto.records.buffers import as_byte_view
from kproto.records.codecs import decompress
from kproto.records.errors import CompressionError, CorruptRecordError
from kproto.records.layout import CODEC_MASK, LEGACY_MIN_SIZES, LOG_OVERHEAD, TIMESTAMP_TYPE_BIT, Codec
from kproto.records.record import Record

if TYPE_CHECKING:
    from kproto.records.batch import LegacyEntry

_OFFSET_SIZE = struct.Struct(">qi")
_CRC_MAGIC_ATTR = struct.Struct(">Ibb")
_INT32 = struct.Struct(">i")
_INT64 = struct.Struct(">q")
_LZ4_MAGIC = b"\x04\x22\x4d\x18"
_LZ4_BLOCK_MAX = {4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20}


def iter_legacy_records(entry: LegacyEntry) -> Iterator[Record]:
    """The records of one v0/v1 message (one, or the inner ones of a compressed wrapper)."""
    mv = entry.buffer
    offset, attributes, timestamp, key, value = _parse_message(mv, 0, entry.magic)
    codec = attributes & CODEC_MASK
    if codec == Codec.NONE:
        yield Record(offset, timestamp, key, value, [], 0, 0, attributes)
        return
    if value is None:
        raise CorruptRecordError(f"compressed legacy message at offset {offset} has a null value")
    inner = _decompress_legacy(codec, value, offset)
    messages = list(_inner_messages(as_byte_view(inner), entry.magic, offset))
    if not messages:
        raise CorruptRecordError(f"compressed legacy message at offset {offset} holds no messages")
    log_append = entry.magic == 1 and attributes & TIMESTAMP_TYPE_BIT
    shift = offset - messages[-1][0] if entry.magic == 1 else 0
    for inner_offset, inner_attrs, inner_ts, inner_key, inner_value in messages:
        yield Record(
            inner_offset + shift,
            timestamp if log_append else inner_ts,
            inner_key,
            inner_value,
            [],
            0,
            0,
            inner_attrs,
        )


def _inner_messages(mv: memoryview, magic: int, wrapper_offset: int) -> Iterator[tuple]:
    pos, end = 0, len(mv)
    while pos < end:
        if end - pos < LOG_OVERHEAD:
            raise CorruptRecordError(f"inner message set of offset {wrapper_offset} ends inside a message header")
        _, size = _OFFSET_SIZE.unpack_from(mv, pos)
        if size < LEGACY_MIN_SIZES[0] or pos + LOG_OVERHEAD + size > end:
            raise CorruptRecordError(f"inner message of offset {wrapper_offset} has an invalid size {size}")
        message = _parse_message(mv[pos : pos + LOG_OVERHEAD + size], 0, None)
        if message[1] & CODEC_MASK:
            raise CorruptRecordError(f"nested compression inside the legacy message at offset {wrapper_offset}")
        yield message
        pos += LOG_OVERHEAD + size


def _parse_message(mv: memoryview, pos: int, magic: int | None) -> tuple:
    """(offset, attributes, timestamp, key, value) of the message at ``pos``."""
    try:
        offset, size = _OFFSET_SIZE.unpack_from(mv, pos)
        _, found_magic, attributes = _CRC_MAGIC_ATTR.unpack_from(mv, pos + 12)
        if found_magic not in (0, 1) or (magic is not None and found_magic != magic):
            raise CorruptRecordError(f"legacy message at offset {offset} has magic {found_magic}")
        cur = pos + 18
        timestamp = -1
        if found_magic == 1:
            (timestamp,) = _INT64.unpack_from(mv, cur)
            cur += 8
        key, cur = _bytes(mv, cur)
        value, cur = _bytes(mv, cur)
    except struct.error:
        raise CorruptRecordError("legacy message is cut short") from None
    if cur != pos + LOG_OVERHEAD + size:
        raise CorruptRecordError(f"legacy message at offset {offset} declares size {size}, fields use {cur - pos - 12}")
    return offset, attributes & 0xFF, timestamp, key, value


def _bytes(mv: memoryview, pos: int) -> tuple[bytes | None, int]:
    (length,) = _INT32.unpack_from(mv, pos)
    pos += 4
    if length < 0:
        return None, pos
    if pos + length > len(mv):
        raise CorruptRecordError(f"legacy field of {length} bytes runs past the message")
    return bytes(mv[pos : pos + length]), pos + length


def _decompress_legacy(codec: int, value: bytes, offset: int) -> bytes:
    if codec == Codec.LZ4:
        return _lz4_frame_blocks(value, offset)
    if codec in (Codec.GZIP, Codec.SNAPPY):
        return decompress(codec, value)
    raise CompressionError(f"legacy message at offset {offset} uses codec {codec}, not allowed before magic 2")


def _lz4_frame_blocks(frame: bytes, offset: int) -> bytes:
    """Decode an LZ4 frame block by block, ignoring the header checksum (KAFKA-3160)."""
    try:
        if frame[:4] != _LZ4_MAGIC:
            raise CompressionError(f"legacy lz4 payload at offset {offset} lacks the frame magic")
        flg, bd = frame[4], frame[5]
        pos = 6 + (8 if flg & 0x08 else 0) + (4 if flg & 0x01 else 0) + 1
        block_checksum = bool(flg & 0x10)
        max_size = _LZ4_BLOCK_MAX.get((bd >> 4) & 0x07)
        if max_size is None:
            raise CompressionError(f"legacy lz4 payload at offset {offset} has an invalid block size code")
        out = []
        while True:
            (raw_size,) = struct.unpack_from("<I", frame, pos)
            pos += 4
            if raw_size == 0:
                return b"".join(out)
            size = raw_size & 0x7FFFFFFF
            block = frame[pos : pos + size]
            if len(block) != size:
                raise CompressionError(f"legacy lz4 block at offset {offset} is cut short")
            pos += size + (4 if block_checksum else 0)
            out.append(block if raw_size & 0x80000000 else lz4.block.decompress(block, uncompressed_size=max_size))
    except (struct.error, IndexError, lz4.block.LZ4BlockError) as exc:
        raise CompressionError(f"corrupt legacy lz4 payload at offset {offset}: {exc}") from None
