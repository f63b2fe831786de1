"""Split a byte stream into Kafka frames (int32 size prefix + payload), sans-I/O.

The one splitter for every reader of Kafka's framing (the client, and both
directions of the proxy). Bytes come in one of two ways:

- ``receive_data(data)``: what the transport delivered (``asyncio.Protocol``). A
  frame wholly inside one ``bytes`` chunk comes out as a slice of it (no copy).
- ``get_buffer()`` then ``buffer_updated(n)``: the transport writes into the
  decoder's memory (``asyncio.BufferedProtocol``). Frames are cut from a reused
  staging buffer (one copy out); a frame larger than half of it gets a buffer of
  its own and the transport writes the rest of it straight there, so a large
  Fetch response is copied once, by the kernel.

``next_event()`` returns, in stream order and in the spirit of h11's events:

- ``Frame(data)``: a whole frame, without its size prefix;
- ``FrameStart(size, head)``: a frame longer than ``head_size`` began and is not
  all here yet; ``head`` holds its first ``head_size`` bytes. The caller decides:
  ``stream()``, and the rest of the frame comes as ``BodyChunk(data)`` events as it
  arrives, then ``FRAME_END``; or nothing, and the frame is collected and comes as
  one ``Frame``;
- ``NEED_DATA``: nothing more until more bytes arrive.

With ``head_size`` 0 (the default) every frame comes whole. ``frames()`` returns
every frame the input completes in one call (the fast path for callers that take
every frame whole), and ``feed(data)`` is ``receive_data(data)`` then ``frames()``.

A frame's bytes are a view of received bytes when it lies in one chunk, a
``bytes`` when it was cut from the staging buffer or assembled from parts, and its
own ``bytearray`` when buffered input wrote it straight into one.

Bounds: a size prefix outside ``0..max_frame_size`` raises ``FrameTooLarge``
before anything is allocated, and the stream stays failed. A frame collected
from received chunks holds only the bytes that arrived (its parts are joined
once, when it is complete), so a prefix announcing 100 MiB followed by 1 KiB
costs 1 KiB. Only buffered input allocates a large frame's announced size at
once, to save the copy: use it where the peer is trusted up to the bound.
"""
from __future__ import annotations

import struct
from typing import Any, Union

from kproto.exceptions import FrameTooLarge

__all__ = ["FrameDecoder", "DEFAULT_MAX_FRAME_SIZE", "Frame", "FrameStart", "BodyChunk", "FrameEnd",
           "NeedData", "FRAME_END", "NEED_DATA", "Event", "Buffer", "DEFAULT_STAGE_SIZE"]

#: Kafka's default socket.request.max.bytes (100 MiB).
DEFAULT_MAX_FRAME_SIZE = 104857600
#: Staging buffer of buffered input; frames above half of it get their own buffer.
DEFAULT_STAGE_SIZE = 256 * 1024
_SIZE = struct.Struct(">i")
_unpack_size = _SIZE.unpack_from


#: A frame's bytes: a view of received bytes, or bytes/bytearray the decoder made.
Buffer = Union[memoryview, bytes, bytearray]


class Frame:
    """A whole frame (without its size prefix)."""

    __slots__ = ("data",)

    def __init__(self, data: Buffer) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"Frame({len(self.data)} bytes)"


class FrameStart:
    """A frame of `size` bytes began; `head` is its first head_size bytes."""

    __slots__ = ("size", "head")

    def __init__(self, size: int, head: Buffer) -> None:
        self.size = size
        self.head = head

    def __repr__(self) -> str:
        return f"FrameStart(size={self.size}, head={len(self.head)} bytes)"


class BodyChunk:
    """The next bytes of a streamed frame (after its head).

    From buffered input the view is of the staging buffer: use it before giving
    the decoder more bytes, or call ``detach_stage()`` if it is still held."""

    __slots__ = ("data",)

    def __init__(self, data: memoryview) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"BodyChunk({len(self.data)} bytes)"


class FrameEnd:
    """The streamed frame is complete."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "FRAME_END"


class NeedData:
    """No event until more bytes arrive."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


FRAME_END = FrameEnd()
NEED_DATA = NeedData()
_NO_INPUT = memoryview(b"")
Event = Union[Frame, FrameStart, BodyChunk, FrameEnd, NeedData]

# What the decoder does with the bytes of the frame it is inside.
_COLLECT = 0   # gather them; one Frame when complete
_HEAD = 1      # gather the first head_size bytes, then FrameStart
_DECIDE = 2    # FrameStart given: stream() was called, or the frame is collected
_STREAM = 3    # hand them out as BodyChunks


