"""One decoded record of a v2 batch, and its wire encoding.

Record layout (all varints zigzag): length, attributes(int8), timestampDelta
(varlong), offsetDelta, keyLength + key (-1 = null), valueLength + value,
header count, then per header keyLength + utf-8 key, valueLength + value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kproto.records.errors import CorruptRecordError
from kproto.records.varint import encode_varint, encode_varlong, read_varint, read_varlong

Header = tuple[str, "bytes | None"]


@dataclass(slots=True)
class Record:
    """A decoded record with its absolute offset and timestamp."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[Header] = field(default_factory=list)
    offset_delta: int = 0
    timestamp_delta: int = 0
    attributes: int = 0


def parse_record_body(
    buf: bytes | memoryview, pos: int, end: int, base_offset: int, base_timestamp: int
) -> Record:
    """Decode the record occupying ``buf[pos:end]`` (after its length varint).

    Single-byte varints (the common case) are decoded inline. Raises
    CorruptRecordError when a field overruns ``end`` or the fields do not
    fill it exactly.
    """
    off_delta = 0
    try:
        attributes = buf[pos]
        b = buf[pos + 1]
        if b < 0x80:
            ts_delta = (b >> 1) ^ -(b & 1)
            pos += 2
        else:
            ts_delta, pos = read_varlong(buf, pos + 1)
        b = buf[pos]
        if b < 0x80:
            off_delta = (b >> 1) ^ -(b & 1)
            pos += 1
        else:
            off_delta, pos = read_varint(buf, pos)
        b = buf[pos]
        if b < 0x80:
            klen = (b >> 1) ^ -(b & 1)
            pos += 1
        else:
            klen, pos = read_varint(buf, pos)
        if klen >= 0:
            key = bytes(buf[pos : pos + klen])
            pos += klen
        elif klen == -1:
            key = None
        else:
            raise CorruptRecordError(f"invalid key length {klen}")
        b = buf[pos]
        if b < 0x80:
            vlen = (b >> 1) ^ -(b & 1)
            pos += 1
        else:
            vlen, pos = read_varint(buf, pos)
        if vlen >= 0:
            value = bytes(buf[pos : pos + vlen])
            pos += vlen
        elif vlen == -1:
            value = None
        else:
            raise CorruptRecordError(f"invalid value length {vlen}")
        b = buf[pos]
        if b == 0:
            pos += 1
            headers: list[Header] = []
        else:
            count, pos = read_varint(buf, pos)
            if count < 0:
                raise CorruptRecordError(f"invalid header count {count}")
            headers = _parse_headers(buf, pos, end, count)
            pos = headers.pop()  # type: ignore[assignment]
    except IndexError:
        raise CorruptRecordError("record fields run past the end of the data") from None
    if pos != end:
        raise CorruptRecordError(
            f"record at offset delta {off_delta} declares {end - pos} bytes more than its fields use"
            if pos < end
            else f"record at offset delta {off_delta} overruns its declared length by {pos - end} bytes"
        )
    return Record(
        base_offset + off_delta, base_timestamp + ts_delta, key, value, headers, off_delta, ts_delta, attributes
    )


def _parse_headers(buf: bytes | memoryview, pos: int, end: int, count: int) -> list:
    """``count`` headers from ``pos``; the end position is appended last."""
    headers: list = []
    try:
        for _ in range(count):
            hklen, pos = read_varint(buf, pos)
            if hklen < 0:
                raise CorruptRecordError(f"invalid header key length {hklen}")
            hkey = str(buf[pos : pos + hklen], "utf-8")
            pos += hklen
            hvlen, pos = read_varint(buf, pos)
            if hvlen >= 0:
                hval = bytes(buf[pos : pos + hvlen])
                pos += hvlen
            elif hvlen == -1:
                hval = None
            else:
                raise CorruptRecordError(f"invalid header value length {hvlen}")
            headers.append((hkey, hval))
            if pos > end:
                break
    except UnicodeDecodeError as exc:
        raise CorruptRecordError(f"header key is not valid utf-8: {exc}") from None
    headers.append(pos)
    return headers


def encode_record(
    offset_delta: int,
    timestamp_delta: int,
    key: bytes | None,
    value: bytes | None,
    headers: list[Header] | tuple[Header, ...] = (),
    attributes: int = 0,
) -> bytes:
    """The full wire form of one record, length prefix included."""
    parts = [bytes((attributes & 0xFF,)), encode_varlong(timestamp_delta), encode_varint(offset_delta)]
    _append_bytes(parts, key)
    _append_bytes(parts, value)
    parts.append(encode_varint(len(headers)))
    for hkey, hval in headers:
        if hkey is None:
            raise CorruptRecordError("a header key cannot be null")
        raw = hkey.encode("utf-8") if isinstance(hkey, str) else bytes(hkey)
        parts.append(encode_varint(len(raw)))
        parts.append(raw)
        _append_bytes(parts, hval)
    body = b"".join(parts)
    return encode_varint(len(body)) + body


def _append_bytes(parts: list[bytes], data: bytes | bytearray | memoryview | None) -> None:
    if data is None:
        parts.append(b"\x01")  # zigzag(-1)
    else:
        parts.append(encode_varint(len(data)))
        parts.append(bytes(data))
