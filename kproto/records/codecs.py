"""The four Kafka codecs: whole-payload compression and chunked decompression.

Decompression yields chunks so the record decoder can stop early: gzip, lz4
and zstd are streamed with a bounded output size; xerial-framed snappy is
decoded one frame chunk at a time; raw snappy (one block) is decoded whole.

Framings accepted on read:
- gzip: RFC 1952 (Java GZIPOutputStream, librdkafka, kafka-python).
- snappy: xerial framing (``\\x82SNAPPY\\x00`` + version + compat + chunks of
  int32 length + raw block; Java client, kafka-python) or one raw snappy block
  (librdkafka).
- lz4: the standard LZ4 frame format (Kafka's KafkaLZ4BlockOutputStream,
  librdkafka, kafka-python) with independent blocks.
- zstd: zstd frames, with or without a content size.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

import cramjam
import lz4.frame
import zstandard

from kproto.records.errors import CompressionError
from kproto.records.layout import Codec

#: Decompressed bytes produced per step when streaming.
CHUNK = 64 * 1024

XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = struct.Struct(">8sii")
_XERIAL_LENGTH = struct.Struct(">i")
#: Java's SnappyOutputStream default block size.
XERIAL_BLOCK = 32 * 1024

#: Defaults matching the Java producer (KIP-390).
DEFAULT_LEVELS = {Codec.GZIP: 6, Codec.LZ4: 9, Codec.ZSTD: 3}

_ERRORS: tuple[type[BaseException], ...] = (
    zlib.error,
    RuntimeError,  # lz4.frame
    zstandard.ZstdError,
    cramjam.DecompressionError,
    cramjam.CompressionError,
    ValueError,
    EOFError,
    struct.error,
)


def compress(codec: Codec | int, data: bytes | bytearray | memoryview, level: int | None = None,
             *, snappy_framing: str = "xerial") -> bytes:
    """Compress a records section with ``codec`` at ``level`` (codec default when None)."""
    codec = _codec(codec)
    if codec is Codec.NONE:
        return bytes(data)
    if level is None:
        level = DEFAULT_LEVELS.get(codec)
    try:
        if codec is Codec.GZIP:
            obj = zlib.compressobj(level, zlib.DEFLATED, 31)
            return obj.compress(data) + obj.flush()
        if codec is Codec.SNAPPY:
            return _snappy_compress(data, snappy_framing)
        if codec is Codec.LZ4:
            return lz4.frame.compress(
                data,
                compression_level=level,
                block_size=lz4.frame.BLOCKSIZE_MAX64KB,
                block_linked=False,
                content_checksum=False,
                store_size=False,
            )
        return zstandard.ZstdCompressor(level=level).compress(data)
    except _ERRORS as exc:
        raise CompressionError(f"{codec.name} compression failed: {exc}") from exc


def _snappy_compress(data: bytes | bytearray | memoryview, framing: str) -> bytes:
    if framing == "raw":
        return bytes(cramjam.snappy.compress_raw(bytes(data)))
    if framing != "xerial":
        raise CompressionError(f"unknown snappy framing {framing!r}; use 'xerial' or 'raw'")
    mv = memoryview(data).cast("B") if not isinstance(data, bytes) else memoryview(data)
    parts = [_XERIAL_HEADER.pack(XERIAL_MAGIC, 1, 1)]
    for start in range(0, len(mv), XERIAL_BLOCK):
        block = bytes(cramjam.snappy.compress_raw(bytes(mv[start : start + XERIAL_BLOCK])))
        parts.append(_XERIAL_LENGTH.pack(len(block)))
        parts.append(block)
    return b"".join(parts)


def decompress(codec: Codec | int, payload: bytes | bytearray | memoryview) -> bytes:
    """The whole decompressed records section."""
    return b"".join(decompress_chunks(codec, payload))


def decompress_chunks(codec: Codec | int, payload: bytes | bytearray | memoryview) -> Iterator[bytes]:
    """Decompressed data in order, a bounded chunk at a time where the codec allows.

    Raises CompressionError (a RecordError) for anything the codec rejects.
    """
    codec = _codec(codec)
    gen = _STREAMERS[codec](payload)
    while True:
        try:
            chunk = next(gen)
        except StopIteration:
            return
        except _ERRORS as exc:
            raise CompressionError(f"corrupt {codec.name} payload: {exc}") from exc
        yield chunk


def _codec(codec: Codec | int) -> Codec:
    try:
        return Codec(codec)
    except ValueError:
        raise CompressionError(f"unknown codec id {codec}") from None


def _none_chunks(payload: bytes | bytearray | memoryview) -> Iterator[bytes]:
    if len(payload):
        yield payload  # type: ignore[misc]


def _gzip_chunks(payload: bytes | bytearray | memoryview) -> Iterator[bytes]:
    d = zlib.decompressobj(31)
    data: bytes | memoryview = payload if isinstance(payload, (bytes, memoryview)) else memoryview(payload)
    while True:
        out = d.decompress(data, CHUNK)
        if out:
            yield out
        if d.eof:
            return
        data = d.unconsumed_tail
        if not data and not out:
            raise zlib.error("gzip stream ends before its trailer")


def _lz4_chunks(payload: bytes | bytearray | memoryview) -> Iterator[bytes]:
    d = lz4.frame.LZ4FrameDecompressor()
    data: bytes | memoryview = payload if isinstance(payload, (bytes, memoryview)) else memoryview(payload)
    while True:
        out = d.decompress(data, max_length=CHUNK)
        if out:
            yield out
        if d.eof:
            return
        data = b""
        if d.needs_input:
            raise RuntimeError("lz4 frame ends before its end mark")


def _zstd_chunks(payload: bytes | bytearray | memoryview) -> Iterator[bytes]:
    reader = zstandard.ZstdDecompressor().stream_reader(payload, read_across_frames=True)
    with reader:
        while True:
            out = reader.read(CHUNK)
            if not out:
                return
            yield out


def _snappy_chunks(payload: bytes | bytearray | memoryview) -> Iterator[bytes]:
    mv = memoryview(payload)
    if bytes(mv[:8]) != XERIAL_MAGIC:
        yield bytes(cramjam.snappy.decompress_raw(bytes(mv)))
        return
    if len(mv) < _XERIAL_HEADER.size:
        raise ValueError("xerial snappy header is cut short")
    pos = _XERIAL_HEADER.size
    end = len(mv)
    while pos < end:
        if end - pos < 4:
            raise ValueError(f"xerial snappy chunk length cut short at byte {pos}")
        (length,) = _XERIAL_LENGTH.unpack_from(mv, pos)
        pos += 4
        if length < 0 or pos + length > end:
            raise ValueError(f"xerial snappy chunk of {length} bytes overruns the payload at byte {pos}")
        yield bytes(cramjam.snappy.decompress_raw(bytes(mv[pos : pos + length])))
        pos += length


_STREAMERS = {
    Codec.NONE: _none_chunks,
    Codec.GZIP: _gzip_chunks,
    Codec.SNAPPY: _snappy_chunks,
    Codec.LZ4: _lz4_chunks,
    Codec.ZSTD: _zstd_chunks,
}
