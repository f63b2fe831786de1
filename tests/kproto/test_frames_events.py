"""FrameDecoder's events: streamed and collected frames, received and buffered input.

Whatever the chunking, the head size, the per-frame choice to stream or collect,
and the way bytes come in, the frames reassemble exactly; oversize prefixes are
refused; a collected frame holds only the bytes that arrived.
"""
from __future__ import annotations

import struct
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kproto
from kproto.frames import (FRAME_END, NEED_DATA, BodyChunk, Frame, FrameDecoder, FrameStart)


def framed(payloads: list[bytes]) -> bytes:
    return b"".join(struct.pack(">i", len(p)) + p for p in payloads)


class Reassembler:
    """Reads every event, streaming the frames `decide` picks; checks the event grammar."""

    def __init__(self, decoder: FrameDecoder, decide) -> None:
        self.decoder = decoder
        self.decide = decide
        self.frames: list[bytes] = []
        self.streamed: list[bool] = []
        self._body: list[bytes] | None = None
        self._size = 0

    def drain(self) -> None:
        while True:
            event = self.decoder.next_event()
            if event is NEED_DATA:
                return
            if isinstance(event, Frame):
                assert self._body is None
                self.frames.append(bytes(event.data))
                self.streamed.append(False)
            elif isinstance(event, FrameStart):
                assert self._body is None
                head_size = self.decoder.head_size
                assert event.size > head_size and len(event.head) == head_size
                if self.decide(event.size, bytes(event.head)):
                    self.decoder.stream()
                    self._body, self._size = [bytes(event.head)], event.size
            elif isinstance(event, BodyChunk):
                assert self._body is not None and len(event.data) > 0
                self._body.append(bytes(event.data))
            else:
                assert event is FRAME_END and self._body is not None
                body = b"".join(self._body)
                assert len(body) == self._size
                self.frames.append(body)
                self.streamed.append(True)
                self._body = None


def receive(payloads: list[bytes], cuts: list[int], head_size: int, decide) -> Reassembler:
    stream = framed(payloads)
    decoder = FrameDecoder(max_frame_size=1 << 20, head_size=head_size)
    r = Reassembler(decoder, decide)
    start = 0
    for cut in sorted(cuts) + [len(stream)]:
        decoder.receive_data(stream[start:cut])
        r.drain()
        start = cut
    return r


def buffered(payloads: list[bytes], reads: list[int], head_size: int, stage: int, decide) -> Reassembler:
    """Drive get_buffer/buffer_updated as asyncio's BufferedProtocol transport does."""
    stream = framed(payloads)
    decoder = FrameDecoder(max_frame_size=1 << 20, head_size=head_size, stage_size=stage)
    r = Reassembler(decoder, decide)
    pos = i = 0
    while pos < len(stream):
        buffer = decoder.get_buffer(-1)
        assert len(buffer) > 0
        n = min(reads[i % len(reads)], len(buffer), len(stream) - pos)
        buffer[:n] = stream[pos:pos + n]
        decoder.buffer_updated(n)
        r.drain()
        pos += n
        i += 1
    return r


payload_lists = st.lists(st.binary(max_size=300), max_size=8)


@st.composite
def deciders(draw):
    """A per-frame choice to stream, drawn up front from the frame's size and head."""
    choices = draw(st.lists(st.booleans(), min_size=1, max_size=8))
    calls = iter(range(1 << 30))
    return lambda size, head: choices[next(calls) % len(choices)]


@settings(max_examples=300, deadline=None)
@given(payloads=payload_lists, data=st.data(), head_size=st.integers(0, 40), decide=deciders())
def test_received_chunks_reassemble_whatever_is_streamed(payloads, data, head_size, decide) -> None:
    stream_len = len(framed(payloads))
    cuts = data.draw(st.lists(st.integers(0, stream_len), max_size=12))
    r = receive(payloads, cuts, head_size, decide)
    assert r.frames == payloads
    assert r.decoder.buffered == 0 and not r.decoder.partial
    for body, streamed in zip(payloads, r.streamed):
        assert not streamed or len(body) > head_size


@settings(max_examples=300, deadline=None)
@given(payloads=st.lists(st.binary(max_size=600), max_size=8),
       reads=st.lists(st.integers(1, 700), min_size=1, max_size=10),
       head_size=st.integers(0, 40), stage=st.sampled_from([8, 16, 64, 256, 1024]), decide=deciders())
def test_buffered_input_reassembles_whatever_is_streamed(payloads, reads, head_size, stage, decide) -> None:
    r = buffered(payloads, reads, head_size, stage, decide)
    assert r.frames == payloads
    assert r.decoder.buffered == 0 and not r.decoder.partial


