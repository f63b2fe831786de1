"""Lazy record decoding for a batch view.

Records are parsed one at a time from decompressed chunks, so taking the first
record decompresses about one chunk (gzip, lz4, zstd, xerial snappy), not the
whole batch. Records may straddle chunk borders.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from kproto.records.codecs import decompress_chunks
from kproto.records.errors import CorruptRecordError
from kproto.records.layout import TIMESTAMP_TYPE_BIT
from kproto.records.record import Record, parse_record_body
from kproto.records.varint import read_varint

if TYPE_CHECKING:
    from kproto.records.batch import BatchView


def _refill(buf: bytes | memoryview, pos: int, chunks: Iterator[bytes], need: int) -> bytes | memoryview:
    """``buf[pos:]`` extended by further chunks until it holds ``need`` bytes (or the data ends)."""
    rest = buf[pos:]
    if len(rest) >= need:
        return rest
    parts = [bytes(rest)] if len(rest) else []
    have = len(rest)
    for chunk in chunks:
        if not parts and len(chunk) >= need:
            return chunk
        parts.append(bytes(chunk))
        have += len(chunk)
        if have >= need:
            break
    return b"".join(parts)


def iter_records(batch: BatchView) -> Iterator[Record]:
    """Yield the batch's records in order, decoding lazily.

    Raises CorruptRecordError when the data ends before ``record_count``
    records or bytes remain after them, CompressionError for a bad payload.
    """
    count = batch.record_count
    base_offset = batch.base_offset
    if count < 0:
        raise CorruptRecordError(f"batch at offset {base_offset} has negative record count {count}")
    base_ts = batch.base_timestamp
    max_ts = batch.max_timestamp if batch.attributes & TIMESTAMP_TYPE_BIT else None
    chunks = decompress_chunks(batch.codec, batch.payload)
    buf: bytes | memoryview = b""
    pos = 0
    size = 0
    for index in range(count):
        if size - pos < 5:
            buf = _refill(buf, pos, chunks, 5)
            pos, size = 0, len(buf)
        try:
            b = buf[pos]
            if b < 0x80:
                length = (b >> 1) ^ -(b & 1)
                body = pos + 1
            else:
                length, body = read_varint(buf, pos)
        except IndexError:
            raise CorruptRecordError(
                f"batch at offset {base_offset} ends after {index} of {count} records"
            ) from None
        if length < 1:
            raise CorruptRecordError(f"record {index} of batch at offset {base_offset} has length {length}")
        end = body + length
        if end > size:
            buf = _refill(buf, pos, chunks, end - pos)
            body, end, pos, size = body - pos, end - pos, 0, len(buf)
            if end > size:
                raise CorruptRecordError(
                    f"record {index} of batch at offset {base_offset} is cut short (needs {length} bytes)"
                )
        record = parse_record_body(buf, body, end, base_offset, base_ts)
        if max_ts is not None:
            record.timestamp = max_ts
        pos = end
        yield record
    if pos < size or next(chunks, b""):
        raise CorruptRecordError(
            f"batch at offset {base_offset} has bytes left after its {count} declared records"
        )


def decode_records(batch: BatchView) -> list[Record]:
    """All records of the batch (eager form of ``iter_records``)."""
    return list(iter_records(batch))
