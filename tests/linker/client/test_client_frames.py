"""FrameProtocol over a real loopback socket: frames of every size, split anywhere."""
from __future__ import annotations

import asyncio
import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linker.client.event_loop import new_event_loop
from linker.client.frames import FrameProtocol


async def _receive(payload: bytes, chunk_sizes: list[int], max_frame: int = 1 << 24,
                   stage: int = 4096) -> tuple[list[bytes], list[str]]:
    """Serve `payload` in the given chunk sizes; collect what the protocol cuts out."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pos = 0
        for size in chunk_sizes:
            writer.write(payload[pos:pos + size])
            await writer.drain()
            await asyncio.sleep(0)
            pos += size
        writer.write(payload[pos:])
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    frames: list[bytes] = []
    bad: list[str] = []
    lost = asyncio.get_running_loop().create_future()
    protocol_box: list[FrameProtocol] = []

    def on_bad(cause: str) -> None:
        bad.append(cause)
        protocol_box[0].transport.close()  # type: ignore[union-attr]

    def factory() -> FrameProtocol:
        protocol = FrameProtocol(lambda f: frames.append(bytes(f)),
                                 lambda exc: lost.done() or lost.set_result(exc), on_bad,
                                 max_frame, stage_size=stage)
        protocol_box.append(protocol)
        return protocol

    loop = asyncio.get_running_loop()
    await loop.create_connection(factory, "127.0.0.1", port)
    await asyncio.wait_for(lost, 10)
    server.close()
    await server.wait_closed()
    return frames, bad


def _framed(bodies: list[bytes]) -> bytes:
    return b"".join(struct.pack(">i", len(b)) + b for b in bodies)


@pytest.mark.parametrize("seed", range(6))
def test_frames_of_mixed_sizes_split_at_random_points(seed: int) -> None:
    rng = random.Random(seed)
    sizes = [0, 1, 3, 4, 100, 2047, 2048, 2049, 4092, 4096, 10_000, 300_000]
    rng.shuffle(sizes)
    bodies = [rng.randbytes(n) for n in sizes]
    payload = _framed(bodies)
    chunks = [rng.choice([1, 2, 3, 5, 64, 1000, 5000, 70_000]) for _ in range(60)]
    loop = new_event_loop()
    try:
        frames, bad = loop.run_until_complete(_receive(payload, chunks))
    finally:
        loop.close()
    assert bad == []
    assert frames == bodies


def test_oversized_and_negative_frames_are_reported() -> None:
    loop = new_event_loop()
    try:
        frames, bad = loop.run_until_complete(
            _receive(_framed([b"ok"]) + struct.pack(">i", 5000) + b"x" * 10, [], max_frame=4000))
        assert frames == [b"ok"]
        assert bad == ["frame size 5000 outside 0..4000"]
        frames, bad = loop.run_until_complete(_receive(struct.pack(">i", -7), []))
        assert frames == [] and bad == ["frame size -7 outside 0..16777216"]
    finally:
        loop.close()


def test_asyncio_loop_too() -> None:
    bodies = [bytes([i]) * (i * 997) for i in range(20)]
    frames, bad = asyncio.run(_receive(_framed(bodies), [7, 3000, 1]))
    assert bad == [] and frames == bodies


def _feed(protocol: FrameProtocol, data: bytes, sizes: list[int]) -> None:
    """Drive the BufferedProtocol calls as a transport would, with given read sizes."""
    pos, i = 0, 0
    while pos < len(data):
        buffer = protocol.get_buffer(-1)
        want = sizes[i % len(sizes)] if sizes else len(data)
        n = max(1, min(want, len(buffer), len(data) - pos))
        buffer[:n] = data[pos:pos + n]
        protocol.buffer_updated(n)
        pos += n
        i += 1


@settings(max_examples=200, deadline=None)
@given(bodies=st.lists(st.binary(max_size=3000), max_size=12),
       sizes=st.lists(st.integers(1, 5000), min_size=1, max_size=20),
       stage=st.sampled_from([16, 64, 1024, 4096]))
def test_frame_cutting_property(bodies: list[bytes], sizes: list[int], stage: int) -> None:
    frames: list[bytes] = []
    bad: list[str] = []
    protocol = FrameProtocol(lambda f: frames.append(bytes(f)), lambda exc: None, bad.append,
                             1 << 20, stage_size=stage)
    _feed(protocol, _framed(bodies), sizes)
    assert bad == []
    assert frames == bodies