@settings(max_examples=200, deadline=None)
@given(payloads=payload_lists, data=st.data(), head_size=st.integers(1, 40))
def test_streaming_and_whole_modes_agree(payloads, data, head_size) -> None:
    stream = framed(payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    whole = FrameDecoder(max_frame_size=1 << 20)
    got: list[bytes] = []
    start = 0
    for cut in cuts + [len(stream)]:
        got.extend(bytes(f) for f in whole.feed(stream[start:cut]))
        start = cut
    assert receive(payloads, cuts, head_size, lambda size, head: True).frames == got
    assert receive(payloads, cuts, head_size, lambda size, head: False).frames == got
    assert all(not s for s in receive(payloads, cuts, 0, lambda size, head: True).streamed)


@settings(max_examples=200, deadline=None)
@given(payloads=st.lists(st.binary(max_size=60), max_size=5), data=st.data(),
       bad=st.sampled_from([-1, -2**31, 65, 2**31 - 1]), head_size=st.integers(0, 8),
       use_buffer=st.booleans())
def test_oversize_prefix_is_refused_after_the_frames_before_it(payloads, data, bad, head_size, use_buffer) -> None:
    stream = framed(payloads) + struct.pack(">i", bad) + b"x" * 10
    decoder = FrameDecoder(max_frame_size=64, head_size=head_size, stage_size=32)
    r = Reassembler(decoder, lambda size, head: True)
    reads = data.draw(st.lists(st.integers(1, 50), min_size=1, max_size=6))
    pos = i = 0
    with pytest.raises(kproto.FrameTooLarge) as info:
        while pos < len(stream):
            n = min(reads[i % len(reads)], len(stream) - pos)
            if use_buffer:
                buffer = decoder.get_buffer()
                n = min(n, len(buffer))
                buffer[:n] = stream[pos:pos + n]
                decoder.buffer_updated(n)
            else:
                decoder.receive_data(stream[pos:pos + n])
            pos += n
            i += 1
            r.drain()
    assert info.value.size == bad and info.value.limit == 64
    assert r.frames == payloads
    with pytest.raises(kproto.FrameTooLarge):  # the stream stays failed
        decoder.next_event()


def test_frames_and_chunks_of_received_bytes_are_views_of_them() -> None:
    big = b"B" * 100
    decoder = FrameDecoder(head_size=10)
    first = framed([b"one", b"two"]) + struct.pack(">i", len(big)) + big[:30]
    decoder.receive_data(first)
    one, two, start = decoder.next_event(), decoder.next_event(), decoder.next_event()
    assert isinstance(one, Frame) and one.data.obj is first and bytes(one.data) == b"one"
    assert isinstance(two, Frame) and two.data.obj is first
    assert isinstance(start, FrameStart) and start.size == 100 and start.head.obj is first
    decoder.stream()
    chunk = decoder.next_event()
    assert isinstance(chunk, BodyChunk) and chunk.data.obj is first and bytes(chunk.data) == big[10:30]
    assert decoder.next_event() is NEED_DATA and decoder.partial
    rest = big[30:] + framed([b"after"])
    decoder.receive_data(rest)
    chunk = decoder.next_event()
    assert isinstance(chunk, BodyChunk) and chunk.data.obj is rest and bytes(chunk.data) == big[30:]
    assert decoder.next_event() is FRAME_END
    after = decoder.next_event()
    assert isinstance(after, Frame) and bytes(after.data) == b"after"
    assert decoder.next_event() is NEED_DATA and not decoder.partial


def test_a_frame_that_ends_in_the_input_comes_whole_even_above_head_size() -> None:
    decoder = FrameDecoder(head_size=4)
    decoder.receive_data(framed([b"0123456789"])[:6])
    assert decoder.next_event() is NEED_DATA
    decoder.receive_data(framed([b"0123456789"])[6:])
    event = decoder.next_event()
    assert isinstance(event, Frame) and bytes(event.data) == b"0123456789"


def test_stream_only_answers_a_frame_start() -> None:
    decoder = FrameDecoder(head_size=2)
    with pytest.raises(RuntimeError):
        decoder.stream()
    decoder.receive_data(struct.pack(">i", 10) + b"abc")
    assert isinstance(decoder.next_event(), FrameStart)
    decoder.stream()
    with pytest.raises(RuntimeError):
        decoder.stream()


@pytest.mark.parametrize("head_size", [0, 1024])
def test_a_huge_announced_frame_holds_only_what_arrived(head_size: int) -> None:
    """100 MiB announced, 1 KiB sent: the decoder holds about 1 KiB, not 100 MiB."""
    decoder = FrameDecoder(max_frame_size=200 << 20, head_size=head_size)
    tracemalloc.start()
    try:
        decoder.receive_data(struct.pack(">i", 100 << 20) + b"x" * 1024)
        if head_size:  # the caller looks at the head and lets the frame be collected
            assert isinstance(decoder.next_event(), FrameStart)
        assert decoder.next_event() is NEED_DATA
        for _ in range(8):
            decoder.receive_data(b"y" * 1024)
            assert decoder.next_event() is NEED_DATA
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024
    assert decoder.buffered == 4 + 9 * 1024 and decoder.partial


def test_buffered_input_writes_a_large_frame_straight_into_its_own_buffer() -> None:
    body = bytes(range(256)) * 8
    stream = framed([body, b"tail"])
    decoder = FrameDecoder(stage_size=64)
    buffer = decoder.get_buffer()
    buffer[:40] = stream[:40]
    decoder.buffer_updated(40)
    assert decoder.next_event() is NEED_DATA
    own = decoder.get_buffer()
    assert len(own) == len(body) - 36   # exactly the rest of the frame
    own[:] = stream[40:4 + len(body)]
    decoder.buffer_updated(len(own))
    frame = decoder.next_event()
    assert isinstance(frame, Frame) and bytes(frame.data) == body
    assert frame.data is own.obj        # the buffer the transport wrote into
    assert decoder.next_event() is NEED_DATA
    buffer = decoder.get_buffer()
    buffer[:8] = stream[-8:]
    decoder.buffer_updated(8)
    tail = decoder.next_event()
    assert isinstance(tail, Frame) and bytes(tail.data) == b"tail"


@settings(max_examples=300, deadline=None)
@given(payloads=st.lists(st.binary(min_size=1, max_size=600), max_size=8),
       reads=st.lists(st.integers(1, 700), min_size=1, max_size=10),
       events=st.lists(st.integers(1, 4), min_size=1, max_size=10), stage=st.sampled_from([16, 64, 256]))
def test_chunks_held_past_a_read_stay_intact_after_detach_stage(payloads, reads, events, stage) -> None:
    """A transport may keep relayed chunks (views of the stage) unsent: after detach_stage()
    the next reads go to new memory, and unread bytes are carried over."""
    stream = framed(payloads)
    decoder = FrameDecoder(max_frame_size=1 << 20, head_size=1, stage_size=stage)
    held: list[list] = []          # per frame, its parts as the decoder gave them (views, not copied)
    body: list | None = None
    pos = i = 0

    def take(limit: int) -> None:
        nonlocal body
        for _ in range(limit):
            event = decoder.next_event()
            if event is NEED_DATA:
                return
            if isinstance(event, Frame):
                held.append([event.data])
            elif isinstance(event, FrameStart):
                decoder.stream()
                body = [bytes(event.head)]
            elif isinstance(event, BodyChunk):
                body.append(event.data)
            else:
                held.append(body)
                body = None

    while pos < len(stream) or decoder.partial:
        take(events[i % len(events)])    # sometimes stops with bytes unread: they are carried over
        decoder.detach_stage()
        take(1 << 20)
        decoder.detach_stage()
        if pos < len(stream):
            buffer = decoder.get_buffer(-1)
            n = min(reads[i % len(reads)], len(buffer), len(stream) - pos)
            buffer[:n] = stream[pos:pos + n]
            decoder.buffer_updated(n)
            pos += n
        i += 1
    take(1 << 20)
    assert [b"".join(bytes(p) for p in parts) for parts in held] == payloads


def test_frames_from_the_stage_are_copies_that_outlive_it() -> None:
    decoder = FrameDecoder(stage_size=64)
    buffer = decoder.get_buffer()
    buffer[:9] = framed([b"hello"])
    decoder.buffer_updated(9)
    frame = decoder.next_event()
    assert decoder.next_event() is NEED_DATA
    decoder.get_buffer()[:9] = b"X" * 9
    assert bytes(frame.data) == b"hello"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="head_size"):
        FrameDecoder(head_size=-1)
    with pytest.raises(ValueError, match="stage_size"):
        FrameDecoder(stage_size=4)


