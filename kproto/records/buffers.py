"""Byte buffers as the record layer reads them: one flat unsigned-byte view, never a copy."""

from __future__ import annotations

from typing import Union

from kproto.records.errors import CorruptBatchError

Buffer = Union[bytes, bytearray, memoryview]


def as_byte_view(buffer: Buffer) -> memoryview:
    """A flat unsigned-byte memoryview over ``buffer`` (no copy)."""
    mv = buffer if isinstance(buffer, memoryview) else memoryview(buffer)
    if mv.format != "B" or mv.ndim != 1:
        if not mv.c_contiguous:
            raise CorruptBatchError("records buffer must be contiguous")
        mv = mv.cast("B")
    return mv
