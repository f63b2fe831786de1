"""Compact filler batches for the leading gap.

Every filler offset must be a real record (the broker rejects a batch whose
count differs from lastOffsetDelta+1). A filler record is the smallest legal
v2 record: no key, no value, no headers, same timestamp. The records of one
batch differ only in their offset delta, so the payload compresses to almost
nothing with zstd; one built batch is reused for every step of the same size
(the broker assigns the offsets).
"""
from __future__ import annotations

from functools import lru_cache

from crc32c import crc32c

from kproto.records.codecs import compress
from kproto.records.layout import ATTRIBUTES_POS, CRC, CRC_POS, HEADER, HEADER_SIZE, LOG_OVERHEAD, Codec


def _zigzag_varint(v: int) -> bytes:
    u = (v << 1) ^ (v >> 63)
    out = bytearray()
    while u >= 0x80:
        out.append((u & 0x7F) | 0x80)
        u >>= 7
    out.append(u)
    return bytes(out)


def filler_payload(count: int) -> bytes:
    """Uncompressed records 0..count-1, each: attrs 0, ts delta 0, key null, value null, 0 headers."""
    parts = []
    head = b"\x00\x00"          # attributes, timestamp delta 0
    tail = b"\x01\x01\x00"      # key length -1, value length -1, header count 0
    for delta in range(count):
        body = head + _zigzag_varint(delta) + tail
        parts.append(_zigzag_varint(len(body)))
        parts.append(body)
    return b"".join(parts)


@lru_cache(maxsize=4)
def filler_batch(count: int, timestamp_ms: int, codec: Codec = Codec.ZSTD) -> bytes:
    """A complete, produce-ready (baseOffset 0) batch of ``count`` filler records."""
    if count <= 0:
        raise ValueError(f"a filler batch needs at least one record, got {count}")
    payload = compress(codec, filler_payload(count))
    batch = bytearray(HEADER_SIZE + len(payload))
    HEADER.pack_into(batch, 0, 0, len(batch) - LOG_OVERHEAD, -1, 2, 0, int(codec), count - 1,
                     timestamp_ms, timestamp_ms, -1, -1, -1, count)
    batch[HEADER_SIZE:] = payload
    CRC.pack_into(batch, CRC_POS, crc32c(memoryview(batch)[ATTRIBUTES_POS:]))
    return bytes(batch)