class FrameDecoder:
    """Incremental frame splitter; refuses frames above ``max_frame_size``."""

    __slots__ = ("max_frame_size", "head_size", "_stage_size", "_stage", "_stage_view", "_mv", "_pos",
                 "_end", "_prefix", "_size", "_have", "_mode", "_parts", "_buf", "_buf_view", "_ready",
                 "_failed")

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE, *, head_size: int = 0,
                 stage_size: int = DEFAULT_STAGE_SIZE) -> None:
        if not isinstance(max_frame_size, int) or max_frame_size < 0:
            raise ValueError(f"max_frame_size must be a non-negative int, got {max_frame_size!r}")
        if not isinstance(head_size, int) or head_size < 0:
            raise ValueError(f"head_size must be a non-negative int, got {head_size!r}")
        if not isinstance(stage_size, int) or stage_size < 8:
            raise ValueError(f"stage_size must be an int of at least 8, got {stage_size!r}")
        self.max_frame_size = max_frame_size
        self.head_size = head_size
        self._stage_size = stage_size
        self._stage: bytearray | None = None        # buffered input only, made on first use
        self._stage_view: memoryview | None = None
        self._mv: memoryview = _NO_INPUT          # the input being split, [_pos:_end] not yet read
        self._pos = 0
        self._end = 0
        self._prefix = bytearray()                # a size prefix split across inputs
        self._size = -1                           # the current frame's size; -1 between frames
        self._have = 0                            # its bytes read so far
        self._mode = _COLLECT
        self._parts: list[Buffer] = []            # its bytes so far, unless in _buf
        self._buf: bytearray | None = None        # buffered input: a large frame's own buffer
        self._buf_view: memoryview | None = None
        self._ready: Event | None = None          # an event due before any further byte
        self._failed: FrameTooLarge | None = None

    # -- state ------------------------------------------------------------------------
    @property
    def buffered(self) -> int:
        """Bytes received of the frame not yet complete (its size prefix included)."""
        return len(self._prefix) + (4 + self._have if self._size >= 0 else 0)

    @property
    def partial(self) -> bool:
        """True while a frame has begun (a byte of its size prefix arrived) and not ended."""
        return self._size >= 0 or bool(self._prefix)

    # -- input ------------------------------------------------------------------------
    def receive_data(self, data: Any) -> None:
        """Add bytes the transport delivered; read the events with next_event()."""
        if self._failed is not None:
            raise self._failed
        if type(data) is not bytes:
            data = bytes(data)  # a caller may reuse a mutable buffer: keep our own copy
        if self._pos != self._end:  # events not read yet: keep their bytes ahead of these
            if self._mv is self._stage_view:
                raise RuntimeError("receive_data() while buffered input is unread")
            data = bytes(self._mv[self._pos:self._end]) + data
        self._mv = memoryview(data)
        self._pos = 0
        self._end = len(data)

    def get_buffer(self, sizehint: int = -1) -> memoryview:
        """Where the transport should write the next bytes (then call buffer_updated)."""
        if self._buf_view is not None:
            return self._buf_view[self._have:]
        view = self._stage_view
        if view is None:
            self._stage = bytearray(self._stage_size)
            view = self._stage_view = memoryview(self._stage)
        if self._failed is not None:
            return view
        if self._mv is not view:
            if self._pos != self._end:
                raise RuntimeError("get_buffer() while received data is unread")
            self._mv = view
            self._pos = self._end = 0
        elif self._pos == self._end:
            self._pos = self._end = 0
        elif self._end == len(view):  # unread bytes at the end: move them to the front
            if not self._pos:
                raise RuntimeError("read the events before giving the decoder more bytes")
            kept = self._end - self._pos
            view[:kept] = bytes(view[self._pos:self._end])
            self._pos, self._end = 0, kept
        return view[self._end:]

    def detach_stage(self) -> None:
        """Views of the staging buffer handed out (BodyChunks) may outlive this read (a
        transport queued them unsent): let them keep the old buffer, and write the next
        bytes into a new one (unread bytes are carried over)."""
        old = self._stage_view
        if old is None:
            return
        self._stage = self._stage_view = None
        if self._mv is not old:
            return
        if self._pos == self._end:
            self._mv = _NO_INPUT
            self._pos = self._end = 0
            return
        kept = self._end - self._pos
        self._stage = bytearray(max(self._stage_size, kept))
        view = self._stage_view = memoryview(self._stage)
        view[:kept] = old[self._pos:self._end]
        self._mv, self._pos, self._end = view, 0, kept

    def buffer_updated(self, nbytes: int) -> None:
        """`nbytes` were written at the start of the last get_buffer()."""
        if self._failed is not None:
            return
        if self._buf_view is not None:
            self._have += nbytes
            if self._have == self._size:
                self._ready = Frame(self._buf)  # type: ignore[arg-type]
                self._end_frame()
            return
        self._end += nbytes

    def feed(self, data: Any) -> list[Buffer]:
        """Add bytes; return every frame completed by them (without size prefix)."""
        self.receive_data(data)
        return self.frames()

    # -- events -----------------------------------------------------------------------
    def frames(self) -> list[Buffer]:
        """Every frame the bytes given so far complete, each whole (FrameStarts are
        answered by collecting): next_event() for callers that take every frame whole,
        with the common case, frames lying in the input, cut in one tight loop.

        A refused size prefix raises FrameTooLarge, after the frames before it were
        returned (by this call, the next one raises)."""
        out: list[Buffer] = []
        if self._buf_view is not None:  # a large frame still being written into its buffer
            return out
        append = out.append
        limit = self.max_frame_size
        while True:
            if self._size < 0 and self._ready is None and not self._prefix:
                mv, pos, end = self._mv, self._pos, self._end
                copy = mv is self._stage_view
                while end - pos >= 4:
                    (size,) = _unpack_size(mv, pos)
                    start = pos + 4
                    stop = start + size
                    if stop > end or size < 0 or size > limit:
                        break
                    append(mv[start:stop].tobytes() if copy else mv[start:stop])
                    pos = stop
                self._pos = pos
            try:
                event = self.next_event()
            except FrameTooLarge:
                if out:  # the frames before it first; the next call raises
                    return out
                raise
            if event.__class__ is Frame:
                append(event.data)  # type: ignore[union-attr]
            elif event is NEED_DATA:
                return out

    def stream(self) -> None:
        """Answer a FrameStart: hand out the rest of this frame as BodyChunks."""
        if self._mode != _DECIDE:
            raise RuntimeError("stream() answers a FrameStart event, and only once")
        self._mode = _STREAM
        self._parts.clear()

    def next_event(self) -> Event:
        """The next event; NEED_DATA when the bytes given so far are used up."""
        ready = self._ready
        if ready is not None:
            self._ready = None
            return ready
        while True:
            mv, pos, end = self._mv, self._pos, self._end
            size = self._size
            if size < 0:
                if pos == end:
                    if self._failed is not None:  # failing consumed the input: pos == end
                        raise self._failed
                    return self._used_up()
                prefix = self._prefix
                if not prefix and end - pos >= 4:
                    (size,) = _unpack_size(mv, pos)
                    pos += 4
                else:
                    take = min(4 - len(prefix), end - pos)
                    prefix += mv[pos:pos + take]
                    pos += take
                    if len(prefix) < 4:
                        return self._used_up()
                    (size,) = _unpack_size(prefix, 0)
                    prefix.clear()
                if size < 0 or size > self.max_frame_size:
                    self._pos = self._end
                    self._failed = FrameTooLarge(size, self.max_frame_size)
                    raise self._failed
                if end - pos >= size:  # whole, here
                    self._pos = stop = pos + size
                    return Frame(mv[pos:stop].tobytes() if mv is self._stage_view else mv[pos:stop])
                self._pos = pos
                self._size = size
                self._have = 0
                if self.head_size and size > self.head_size:
                    self._mode = _HEAD
                else:
                    self._collect()
                continue
            mode = self._mode
            if mode == _DECIDE:  # FrameStart not answered with stream(): collect the frame
                self._collect()
                continue
            if pos == end:
                return self._used_up()
            have = self._have
            take = min(end - pos, size - have)
            if mode == _STREAM:
                self._pos = pos + take
                self._have = have + take
                if have + take == size:
                    self._ready = FRAME_END
                    self._end_frame()
                return BodyChunk(mv[pos:pos + take])
            if mode == _HEAD:
                if take < size - have:  # the frame does not end here: FrameStart after its head
                    take = min(take, self.head_size - have)
                    self._parts.append(self._keep(mv, pos, pos + take))
                    self._pos = pos + take
                    self._have = have = have + take
                    if have < self.head_size:
                        return self._used_up()
                    parts = self._parts
                    head = parts[0] if len(parts) == 1 else b"".join(parts)
                    parts[:] = [head]
                    self._mode = _DECIDE
                    return FrameStart(size, head)
                self._collect()  # it does: collect it, it comes whole
            buf = self._buf_view
            if buf is not None:
                buf[have:have + take] = mv[pos:pos + take]
            else:
                self._parts.append(self._keep(mv, pos, pos + take))
            self._pos = pos + take
            self._have = have + take
            if have + take < size:
                return self._used_up()
            frame = self._buf if buf is not None else b"".join(self._parts)
            self._end_frame()
            return Frame(frame)  # type: ignore[arg-type]

    def _used_up(self) -> NeedData:
        """Every byte given is read: let go of the input, so a chunk received is freed when
        its last frame or part is, as it would be without the decoder."""
        if self._mv is self._stage_view:
            self._pos = self._end
        else:
            self._mv = _NO_INPUT
            self._pos = self._end = 0
        return NEED_DATA

    def _keep(self, mv: memoryview, start: int, stop: int) -> Buffer:
        """Bytes of the input that outlive it: a view of received bytes, a copy from the stage."""
        if mv is self._stage_view:
            return mv[start:stop].tobytes()
        return mv[start:stop]

    def _collect(self) -> None:
        """Collect the current frame: from buffered input a large one gets its own buffer."""
        self._mode = _COLLECT
        size = self._size
        if self._stage_view is not None and size > self._stage_size // 2:
            self._buf = bytearray(size)
            self._buf_view = view = memoryview(self._buf)
            pos = 0
            for part in self._parts:
                view[pos:pos + len(part)] = part
                pos += len(part)
            self._parts.clear()

    def _end_frame(self) -> None:
        self._size = -1
        self._have = 0
        self._mode = _COLLECT
        self._parts.clear()
        self._buf = self._buf_view = None
