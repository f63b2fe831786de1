"""Wire primitives: fixed-width ints, varints, (compact) strings/bytes, UUIDs.

The generated codecs inline the common cases and call the varint helpers here
for the rare multi-byte ones.  Readers take ``(buf, pos)`` and return
``(value, new_pos)``; they raise ``Malformed`` (an internal signal that the
message layer turns into a ``DecodeError`` with the field path).
"""
from __future__ import annotations

import struct
import uuid
from typing import Any

__all__ = [
    "Malformed", "INT8", "INT16", "INT32", "INT64", "UINT16", "UINT32", "FLOAT64",
    "read_uvarint", "read_uvarlong", "read_varint", "read_varlong",
    "write_uvarint", "write_uvarlong", "write_varint", "write_varlong",
    "read_string", "read_compact_string", "write_string", "write_compact_string",
    "read_bytes", "read_compact_bytes", "write_bytes", "write_compact_bytes",
    "read_uuid", "write_uuid", "ZERO_UUID",
]

INT8 = struct.Struct(">b")
INT16 = struct.Struct(">h")
INT32 = struct.Struct(">i")
INT64 = struct.Struct(">q")
UINT16 = struct.Struct(">H")
UINT32 = struct.Struct(">I")
FLOAT64 = struct.Struct(">d")
ZERO_UUID = uuid.UUID(int=0)


class Malformed(Exception):
    """Internal: the bytes do not fit the schema (reason in args[0])."""


def _read_unsigned(buf: Any, pos: int, max_bytes: int) -> tuple[int, int]:
    value = 0
    shift = 0
    end = len(buf)
    for i in range(max_bytes):
        if pos >= end:
            raise Malformed("varint runs past the end of the buffer")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7
    raise Malformed(f"varint longer than {max_bytes} bytes")


def read_uvarint(buf: Any, pos: int) -> tuple[int, int]:
    """Unsigned 32-bit varint (at most 5 bytes, as Kafka's readUnsignedVarint)."""
    b = buf[pos] if pos < len(buf) else -1
    if 0 <= b < 0x80:
        return b, pos + 1
    value, pos = _read_unsigned(buf, pos, 5)
    if value > 0xFFFFFFFF:
        raise Malformed("unsigned varint exceeds 32 bits")
    return value, pos


def read_uvarlong(buf: Any, pos: int) -> tuple[int, int]:
    """Unsigned 64-bit varint (at most 10 bytes)."""
    value, pos = _read_unsigned(buf, pos, 10)
    if value > 0xFFFFFFFFFFFFFFFF:
        raise Malformed("unsigned varlong exceeds 64 bits")
    return value, pos


def read_varint(buf: Any, pos: int) -> tuple[int, int]:
    """Zig-zag signed 32-bit varint."""
    u, pos = read_uvarint(buf, pos)
    return (u >> 1) ^ -(u & 1), pos


def read_varlong(buf: Any, pos: int) -> tuple[int, int]:
    """Zig-zag signed 64-bit varint."""
    u, pos = read_uvarlong(buf, pos)
    return (u >> 1) ^ -(u & 1), pos


_SMALL = [bytes([i]) for i in range(128)]
_U16 = struct.Struct(">H")
_U24 = struct.Struct(">BBB")


def write_uvarint(value: int) -> bytes:
    """Encode 0 <= value < 2**32 as an unsigned varint."""
    if 0 <= value < 128:
        return _SMALL[value]
    if 0 <= value < 16384:
        return _U16.pack((((value & 0x7F) | 0x80) << 8) | (value >> 7))
    if 0 <= value < 2097152:
        return _U24.pack((value & 0x7F) | 0x80, (((value >> 7) & 0x7F) | 0x80), value >> 14)
    if value < 0 or value > 0xFFFFFFFF:
        raise ValueError(f"unsigned varint out of range: {value}")
    return _write_unsigned(value)


