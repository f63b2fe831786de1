"""Request/response headers and whole frames, with the protocol's quirks.

Quirks kept here so callers need not know them:

* request header v0 (no client id) is only ControlledShutdown v0; v1 adds the
  client id; v2 (flexible requests) adds a tagged-field section, but the
  client id stays an int16-length nullable string (old brokers must read the
  header of any ApiVersions request);
* response header v1 (flexible responses) adds a tagged-field section, except
  for ApiVersions responses, which always use v0 so that a client can read the
  error of a version the broker does not support.
"""
from __future__ import annotations

import struct
from typing import Any

from kproto.api_keys import ApiKey
from kproto.codegen.runtime import write_tag_section
from kproto.exceptions import DecodeError, EncodeError
from kproto.message_class import DECODE_FAILURES, KafkaMessage
from kproto.messages import by_key
from kproto.primitives import Malformed, read_uvarint

__all__ = [
    "RequestHeader", "request_header_version", "response_header_version",
    "encode_request", "decode_request", "peek_request_header",
    "encode_response", "decode_response", "peek_correlation_id",
]

_HEAD = struct.Struct(">hhi")
_KEY_VERSION = struct.Struct(">hh")
_HEAD_CLIENT = struct.Struct(">hhih")
_I32 = struct.Struct(">i")
_SIZE_CORR = struct.Struct(">ii")
_NULL_STRING = b"\xff\xff"


def _flexible_from(api_key: int, request: bool) -> int | None:
    try:
        return by_key(api_key, request).FLEXIBLE_FROM
    except KeyError:
        raise KeyError(f"unknown API key {api_key!r}") from None


def request_header_version(api_key: int, api_version: int) -> int:
    """Header version of a request: 2 if the request version is flexible, else 1."""
    if api_key == ApiKey.CONTROLLED_SHUTDOWN and api_version == 0:
        return 0
    flex = _flexible_from(api_key, True)
    return 2 if flex is not None and api_version >= flex else 1


def response_header_version(api_key: int, api_version: int) -> int:
    """Header version of a response: 1 if flexible, else 0; ApiVersions always 0."""
    if api_key == ApiKey.API_VERSIONS:
        return 0
    flex = _flexible_from(api_key, False)
    return 1 if flex is not None and api_version >= flex else 0


class RequestHeader:
    """A request header (versions 0-2)."""

    __slots__ = ("api_key", "api_version", "correlation_id", "client_id", "unknown_tags")

    def __init__(self, *, api_key: int, api_version: int, correlation_id: int,
                 client_id: str | None = None, unknown_tags: dict[int, bytes] | None = None) -> None:
        self.api_key = api_key
        self.api_version = api_version
        self.correlation_id = correlation_id
        self.client_id = client_id
        self.unknown_tags: dict[int, bytes] = dict(unknown_tags) if unknown_tags else {}

    def encode(self, header_version: int) -> bytes:
        """The header bytes in ``header_version`` (0, 1 or 2)."""
        try:
            if header_version == 0:
                return _HEAD.pack(self.api_key, self.api_version, self.correlation_id)
            cid = self.client_id
            if cid is None:
                out = _HEAD.pack(self.api_key, self.api_version, self.correlation_id) + _NULL_STRING
            else:
                raw = cid.encode("utf-8")
                out = _HEAD_CLIENT.pack(self.api_key, self.api_version, self.correlation_id, len(raw)) + raw
            if header_version == 1:
                return out
            if header_version != 2:
                raise ValueError(f"request header version {header_version} does not exist")
            parts: list[Any] = [out]
            write_tag_section(parts.append, (), self.unknown_tags)
            return b"".join(parts)
        except (struct.error, AttributeError, TypeError, ValueError, UnicodeEncodeError) as exc:
            raise EncodeError("RequestHeader", header_version, "", f"{type(exc).__name__}: {exc}") from None

    @classmethod
    def decode(cls, buf: Any, header_version: int) -> tuple["RequestHeader", int]:
        """Parse a header at the start of ``buf``; returns it and the body offset."""
        mv = memoryview(buf)
        path = "request_api_key"
        try:
            key, version, corr = _HEAD.unpack_from(mv, 0)
            pos = 8
            client_id = None
            tags: dict[int, bytes] = {}
            if header_version >= 1:
                path = "client_id"
                (n,) = _I16.unpack_from(mv, pos)
                pos += 2
                if n >= 0:
                    if pos + n > len(mv):
                        raise Malformed(f"client_id length {n} exceeds the {len(mv) - pos} remaining bytes")
                    client_id = str(mv[pos:pos + n], "utf-8")
                    pos += n
                elif n != -1:
                    raise Malformed(f"negative client_id length {n}")
            if header_version >= 2:
                path = "<tagged fields>"
                pos = _read_tags(mv, pos, tags)
        except DECODE_FAILURES as exc:
            raise DecodeError("RequestHeader", header_version, path, _why(exc)) from None
        return cls(api_key=key, api_version=version, correlation_id=corr, client_id=client_id,
                   unknown_tags=tags), pos

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RequestHeader):
            return NotImplemented
        return all(getattr(self, a) == getattr(other, a) for a in self.__slots__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"RequestHeader(api_key={self.api_key}, api_version={self.api_version}, "
                f"correlation_id={self.correlation_id}, client_id={self.client_id!r})")


