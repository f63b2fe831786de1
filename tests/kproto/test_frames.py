"""FrameDecoder: any chunking gives back the same frames; oversize frames are refused."""
from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kproto


def framed(payloads: list[bytes]) -> bytes:
    return b"".join(struct.pack(">i", len(p)) + p for p in payloads)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=6), st.data())
def test_any_chunking_yields_the_same_frames(payloads: list[bytes], data: st.DataObject) -> None:
    stream = framed(payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    decoder = kproto.FrameDecoder(max_frame_size=64)
    got: list[bytes] = []
    start = 0
    for cut in cuts + [len(stream)]:
        got.extend(bytes(f) for f in decoder.feed(stream[start:cut]))
        start = cut
    assert got == payloads
    assert decoder.buffered == 0


def test_byte_by_byte() -> None:
    payloads = [b"a" * 5, b"", b"xyz" * 100]
    decoder = kproto.FrameDecoder()
    got = []
    for b in framed(payloads):
        got.extend(bytes(f) for f in decoder.feed(bytes([b])))
    assert got == payloads


def test_frames_inside_one_chunk_are_not_copied() -> None:
    chunk = framed([b"one", b"two"]) + b"\x00\x00"
    decoder = kproto.FrameDecoder()
    frames = decoder.feed(chunk)
    assert [bytes(f) for f in frames] == [b"one", b"two"]
    assert all(f.obj is chunk for f in frames)
    assert decoder.buffered == 2


def test_mutable_input_is_copied_so_reuse_is_safe() -> None:
    buf = bytearray(framed([b"hello"]))
    frames = kproto.FrameDecoder().feed(buf)
    buf[4:9] = b"XXXXX"
    assert bytes(frames[0]) == b"hello"


@pytest.mark.parametrize("size", [65, 2**31 - 1, -1])
def test_oversize_and_negative_sizes_are_refused(size: int) -> None:
    decoder = kproto.FrameDecoder(max_frame_size=64)
    with pytest.raises(kproto.FrameTooLarge) as info:
        decoder.feed(struct.pack(">i", size))
    assert info.value.size == size and info.value.limit == 64
    assert isinstance(info.value, kproto.KprotoError)
    with pytest.raises(kproto.FrameTooLarge):  # the stream stays unusable
        decoder.feed(b"\x00\x00\x00\x01x")


def test_bound_is_checked_before_any_allocation() -> None:
    # A split size prefix announcing 2 GiB must fail at the prefix, not after buffering.
    decoder = kproto.FrameDecoder(max_frame_size=1024)
    assert decoder.feed(b"\x7f\xff") == []
    with pytest.raises(kproto.FrameTooLarge):
        decoder.feed(b"\xff\xff")


def test_bad_bound() -> None:
    with pytest.raises(ValueError, match="max_frame_size"):
        kproto.FrameDecoder(max_frame_size=-5)
