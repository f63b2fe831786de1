"""Size-prefixed frame reception straight into buffers (asyncio.BufferedProtocol).

Small frames are cut out of one reused staging buffer; a frame larger than
half of it gets its own bytearray and the socket reads the rest of the frame
directly into it, so a multi-MiB Fetch response is copied once (kernel to
its final buffer) and then decoded as memoryview slices of that buffer.
"""
from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable

_SIZE = struct.Struct(">i")

FrameHandler = Callable[[bytearray | bytes], None]
LostHandler = Callable[[BaseException | None], None]
ErrorHandler = Callable[[str], None]


class FrameProtocol(asyncio.BufferedProtocol):
    """Delivers complete frames (without the size prefix) to `on_frame`."""

    def __init__(self, on_frame: FrameHandler, on_lost: LostHandler, on_bad_frame: ErrorHandler,
                 max_frame_size: int, stage_size: int = 256 * 1024) -> None:
        self._on_frame = on_frame
        self._on_lost = on_lost
        self._on_bad_frame = on_bad_frame
        self._max_frame_size = max_frame_size
        self._stage = bytearray(stage_size)
        self._stage_view = memoryview(self._stage)
        self._big_threshold = stage_size // 2
        self._start = 0
        self._end = 0
        self._big: bytearray | None = None
        self._big_view: memoryview | None = None
        self._big_pos = 0
        self._broken = False
        self.transport: asyncio.Transport | None = None
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None

    # -- connection lifecycle -------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self._wake_writers(exc)
        self._on_lost(exc)

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    # -- write flow control -----------------------------------------------------
    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_writers(None)

    def _wake_writers(self, exc: Exception | None) -> None:
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    @property
    def write_paused(self) -> bool:
        return self._write_paused

    async def drain(self) -> None:
        """Wait while the transport's write buffer is above its high mark."""
        if not self._write_paused:
            return
        if self._drain_waiter is None:
            self._drain_waiter = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._drain_waiter)

    # -- reading ------------------------------------------------------------------
    def get_buffer(self, sizehint: int) -> memoryview:
        if self._big_view is not None:
            return self._big_view[self._big_pos:]
        if self._end == len(self._stage):
            self._compact()
        return self._stage_view[self._end:]

    def _compact(self) -> None:
        start, end = self._start, self._end
        if start:
            # bytes() first: memcpy between overlapping regions is undefined.
            self._stage[0:end - start] = bytes(self._stage_view[start:end])
            self._start, self._end = 0, end - start

    def buffer_updated(self, nbytes: int) -> None:
        if self._broken:
            return
        if self._big is not None:
            self._big_pos += nbytes
            if self._big_pos == len(self._big):
                frame = self._big
                self._big = self._big_view = None
                self._on_frame(frame)
            return
        self._end += nbytes
        self._cut_frames()

    def _cut_frames(self) -> None:
        stage, view = self._stage, self._stage_view
        start, end = self._start, self._end
        while end - start >= 4:
            (size,) = _SIZE.unpack_from(stage, start)
            if size < 0 or size > self._max_frame_size:
                self._broken = True
                self._start = self._end = 0
                self._on_bad_frame(
                    f"frame size {size} outside 0..{self._max_frame_size}")
                return
            available = end - start - 4
            if available >= size:
                body_start = start + 4
                start = body_start + size
                self._start = start
                self._on_frame(bytes(view[body_start:start]))
                if self._broken or self._big is not None:
                    return
                start, end = self._start, self._end
                continue
            if size > self._big_threshold:
                big = bytearray(size)
                big[0:available] = view[start + 4:end]
                self._big, self._big_view, self._big_pos = big, memoryview(big), available
                start = end = 0
            elif start + 4 + size > len(stage):
                self._start = start
                self._compact()
                start, end = self._start, self._end
            break
        if start == end:
            start = end = 0
        self._start, self._end = start, end

    def stop_reading_frames(self) -> None:
        """Ignore any further bytes (the connection is being torn down)."""
        self._broken = True