_I16 = struct.Struct(">h")


def _why(exc: BaseException) -> str:
    if isinstance(exc, Malformed):
        return str(exc.args[0])
    if isinstance(exc, (struct.error, IndexError)):
        return f"truncated input ({exc})"
    return f"{type(exc).__name__}: {exc}"


def _read_tags(mv: memoryview, pos: int, tags: dict[int, bytes]) -> int:
    n, pos = read_uvarint(mv, pos)
    if n > len(mv) - pos:
        raise Malformed(f"{n} tagged fields but {len(mv) - pos} bytes left")
    for _ in range(n):
        tag, pos = read_uvarint(mv, pos)
        size, pos = read_uvarint(mv, pos)
        if pos + size > len(mv):
            raise Malformed(f"tagged field {tag} of {size} bytes exceeds the {len(mv) - pos} remaining")
        tags[tag] = bytes(mv[pos:pos + size])
        pos += size
    return pos


def _frame(head: bytes, chunks: list[Any]) -> list[Any]:
    """Size prefix + header + body chunks, the small leading pieces joined."""
    total = len(head)
    for c in chunks:
        total += c.nbytes if type(c) is memoryview else len(c)
    if chunks and type(chunks[0]) is bytes:
        return [b"".join((_I32.pack(total), head, chunks[0])), *chunks[1:]]
    return [_I32.pack(total) + head, *chunks]


def encode_request(body: KafkaMessage, api_version: int, correlation_id: int,
                   client_id: str | None) -> list[Any]:
    """A whole request frame (size prefix included) as buffers for ``writelines``."""
    key = body.API_KEY
    if key is None or not body.NAME.endswith("Request"):
        raise EncodeError(body.NAME, api_version, "", "not a request message")
    header = RequestHeader(api_key=key, api_version=api_version, correlation_id=correlation_id,
                           client_id=client_id)
    chunks = body.encode_chunks(api_version)
    return _frame(header.encode(request_header_version(key, api_version)), chunks)


def peek_request_header(frame: Any) -> tuple[RequestHeader, int]:
    """Parse only the header of a request frame (works for unknown API keys).

    An API key kproto does not know is read as header v1 (no tagged fields).
    """
    mv = memoryview(frame)
    if len(mv) < 4:
        raise DecodeError("RequestHeader", None, "request_api_key", f"frame of {len(mv)} bytes is too short")
    key, version = _KEY_VERSION.unpack_from(mv, 0)
    try:
        hv = request_header_version(key, version)
    except KeyError:
        hv = 1
    return RequestHeader.decode(mv, hv)


def decode_request(frame: Any) -> tuple[RequestHeader, KafkaMessage]:
    """Header and body of a request frame (the bytes after the size prefix)."""
    header, pos = peek_request_header(frame)
    try:
        cls = by_key(header.api_key, True)
    except KeyError:
        raise DecodeError(f"api key {header.api_key}", header.api_version, "", "unknown API key") from None
    return header, cls.decode(memoryview(frame)[pos:], header.api_version)


def encode_response(body: KafkaMessage, api_version: int, correlation_id: int) -> list[Any]:
    """A whole response frame (size prefix included) as buffers for ``writelines``."""
    key = body.API_KEY
    if key is None or not body.NAME.endswith("Response"):
        raise EncodeError(body.NAME, api_version, "", "not a response message")
    try:
        head = _I32.pack(correlation_id)
    except struct.error as exc:
        raise EncodeError("ResponseHeader", None, "correlation_id", str(exc)) from None
    if response_header_version(key, api_version) == 1:
        head += b"\x00"
    return _frame(head, body.encode_chunks(api_version))


def decode_response(api_key: int, api_version: int, frame: Any) -> tuple[int, KafkaMessage]:
    """Correlation id and body of a response frame (the bytes after the size prefix)."""
    try:
        cls = by_key(api_key, False)
    except KeyError:
        raise DecodeError(f"api key {api_key}", api_version, "", "unknown API key") from None
    mv = memoryview(frame)
    try:
        (corr,) = _I32.unpack_from(mv, 0)
        pos = 4
        if response_header_version(api_key, api_version) == 1:
            pos = _read_tags(mv, pos, {})
    except DECODE_FAILURES as exc:
        raise DecodeError("ResponseHeader", None, "", _why(exc)) from None
    return corr, cls.decode(mv[pos:], api_version)


def peek_correlation_id(frame: Any) -> int:
    """The correlation id of a response frame (its first four bytes)."""
    mv = memoryview(frame)
    if len(mv) < 4:
        raise DecodeError("ResponseHeader", None, "correlation_id", f"frame of {len(mv)} bytes is too short")
    return _I32.unpack_from(mv, 0)[0]  # type: ignore[no-any-return]
