"""Errors of the record layer, all under kproto's one base type.

Callers that only care "the bytes were bad" catch ``KprotoError``; the
subclasses let tools tell a CRC mismatch from a codec failure.
"""

from __future__ import annotations

from kproto.exceptions import KprotoError


class RecordError(KprotoError):
    """Malformed or unsupported record data.

    ``position`` is the byte position of the offending batch inside the buffer
    that was handed in (when known), so a caller can cite it in a log line.
    """

    def __init__(self, message: str, *, position: int | None = None) -> None:
        super().__init__(message if position is None else f"{message} (at byte {position})")
        self.position = position


class CorruptBatchError(RecordError):
    """A batch or message set whose framing or header cannot be valid."""


class CrcMismatchError(RecordError):
    """The stored CRC32C does not match the CRC-covered bytes."""


class CorruptRecordError(RecordError):
    """A record inside a batch is malformed (varints, lengths, count)."""


class CompressionError(RecordError):
    """A payload could not be compressed or decompressed with its codec."""
