"""kproto: a sans-I/O Kafka wire-protocol codec.

Bytes in, message objects out, and back; no sockets, asyncio or threads.  See
docs/kproto-api.md for the public surface and docs/kproto.md for an example.
"""
from kproto import errors, messages
from kproto.api_keys import ApiKey
from kproto.exceptions import DecodeError, EncodeError, FrameTooLarge, KprotoError, UnsupportedVersion
from kproto.frames import DEFAULT_MAX_FRAME_SIZE, FrameDecoder
from kproto.headers import (
    RequestHeader,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    peek_correlation_id,
    peek_request_header,
    request_header_version,
    response_header_version,
)

__all__ = [
    "ApiKey", "messages", "errors",
    "KprotoError", "DecodeError", "EncodeError", "UnsupportedVersion", "FrameTooLarge",
    "FrameDecoder", "DEFAULT_MAX_FRAME_SIZE",
    "RequestHeader", "request_header_version", "response_header_version",
    "encode_request", "decode_request", "peek_request_header",
    "encode_response", "decode_response", "peek_correlation_id",
]