def write_uvarlong(value: int) -> bytes:
    """Encode 0 <= value < 2**64 as an unsigned varlong."""
    if value < 0 or value > 0xFFFFFFFFFFFFFFFF:
        raise ValueError(f"unsigned varlong out of range: {value}")
    return _write_unsigned(value)


def _write_unsigned(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def write_varint(value: int) -> bytes:
    """Zig-zag encode a signed 32-bit value."""
    if not -0x80000000 <= value <= 0x7FFFFFFF:
        raise ValueError(f"varint out of range: {value}")
    return _write_unsigned(((value << 1) ^ (value >> 31)) & 0xFFFFFFFF)


def write_varlong(value: int) -> bytes:
    """Zig-zag encode a signed 64-bit value."""
    if not -0x8000000000000000 <= value <= 0x7FFFFFFFFFFFFFFF:
        raise ValueError(f"varlong out of range: {value}")
    return _write_unsigned(((value << 1) ^ (value >> 63)) & 0xFFFFFFFFFFFFFFFF)


def _take(buf: Any, pos: int, n: int) -> tuple[Any, int]:
    end = pos + n
    if end > len(buf):
        raise Malformed(f"length {n} exceeds the {len(buf) - pos} remaining bytes")
    return buf[pos:end], end


def read_string(buf: Any, pos: int) -> tuple[str | None, int]:
    """int16-length string; -1 is null."""
    if pos + 2 > len(buf):
        raise Malformed("string length runs past the end of the buffer")
    (n,) = INT16.unpack_from(buf, pos)
    if n < 0:
        if n == -1:
            return None, pos + 2
        raise Malformed(f"negative string length {n}")
    raw, pos = _take(buf, pos + 2, n)
    return str(raw, "utf-8"), pos


def read_compact_string(buf: Any, pos: int) -> tuple[str | None, int]:
    """uvarint(length + 1) string; 0 is null."""
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        return None, pos
    raw, pos = _take(buf, pos, n - 1)
    return str(raw, "utf-8"), pos


def read_bytes(buf: Any, pos: int) -> tuple[Any, int]:
    """int32-length bytes (a slice of ``buf``); -1 is null."""
    if pos + 4 > len(buf):
        raise Malformed("bytes length runs past the end of the buffer")
    (n,) = INT32.unpack_from(buf, pos)
    if n < 0:
        if n == -1:
            return None, pos + 4
        raise Malformed(f"negative bytes length {n}")
    return _take(buf, pos + 4, n)


def read_compact_bytes(buf: Any, pos: int) -> tuple[Any, int]:
    """uvarint(length + 1) bytes (a slice of ``buf``); 0 is null."""
    n, pos = read_uvarint(buf, pos)
    if n == 0:
        return None, pos
    return _take(buf, pos, n - 1)


def write_string(value: str | None) -> bytes:
    if value is None:
        return b"\xff\xff"
    raw = value.encode("utf-8")
    if len(raw) > 0x7FFF:
        raise ValueError(f"string of {len(raw)} bytes exceeds 32767")
    return INT16.pack(len(raw)) + raw


def write_compact_string(value: str | None) -> bytes:
    if value is None:
        return b"\x00"
    raw = value.encode("utf-8")
    return write_uvarint(len(raw) + 1) + raw


def write_bytes(value: Any) -> bytes:
    if value is None:
        return b"\xff\xff\xff\xff"
    raw = bytes(value)
    return INT32.pack(len(raw)) + raw


def write_compact_bytes(value: Any) -> bytes:
    if value is None:
        return b"\x00"
    raw = bytes(value)
    return write_uvarint(len(raw) + 1) + raw


def read_uuid(buf: Any, pos: int) -> tuple[uuid.UUID, int]:
    raw, pos = _take(buf, pos, 16)
    return uuid.UUID(bytes=bytes(raw)), pos


def write_uuid(value: uuid.UUID) -> bytes:
    return value.bytes