@settings(max_examples=200, deadline=None)
@given(payloads=st.lists(st.binary(max_size=600), max_size=8),
       reads=st.lists(st.integers(1, 700), min_size=1, max_size=10),
       stage=st.sampled_from([8, 16, 64, 256, 1024]))
def test_frames_takes_every_frame_whole_from_buffered_input(payloads, reads, stage) -> None:
    stream = framed(payloads)
    decoder = FrameDecoder(stage_size=stage)
    got: list[bytes] = []
    pos = i = 0
    while pos < len(stream):
        buffer = decoder.get_buffer()
        n = min(reads[i % len(reads)], len(buffer), len(stream) - pos)
        buffer[:n] = stream[pos:pos + n]
        decoder.buffer_updated(n)
        got.extend(bytes(f) for f in decoder.frames())
        pos += n
        i += 1
    assert got == payloads and decoder.buffered == 0


def test_frames_returns_the_frames_before_a_refused_prefix_then_raises() -> None:
    decoder = FrameDecoder(max_frame_size=8)
    frames = decoder.feed(framed([b"ok", b"fine"]) + struct.pack(">i", 9))
    assert [bytes(f) for f in frames] == [b"ok", b"fine"]
    with pytest.raises(kproto.FrameTooLarge):
        decoder.frames()
