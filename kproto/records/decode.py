"""Lazy record decoding for a batch view.

Records are parsed one at a time from decompressed chunks, so taking the first
record decompresses about one chunk (gzip, lz4, zstd, xerial snappy), not the
whole batch. Records may straddle chunk borders.
"""

from __future__ import annotations

from collections.abc import Iterator

from kproto.records.batch import BatchView
from kproto.records.codecs import decompress_chunks
from kproto.records.errors import CorruptRecordError
from kproto.records.layout import TIMESTAMP_TYPE_BIT
from kproto.records.record import Record, parse_record_body
from kproto.records.varint import read_varint


class _ChunkCursor:
    """A read position over data that arrives in chunks."""

    __slots__ = ("buf", "pos", "_chunks")

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.buf: bytes | memoryview = b""
        self.pos = 0
        self._chunks = chunks

    def fill(self, n: int) -> bool:
        """Make ``n`` bytes available from ``pos``; False if the data ends first."""
        while len(self.buf) - self.pos < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                return False
            if self.pos >= len(self.buf):
                self.buf = chunk
            else:
                self.buf = bytes(self.buf[self.pos :]) + bytes(chunk)
            self.pos = 0
        return True

    def at_end(self) -> bool:
        return not self.fill(1)


def iter_records(batch: BatchView) -> Iterator[Record]:
    """Yield the batch's records in order, decoding lazily.

    Raises CorruptRecordError when the data ends before ``record_count``
    records or bytes remain after them, CompressionError for a bad payload.
    """
    count = batch.record_count
    if count < 0:
        raise CorruptRecordError(f"batch at offset {batch.base_offset} has negative record count {count}")
    base_offset = batch.base_offset
    base_ts = batch.base_timestamp
    log_append_time = bool(batch.attributes & TIMESTAMP_TYPE_BIT)
    cursor = _ChunkCursor(decompress_chunks(batch.codec, batch.payload))
    for index in range(count):
        cursor.fill(5)
        buf, pos = cursor.buf, cursor.pos
        try:
            length, body = read_varint(buf, pos)
        except IndexError:
            raise CorruptRecordError(
                f"batch at offset {base_offset} ends after {index} of {count} records"
            ) from None
        if length < 1:
            raise CorruptRecordError(f"record {index} of batch at offset {base_offset} has length {length}")
        if not cursor.fill(body - pos + length):
            raise CorruptRecordError(
                f"record {index} of batch at offset {base_offset} is cut short (needs {length} bytes)"
            )
        buf = cursor.buf
        start = cursor.pos + (body - pos)
        end = start + length
        record = parse_record_body(buf, start, end, base_offset, base_ts)
        if log_append_time:
            record.timestamp = batch.max_timestamp
        cursor.pos = end
        yield record
    if not cursor.at_end():
        raise CorruptRecordError(
            f"batch at offset {base_offset} has bytes left after its {count} declared records"
        )


def decode_records(batch: BatchView) -> list[Record]:
    """All records of the batch (eager form of ``iter_records``)."""
    return list(iter_records(batch))
