"""The session's hot path without a broker (session.py).

- The upstream side relays views of one reused read buffer: a client transport that
  cannot send at once keeps the views it was given, and the buffer must then not be
  written again under them. Driven like asyncio's BufferedProtocol, with a stand-in
  session whose transport never sends, so every view stays queued.
- A Produce's acks are read from its head without decoding the header.
"""
from __future__ import annotations

import struct

import pytest

import kproto
from kproto import messages
from kproto.records.builder import build_batch
from linker.proxy.session import ClientSession, _UpstreamSide


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


@pytest.mark.parametrize("version", range(messages.ProduceRequest.VALID_VERSIONS[0],
                                          messages.ProduceRequest.VALID_VERSIONS[1] + 1))
def test_produce_acks_are_read_from_the_head(version: int) -> None:
    P = messages.ProduceRequest
    for acks in (0, 1, -1):
        for client_id in (None, "", "c" * 300):
            for txn in (None, "", "t" * 200):
                body = P(transactional_id=txn, acks=acks, timeout_ms=1000, topic_data=[P.TopicProduceData(
                    name="t", partition_data=[P.PartitionProduceData(index=0, records=build_batch([b"x"]))])])
                frame = b"".join(bytes(c) for c in kproto.encode_request(body, version, 7, client_id))[4:]
                assert ClientSession._produce_acks(frame, version) == acks, (acks, client_id, txn)
                if version >= 9:   # header v2: a tagged field in the header is skipped
                    end = 10 + (len(client_id.encode()) if client_id is not None else 0)
                    assert frame[end] == 0
                    tagged = frame[:end] + b"\x01\x05\x02ab" + frame[end + 1:]
                    assert ClientSession._produce_acks(tagged, version) == acks


def test_a_shifted_fetch_is_patched_as_it_passes_not_collected() -> None:
    """While a shifted cluster is fronted, a Fetch's response gets a byte patcher (relayed as it
    arrives) and no completion (which would make the session collect and decode it)."""
    from types import SimpleNamespace

    from linker.proxy.epochs import FetchEpochPatcher
    from linker.proxy.filters_chain import EpochShiftFilter, RequestContext
    server = SimpleNamespace(upstream=SimpleNamespace(epoch_shift=1 << 24), leader_epoch_of=lambda t, p: None)
    F = messages.FetchRequest
    body = F(max_wait_ms=0, min_bytes=1, max_bytes=1 << 20, topics=[F.FetchTopic(topic="t", partitions=[
        F.FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=1 << 20, current_leader_epoch=(1 << 24) + 2)])])
    ctx = RequestContext(1, 12, 5, None, body, "peer")
    f = EpochShiftFilter()
    assert f.active(server)   # type: ignore[arg-type]
    assert f.on_request(server, ctx) is None   # type: ignore[arg-type]
    assert ctx.changed and body.topics[0].partitions[0].current_leader_epoch == 2
    assert not ctx.completions and ctx.patch is not None
    assert isinstance(ctx.patch(12), FetchEpochPatcher)
