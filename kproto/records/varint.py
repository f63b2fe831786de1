"""Zigzag varints of the record format (int32 "varint" and int64 "varlong").

Bounded: a varint may take at most 5 bytes and a varlong 10, and the value
must fit its width, as Kafka's ByteUtils requires. Decoders take any indexable
bytes-like object and return ``(value, next_position)``; running off the end
raises ``IndexError``, which the record decoder turns into a CorruptRecordError.
"""

from __future__ import annotations

from kproto.records.errors import CorruptRecordError

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


def read_varint(buf: bytes | bytearray | memoryview, pos: int) -> tuple[int, int]:
    """Decode a zigzag varint (int32) at ``pos``."""
    b = buf[pos]
    if b < 0x80:
        return (b >> 1) ^ -(b & 1), pos + 1
    return _read_multibyte(buf, pos, "varint", 5, 0xFFFFFFFF)


def read_varlong(buf: bytes | bytearray | memoryview, pos: int) -> tuple[int, int]:
    """Decode a zigzag varlong (int64) at ``pos``."""
    b = buf[pos]
    if b < 0x80:
        return (b >> 1) ^ -(b & 1), pos + 1
    return _read_multibyte(buf, pos, "varlong", 10, 0xFFFFFFFFFFFFFFFF)


def _read_multibyte(buf: bytes | bytearray | memoryview, pos: int, what: str, max_bytes: int,
                    limit: int) -> tuple[int, int]:
    """The rare path of both readers (the one-byte case stays inline in each, for speed)."""
    raw = buf[pos] & 0x7F
    shift = 7
    pos += 1
    max_shift = 7 * (max_bytes - 1)
    while True:
        b = buf[pos]
        pos += 1
        raw |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
        if shift > max_shift:
            raise CorruptRecordError(f"{what} longer than {max_bytes} bytes ending at byte {pos}")
    if raw > limit:
        raise CorruptRecordError(f"{what} value {raw} does not fit {limit.bit_length()} bits")
    return (raw >> 1) ^ -(raw & 1), pos


def _encode_unsigned(raw: int) -> bytes:
    if raw < 0x80:
        return _SMALL[raw]
    out = bytearray()
    while raw >= 0x80:
        out.append((raw & 0x7F) | 0x80)
        raw >>= 7
    out.append(raw)
    return bytes(out)


_SMALL = [bytes((i,)) for i in range(0x80)]


def encode_varint(value: int) -> bytes:
    """Zigzag-encode an int32."""
    if not INT32_MIN <= value <= INT32_MAX:
        raise CorruptRecordError(f"varint value {value} is outside int32")
    return _encode_unsigned(((value << 1) ^ (value >> 31)) & 0xFFFFFFFF)


def encode_varlong(value: int) -> bytes:
    """Zigzag-encode an int64."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise CorruptRecordError(f"varlong value {value} is outside int64")
    return _encode_unsigned(((value << 1) ^ (value >> 63)) & 0xFFFFFFFFFFFFFFFF)


def varint_size(value: int) -> int:
    """Encoded length of a zigzag varint/varlong, without encoding it."""
    raw = (value << 1) ^ (value >> 63) if value < 0 else value << 1
    size = 1
    while raw >= 0x80:
        raw >>= 7
        size += 1
    return size
