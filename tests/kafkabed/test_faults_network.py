"""kafkabed.faults: the TCP fault relays, byte-exact against a local echo server and with a
real kafka-python producer against a real broker advertised through its relay."""
from __future__ import annotations

import socket
import socketserver
import threading
import time
from typing import Callable, Iterator

import pytest
from kafka.protocol.producer import ProduceRequest

from kafkabed import KafkaCluster
from kafkabed.faults import REQUEST, RESPONSE, FaultRelays

PRODUCE = ProduceRequest.API_KEY


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.02)


# ---------------------------------------------------------------------------- byte-exact, no broker
class _Echo(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.received: list[bytearray] = []
        self.closed = 0     # connections whose handler has ended
        super().__init__(("127.0.0.1", 0), _EchoHandler)


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        got = bytearray()
        self.server.received.append(got)  # type: ignore[attr-defined]
        try:
            while data := self.request.recv(65536):
                got += data
                self.request.sendall(data)
        except OSError:
            pass
        self.server.closed += 1  # type: ignore[attr-defined]


@pytest.fixture
def echo_relay() -> Iterator[tuple[_Echo, FaultRelays, int]]:
    echo = _Echo()
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    relays = FaultRelays()
    port = relays.advertise(1, "PLAINTEXT", echo.server_address[1])
    try:
        yield echo, relays, port
    finally:
        relays.close()
        echo.shutdown()
        echo.server_close()


def _read_until_closed(sock: socket.socket, timeout: float = 5.0) -> tuple[bytes, str]:
    sock.settimeout(timeout)
    got = bytearray()
    try:
        while data := sock.recv(65536):
            got += data
        return bytes(got), "eof"
    except ConnectionResetError:
        return bytes(got), "reset"


def test_reset_after_request_bytes_cuts_exactly(echo_relay):
    echo, relays, port = echo_relay
    trigger = relays[1].reset_after(10, REQUEST)
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(bytes(range(100)))
        got, how = _read_until_closed(s)
    assert trigger.fired.wait(5)
    wait_for(lambda: echo.closed == 1, 5, "upstream end of stream")
    assert bytes(echo.received[0]) == bytes(range(10))     # the broker side saw exactly 10 bytes
    assert got == bytes(range(len(got))) and len(got) <= 10
    assert relays[1].trigger is None                       # one-shot


def test_reset_after_response_bytes_cuts_exactly(echo_relay):
    echo, relays, port = echo_relay
    relays[1].reset_after(25, RESPONSE)
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(bytes(range(100)))
        got, how = _read_until_closed(s)
    assert got == bytes(range(25)) and how in ("reset", "eof")
    # a new connection is not affected: the trigger fired once
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"again")
        s.settimeout(5)
        assert s.recv(5) == b"again"


def test_pause_holds_bytes_and_resume_delivers_them(echo_relay):
    echo, relays, port = echo_relay
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"a")
        s.settimeout(5)
        assert s.recv(1) == b"a"
        relays.pause()
        s.sendall(b"held")
        s.settimeout(0.5)
        with pytest.raises(socket.timeout):
            s.recv(4)
        relays.resume()
        s.settimeout(5)
        assert s.recv(4) == b"held"
    assert relays[1].resets == 0


def test_blackhole_drops_then_resets_damaged_connections(echo_relay):
    echo, relays, port = echo_relay
    with socket.create_connection(("127.0.0.1", port)) as s:
        relays.blackhole()
        s.sendall(b"lost")
        s.settimeout(0.5)
        with pytest.raises(socket.timeout):
            s.recv(4)                      # open, silent
        assert relays[1].connections == 1
        relays.clear()
        got, how = _read_until_closed(s)
        assert got == b"" and how in ("reset", "eof")
    wait_for(lambda: echo.closed == 1, 5, "upstream connection closed")
    assert bytes(echo.received[0]) == b""  # nothing reached the upstream


def test_latency_and_bandwidth(echo_relay):
    echo, relays, port = echo_relay
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.settimeout(10)
        relays.set_latency(0.2)
        t0 = time.monotonic()
        s.sendall(b"x")
        assert s.recv(1) == b"x"
        assert time.monotonic() - t0 >= 0.39               # 0.2 s each way
        relays.set_latency(0)
        relays.set_bandwidth(200_000)
        payload = bytes(100_000)
        t0 = time.monotonic()
        s.sendall(payload)
        got = bytearray()
        while len(got) < len(payload):
            got += s.recv(65536)
        assert time.monotonic() - t0 >= 0.45               # 100 kB at 200 kB/s, the first 8 kB free


# ---------------------------------------------------------------------------- a real broker behind relays
@pytest.fixture(scope="module")
def relayed() -> Iterator[tuple[KafkaCluster, FaultRelays]]:
    relays = FaultRelays("PLAINTEXT")
    cluster = KafkaCluster("relayed", advertised_port=relays.advertise)
    try:
        cluster.start()
        yield cluster, relays
    finally:
        cluster.stop()
        relays.close()


