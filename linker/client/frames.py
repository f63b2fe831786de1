"""Size-prefixed frame reception straight into buffers (asyncio.BufferedProtocol).

The splitting is kproto's FrameDecoder on buffered input: small frames are cut
out of one reused staging buffer; a frame larger than half of it gets its own
bytearray and the socket reads the rest of the frame directly into it, so a
multi-MiB Fetch response is copied once (kernel to its final buffer) and then
decoded as memoryview slices of that buffer. A broker is trusted up to
max_frame_size: a large frame's buffer is allocated when its size is read.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable

from kproto.exceptions import FrameTooLarge
from kproto.frames import Buffer, FrameDecoder

FrameHandler = Callable[[Buffer], None]
LostHandler = Callable[[BaseException | None], None]
ErrorHandler = Callable[[str], None]


class FrameProtocol(asyncio.BufferedProtocol):
    """Delivers complete frames (without the size prefix) to `on_frame`."""

    def __init__(self, on_frame: FrameHandler, on_lost: LostHandler, on_bad_frame: ErrorHandler,
                 max_frame_size: int, stage_size: int = 256 * 1024) -> None:
        self._on_frame = on_frame
        self._on_lost = on_lost
        self._on_bad_frame = on_bad_frame
        self._frames = FrameDecoder(max_frame_size, stage_size=stage_size)
        self.get_buffer = self._frames.get_buffer  # type: ignore[method-assign]  # one call less per read
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
    def get_buffer(self, sizehint: int) -> memoryview:  # bound to the decoder's in __init__
        return self._frames.get_buffer(sizehint)

    def buffer_updated(self, nbytes: int) -> None:
        if self._broken:  # dropped: the decoder never sees them, get_buffer reuses the space
            return
        decoder = self._frames
        decoder.buffer_updated(nbytes)
        while True:
            try:
                frames = decoder.frames()
            except FrameTooLarge as exc:
                self._broken = True
                self._on_bad_frame(str(exc))
                return
            if not frames:
                return
            for frame in frames:
                self._on_frame(frame)
                if self._broken:
                    return

    def stop_reading_frames(self) -> None:
        """Ignore any further bytes (the connection is being torn down)."""
        self._broken = True
