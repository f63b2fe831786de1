"""The proxy's memory does not grow with what hostile clients send (issue 17.3).

The proxy runs as its own process (proxy_process.py) with a mirror, so Produce is
decoded (held whole) and refusals are answered by the proxy itself; its RSS is read
from /proc/<pid>/status.
"""
from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

import kproto
from kproto import messages

from proxy_process import rss_kib, start

MIRROR = "rss-mirror"
PREAUTH = 512 * 1024
N_CONNECTIONS = 30
#: What N held pre-auth frames may add to the proxy's RSS: each frame once, plus its parts
#: joined, plus the interpreter's own slack.
HELD_BOUND_KIB = N_CONNECTIONS * PREAUTH * 2 // 1024 + 40 * 1024
#: What a client that never reads may add: a transport's high-water mark and one answer
#: (under max_unsent_answers, 1 MiB) are held, plus slack.
NEVER_READS_BOUND_KIB = 24 * 1024


@pytest.fixture
def proxy(destination: Any, tmp_path: Any) -> Iterator[tuple[Any, str, Any]]:
    log = open(tmp_path / "proxy.log", "w+")
    proc, bootstrap = start(destination.bootstrap, MIRROR, log, max_connections=200,
                            max_connections_per_address=200)
    try:
        yield proc, bootstrap, log
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def _connect(bootstrap: str) -> socket.socket:
    host, _, port = bootstrap.rpartition(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _produce(partitions: int, corr: int, version: int = 9) -> bytes:
    """A Produce to the mirror naming `partitions` partitions (refused by the proxy, one
    answer entry per partition: ~20 times the request's size)."""
    R = messages.ProduceRequest
    body = R(acks=1, timeout_ms=1000, topic_data=[R.TopicProduceData(name=MIRROR, partition_data=[
        R.PartitionProduceData(index=i, records=None) for i in range(partitions)])])
    return b"".join(bytes(c) for c in kproto.encode_request(body, version, corr, "rss-test"))


def _frame_of(size: int) -> bytes:
    """A Produce frame to the mirror of exactly `size` bytes after its prefix (one partition
    whose records are filler)."""
    R = messages.ProduceRequest

    def encoded(n: int) -> bytes:
        body = R(acks=1, timeout_ms=1000, topic_data=[R.TopicProduceData(name=MIRROR, partition_data=[
            R.PartitionProduceData(index=0, records=b"x" * n)])])
        return b"".join(bytes(c) for c in kproto.encode_request(body, 9, 1, "rss-test"))
    n = size - (len(encoded(size)) - 4 - size)
    frame = encoded(n)
    assert len(frame) == size + 4, (len(frame), size)
    return frame


def _settle(pid: int) -> int:
    time.sleep(1.0)
    return rss_kib(pid)


def _closed(s: socket.socket, wait: float = 5.0) -> bool:
    s.settimeout(wait)
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def test_preauth_frames_are_capped_and_held_ones_bounded(proxy: Any) -> None:
    """N clients (none authenticated: the broker has answered none of them) each
    send all but the last byte of the largest frame allowed before authentication
    (512 KiB, held: Produce is decoded while a mirror exists); N others announce 4 MiB
    and send it. The 4 MiB ones are closed at once with a log line; RSS grows by less than
    HELD_BOUND_KIB while the 512 KiB ones are held."""
    proc, bootstrap, log = proxy
    base = _settle(proc.pid)
    held, big = [], []
    try:
        for _ in range(N_CONNECTIONS):
            s = _connect(bootstrap)
            s.sendall(_frame_of(PREAUTH)[:-1])
            held.append(s)
        for _ in range(N_CONNECTIONS):
            s = _connect(bootstrap)
            frame = _frame_of(4 << 20)
            try:
                s.sendall(frame)
            except OSError:
                pass  # closed while sending: refused
            big.append(s)
        assert all(_closed(s) for s in big), "a 4 MiB frame before authentication was accepted"
        log.seek(0)
        assert not any(_closed(s, 0.2) for s in held), f"a 512 KiB frame was refused: {log.read()[-3000:]}"
        grown = _settle(proc.pid) - base
    finally:
        for s in held + big:
            s.close()
    log.seek(0)
    text = log.read()
    print(f"RSS before {base} KiB; grown {grown} KiB with {N_CONNECTIONS} held pre-auth frames")
    refused = text.count("before the client authenticated") + text.count("before the upstream connection was ready")
    assert refused >= N_CONNECTIONS, text[-2000:]
    assert grown < HELD_BOUND_KIB, f"proxy RSS grew by {grown} KiB (bound {HELD_BOUND_KIB} KiB)"


def test_a_client_that_never_reads_holds_bounded_memory(proxy: Any) -> None:
    """One client sends refused Produce requests of 12 KB (each answered by the proxy with
    ~200 KB) and never reads: the proxy stops reading it, so its RSS grows by less than
    NEVER_READS_BOUND_KIB (without backpressure: ~200 KB per request sent)."""
    proc, bootstrap, _ = proxy
    base = _settle(proc.pid)
    s = _connect(bootstrap)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    corr = 0
    try:
        s.settimeout(3.0)
        while corr < 1500:                   # ~300 MB of answers without backpressure
            corr += 1
            try:
                s.sendall(_produce(2000, corr))
            except socket.timeout:
                break                        # the proxy stopped reading us: backpressure
        grown = _settle(proc.pid) - base
    finally:
        s.close()
    print(f"RSS before {base} KiB; grown {grown} KiB; {corr} requests sent before the proxy stopped reading")
    assert grown < NEVER_READS_BOUND_KIB, f"proxy RSS grew by {grown} KiB after {corr} requests"
    assert corr < 1500, "the proxy read every request of a client that reads nothing"


def test_connection_limits_refuse_extra_connections(destination: Any, tmp_path: Any) -> None:
    """max_connections_per_address 5, max_connections 8: the 6th connection from 127.0.0.1
    and the 9th in total (from 127.0.0.2) are closed at once, each logged; the others work."""
    with open(tmp_path / "proxy.log", "w+") as log:
        proc, bootstrap = start(destination.bootstrap, MIRROR, log, max_connections=8,
                                max_connections_per_address=5)
        host, _, port = bootstrap.rpartition(":")
        socks: list[socket.socket] = []
        try:
            def open_from(source: str) -> socket.socket:
                s = socket.create_connection((host, int(port)), timeout=10, source_address=(source, 0))
                socks.append(s)
                return s
            first = [open_from("127.0.0.1") for _ in range(5)]
            sixth = open_from("127.0.0.1")
            assert _closed(sixth), "a 6th connection from one address was kept"
            others = [open_from("127.0.0.2") for _ in range(3)]
            ninth = open_from("127.0.0.2")
            assert _closed(ninth), "a 9th connection in total was kept"
            for s in first + others:
                s.sendall(b"".join(bytes(c) for c in kproto.encode_request(
                    messages.ApiVersionsRequest(), 0, 7, "limits")))
                s.settimeout(10)
                assert len(s.recv(65536)) > 4
            time.sleep(1.2)                  # refusals are logged at most once a second
            socks.append(open_from("127.0.0.1"))
            assert _closed(socks[-1])
        finally:
            for s in socks:
                s.close()
            proc.terminate()
            proc.wait(10)
        log.seek(0)
        text = log.read()
    assert "max_connections_per_address" in text and "refused a connection" in text, text[-2000:]
    assert "(proxy max_connections)" in text, text[-2000:]


def test_connection_limits_are_link_file_settings() -> None:
    from linker.settings.errors import ConfigError
    from linker.settings.proxy import parse_proxy
    s = parse_proxy({"max_connections": 50, "max_connections_per_address": 5})
    assert (s.max_connections, s.max_connections_per_address) == (50, 5)
    with pytest.raises(ConfigError, match="proxy.max_connections_per_address: must be >= 1"):
        parse_proxy({"max_connections_per_address": 0})
