"""Split a byte stream into Kafka frames (int32 size prefix + payload).

Feed it whatever the transport delivers; it returns the complete frames.  A
frame wholly inside one fed ``bytes`` chunk is returned as a slice of it (no
copy); a frame split across chunks is assembled once into its own buffer,
allocated only after its size passed the bound.
"""
from __future__ import annotations

import struct
from typing import Any

from kproto.exceptions import FrameTooLarge

__all__ = ["FrameDecoder", "DEFAULT_MAX_FRAME_SIZE"]

#: Kafka's default socket.request.max.bytes (100 MiB).
DEFAULT_MAX_FRAME_SIZE = 104857600
_SIZE = struct.Struct(">i")


class FrameDecoder:
    """Incremental frame splitter; refuses frames above ``max_frame_size``."""

    __slots__ = ("max_frame_size", "_prefix", "_frame", "_filled", "_failed")

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        if not isinstance(max_frame_size, int) or max_frame_size < 0:
            raise ValueError(f"max_frame_size must be a non-negative int, got {max_frame_size!r}")
        self.max_frame_size = max_frame_size
        self._prefix = bytearray()
        self._frame: bytearray | None = None
        self._filled = 0
        self._failed: FrameTooLarge | None = None

    @property
    def buffered(self) -> int:
        """Bytes held for an incomplete frame (prefix included)."""
        return len(self._prefix) + (4 + self._filled if self._frame is not None else 0)

    def feed(self, data: Any) -> list[memoryview]:
        """Add bytes; return every frame completed by them (without size prefix)."""
        if self._failed is not None:
            raise self._failed
        if type(data) is not bytes:
            data = bytes(data)  # a caller may reuse a mutable buffer: keep our own copy
        mv = memoryview(data)
        n = len(mv)
        pos = 0
        out: list[memoryview] = []
        while pos < n:
            frame = self._frame
            if frame is not None:
                take = min(len(frame) - self._filled, n - pos)
                frame[self._filled:self._filled + take] = mv[pos:pos + take]
                self._filled += take
                pos += take
                if self._filled == len(frame):
                    out.append(memoryview(frame))
                    self._frame = None
                continue
            if not self._prefix and n - pos >= 4:
                (size,) = _SIZE.unpack_from(mv, pos)
                pos += 4
            else:
                take = min(4 - len(self._prefix), n - pos)
                self._prefix += mv[pos:pos + take]
                pos += take
                if len(self._prefix) < 4:
                    break
                (size,) = _SIZE.unpack_from(self._prefix, 0)
                self._prefix.clear()
            if size < 0 or size > self.max_frame_size:
                self._failed = FrameTooLarge(size, self.max_frame_size)
                raise self._failed
            if n - pos >= size:
                out.append(mv[pos:pos + size])
                pos += size
            else:
                self._frame = bytearray(size)
                self._filled = 0
        return out
