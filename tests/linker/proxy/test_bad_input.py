"""Bad input closes only the offending client's connection, with a log line; the
proxy and a concurrent well-behaved client carry on."""
from __future__ import annotations

import logging
import random
import socket
import struct
import threading
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kproto import ApiKey, messages
from linker.proxy import MirrorTopics, ProxyConfig

from conftest import ProxyThread, upstream_of
from proxy_rawwire import RawConnection

MAX_REQUEST = 64 * 1024


@pytest.fixture(scope="module")
def strict_proxy(destination):
    """Small frames, short timeouts, and a mirror so write requests are decoded too."""
    topic = f"bad-input-mirror-{random.randrange(1 << 30)}"
    p = ProxyThread(ProxyConfig(upstream=upstream_of(destination), max_request_size=MAX_REQUEST,
                                partial_frame_timeout=1.0, idle_timeout=3.0),
                    MirrorTopics({topic: "fuzz-link"}))
    yield p
    p.stop()


class Steady(threading.Thread):
    """A well-behaved client producing and reading metadata the whole time."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        from kafka import KafkaProducer
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=1)
        self.topic = topic
        self.stop = threading.Event()
        self.ok = 0
        self.errors: list[BaseException] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.producer.send(self.topic, b"steady").get(30)
                self.ok += 1
            except Exception as exc:
                self.errors.append(exc)
            time.sleep(0.01)
        self.producer.close(5)


def _alive(proxy) -> None:
    with RawConnection(proxy.bootstrap) as c:
        assert c.request(messages.MetadataRequest(topics=[]), 12).brokers


def _send_and_close(address: str, data: bytes) -> None:
    host, _, port = address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        try:
            s.sendall(data)
            s.settimeout(0.3)
            while s.recv(65536):
                pass
        except OSError:
            pass


_KEYS = st.sampled_from([int(k) for k in ApiKey] + [30000, -1])


@st.composite
def frames(draw):
    """Size-prefixed frames: random bytes, or a real header (often a decoded API) with a garbage body."""
    kind = draw(st.sampled_from(["raw", "header", "size"]))
    if kind == "size":
        return struct.pack(">i", draw(st.sampled_from([-1, -2**31, MAX_REQUEST + 1, 2**31 - 1])))
    if kind == "raw":
        body = draw(st.binary(max_size=300))
    else:
        key = draw(_KEYS)
        version = draw(st.integers(-1, 20))
        client = draw(st.binary(max_size=10))
        body = (struct.pack(">hhih", key, version, draw(st.integers(0, 2**31 - 1)), len(client)) + client
                + draw(st.binary(max_size=3000)))  # past RELAY_HEAD: the cut-through path too
    return struct.pack(">i", len(body)) + body


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(payload=st.lists(frames(), min_size=1, max_size=3))
def _fuzz_once(proxy, payload) -> None:
    _send_and_close(proxy.bootstrap, b"".join(payload))


def test_fuzzed_frames_never_take_the_proxy_down(destination, strict_proxy, topic_name):
    destination.create_topic(topic_name)
    steady = Steady(strict_proxy.bootstrap, topic_name)
    steady.start()
    try:
        _fuzz_once(strict_proxy)
        _alive(strict_proxy)
        time.sleep(0.5)
    finally:
        steady.stop.set()
        steady.join(30)
    assert not steady.errors, steady.errors[:3]
    assert steady.ok > 10
    assert strict_proxy.loop.is_running()


def test_oversized_frame_closes_only_that_client(strict_proxy, caplog):
    with RawConnection(strict_proxy.bootstrap) as good, RawConnection(strict_proxy.bootstrap) as bad:
        good.request(messages.MetadataRequest(topics=[]), 12)
        with caplog.at_level(logging.WARNING, logger="linker.proxy"):
            bad.sock.sendall(struct.pack(">i", 2**31 - 1) + b"\x00" * 16)
            assert bad.is_closed()
        assert good.request(messages.MetadataRequest(topics=[]), 12).brokers
    assert any("request frame refused" in r.getMessage() for r in caplog.records)


def test_slow_loris_is_cut_off(strict_proxy, caplog):
    with caplog.at_level(logging.WARNING, logger="linker.proxy"):
        with RawConnection(strict_proxy.bootstrap) as slow, RawConnection(strict_proxy.bootstrap) as good:
            slow.sock.sendall(struct.pack(">i", 100) + b"\x00\x03")   # a frame that never completes
            t0 = time.monotonic()
            closed_after = None
            while time.monotonic() - t0 < 8:
                time.sleep(0.2)
                try:
                    slow.sock.sendall(b"\x00")                       # trickle: still incomplete
                except OSError:
                    closed_after = time.monotonic() - t0
                    break
                good.request(messages.MetadataRequest(topics=[]), 12)
            assert closed_after is not None, "the slow client was never cut off"
            assert 1.0 <= closed_after < 4.0
            assert good.request(messages.MetadataRequest(topics=[]), 12).brokers
    assert any("stayed incomplete" in r.getMessage() for r in caplog.records)


def test_idle_connections_are_closed(strict_proxy):
    with RawConnection(strict_proxy.bootstrap) as idle:
        idle.request(messages.MetadataRequest(topics=[]), 12)
        assert idle.is_closed(wait=8)


def test_garbage_in_a_decoded_request_closes_that_client(strict_proxy, caplog):
    """A Produce the guard must decode, with a broken body: the proxy itself refuses it."""
    with caplog.at_level(logging.WARNING, logger="linker.proxy"):
        with RawConnection(strict_proxy.bootstrap) as bad:
            bad.send_frame(struct.pack(">hhih", ApiKey.PRODUCE, 9, 1, 1) + b"x" + b"\x00\x07\xff\xff\xff")
            assert bad.is_closed()
    assert any("malformed Produce" in r.getMessage() for r in caplog.records)
    _alive(strict_proxy)


def test_an_announced_huge_request_costs_only_the_bytes_sent(start_proxy, destination):
    """A size prefix of 100 MiB (within the limit) on a request the proxy decodes, then 1 KiB:
    the proxy holds the kilobyte, not a 100 MiB buffer, and closes the client at the timeout."""
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(destination), partial_frame_timeout=1.0))
    header = struct.pack(">hhih", ApiKey.METADATA, 12, 1, 0)
    tracemalloc.start()
    try:
        with RawConnection(proxy.bootstrap) as c:
            c.sock.sendall(struct.pack(">i", 100 << 20) + header + b"\x00" * (1024 - len(header)))
            time.sleep(0.5)
            _, peak = tracemalloc.get_traced_memory()
            assert c.is_closed(wait=8)
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
    _alive(proxy)