@pytest.fixture
def faults(relayed) -> Iterator[tuple[KafkaCluster, FaultRelays]]:
    cluster, relays = relayed
    relays.clear()
    yield cluster, relays
    relays.clear()


def _producer(cluster: KafkaCluster, **kw):
    from kafka import KafkaProducer
    cfg = dict(bootstrap_servers=cluster.bootstrap, acks="all", linger_ms=0, request_timeout_ms=5000,
               reconnect_backoff_ms=50, reconnect_backoff_max_ms=500)
    cfg.update(kw)
    return KafkaProducer(**cfg)


def _end(cluster: KafkaCluster, topic: str) -> int:
    from tests.checker import LATEST, RawCluster
    with RawCluster(cluster.bootstrap_for("INTERNAL")) as c:
        return c.list_offset(topic, 0, LATEST)


def test_clients_connect_through_the_relay(faults, topic_name):
    cluster, relays = faults
    cluster.create_topic(topic_name)
    before = relays[1].connections_accepted
    p = _producer(cluster)
    try:
        p.send(topic_name, b"v").get(30)
    finally:
        p.close()
    assert relays[1].connections_accepted > before
    assert relays[1].bytes[REQUEST] > 0 and relays[1].bytes[RESPONSE] > 0


def test_reset_on_produce_response_duplicates_a_plain_producers_record(faults, topic_name):
    """The broker appends, the answer is lost, the producer retries: the ambiguous failure."""
    cluster, relays = faults
    cluster.create_topic(topic_name)
    p = _producer(cluster, enable_idempotence=False, retries=5)
    try:
        p.send(topic_name, b"warm-up").get(30)
        trigger = relays[1].reset_on(PRODUCE, RESPONSE)
        p.send(topic_name, b"once").get(30)
    finally:
        p.close()
    assert trigger.fired.is_set()
    assert _end(cluster, topic_name) == 3            # warm-up + the record twice


def test_reset_on_produce_request_loses_it_before_the_broker(faults, topic_name):
    cluster, relays = faults
    cluster.create_topic(topic_name)
    p = _producer(cluster, enable_idempotence=False, retries=5)
    try:
        p.send(topic_name, b"warm-up").get(30)
        trigger = relays[1].reset_on(PRODUCE, REQUEST, nth=2, after_bytes=0)
        p.send(topic_name, b"first").get(30)
        assert not trigger.fired.is_set()            # the first Produce passes
        p.send(topic_name, b"second").get(30)
    finally:
        p.close()
    assert trigger.fired.is_set()
    assert _end(cluster, topic_name) == 3            # each record exactly once


def test_blackhole_stalls_a_producer_and_clear_lets_it_recover(faults, topic_name):
    cluster, relays = faults
    cluster.create_topic(topic_name)
    p = _producer(cluster, enable_idempotence=False, retries=10, request_timeout_ms=20000)
    try:
        p.send(topic_name, b"warm-up").get(30)
        relays.blackhole()
        future = p.send(topic_name, b"in the hole")
        time.sleep(1.0)
        assert not future.is_done
        assert relays[1].connections >= 1            # kept open
        relays.clear()                               # the damaged connection is reset
        future.get(30)
    finally:
        p.close()
    assert relays[1].resets >= 1
    assert _end(cluster, topic_name) == 2


def test_pause_delays_a_produce_without_a_new_connection(faults, topic_name):
    cluster, relays = faults
    cluster.create_topic(topic_name)
    p = _producer(cluster)
    try:
        p.send(topic_name, b"warm-up").get(30)
        accepted, resets = relays[1].connections_accepted, relays[1].resets
        relays.pause()
        future = p.send(topic_name, b"paused")
        time.sleep(1.0)
        assert not future.is_done
        relays.resume()
        future.get(30)
    finally:
        p.close()
    assert relays[1].connections_accepted == accepted and relays[1].resets == resets


def test_latency_and_bandwidth_slow_a_producer(faults, topic_name):
    cluster, relays = faults
    cluster.create_topic(topic_name)
    p = _producer(cluster)
    try:
        p.send(topic_name, b"warm-up").get(30)
        relays.set_latency(0.25)
        t0 = time.monotonic()
        p.send(topic_name, b"late").get(30)
        assert time.monotonic() - t0 >= 0.5
        relays.set_latency(0)
        relays.set_bandwidth(100_000)
        t0 = time.monotonic()
        for _ in range(3):
            p.send(topic_name, bytes(60_000))
        p.flush(30)
        assert time.monotonic() - t0 >= 1.5            # 180 kB at 100 kB/s
    finally:
        p.close()


def test_reset_connections_forces_a_reconnect(faults, topic_name):
    cluster, relays = faults
    cluster.create_topic(topic_name)
    p = _producer(cluster)
    try:
        p.send(topic_name, b"warm-up").get(30)
        accepted = relays[1].connections_accepted
        assert relays.reset_connections() >= 1
        p.send(topic_name, b"after").get(30)
    finally:
        p.close()
    assert relays[1].connections_accepted > accepted
