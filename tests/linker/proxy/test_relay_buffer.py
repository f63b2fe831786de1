"""The upstream side relays views of one reused read buffer (session._UpstreamSide).

A client transport that cannot send at once keeps the views it was given; the buffer
must then not be written again under them. Driven like asyncio's BufferedProtocol,
with a stand-in session whose transport never sends, so every view stays queued.
"""
from __future__ import annotations

import struct

import pytest

from linker.proxy.session import _UpstreamSide


class QueueingSession:
    """What _UpstreamSide calls on its session; relayed chunks are kept as given (views)."""

    def __init__(self, copy: bool = False) -> None:
        self.ended = False
        self.queued: list = []
        self.corrs = iter(range(1, 1 << 30))
        self.copy = copy

    def response_start(self, corr: int) -> bool:
        assert corr == next(self.corrs)
        return True

    def relay(self, chunk) -> None:
        self.queued.append(bytes(chunk) if self.copy else chunk)

    def relay_lines(self, chunks) -> None:
        for c in chunks:
            self.relay(c)

    def on_response(self, frame) -> None:
        assert struct.unpack_from(">i", frame)[0] == next(self.corrs)
        self.queued.append(struct.pack(">i", len(frame)) + bytes(frame))

    def response_done(self) -> None:
        pass

    def write_pending(self) -> bool:
        return not self.copy          # a transport that keeps everything queued

    def _broken(self, reason: str) -> None:
        raise AssertionError(reason)


@pytest.mark.parametrize("read", [1000, 4096, 65536, 300_000])
def test_queued_views_of_the_read_buffer_are_never_overwritten(read: int) -> None:
    responses = b"".join(struct.pack(">ii", 4 + n, corr) + bytes([corr % 251]) * n
                         for corr, n in enumerate([200_000, 10, 70_000, 500_000, 3, 131_072], start=1))
    session = QueueingSession()
    side = _UpstreamSide(session, 1 << 20)   # type: ignore[arg-type]
    pos = 0
    while pos < len(responses):
        buffer = side.get_buffer(-1)
        n = min(read, len(buffer), len(responses) - pos)
        buffer[:n] = responses[pos:pos + n]
        side.buffer_updated(n)
        pos += n
    assert b"".join(bytes(c) for c in session.queued) == responses
