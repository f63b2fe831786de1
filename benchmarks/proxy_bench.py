"""Produce/consume throughput and produce latency through linker.proxy vs direct, same run.

Starts one broker (kafkabed), the proxy as its own process
(``python -m linker.proxy``, uvloop when installed) and a bare relay (socat:
copies bytes, no Kafka parsing; the least any proxy must do), then runs direct,
proxied and relayed in each round, the order rotated round by round, so all see
the same machine load:

- produce throughput: librdkafka producer, 1 KiB values, acks=all, linger 5 ms;
- consume throughput: librdkafka consumer reading the topic from the start;
- produce latency: one Produce (acks=1, one 100-byte record) at a time over a
  raw socket, round-trip time per request; p50/p99;
- the same throughputs with 10 and 100 clients at once (one librdkafka producer
  or consumer each, in threads; the topic then has as many partitions as clients,
  each consumer assigned its share), and with one client over TLS (direct: the
  broker's SSL listener; proxied: TLS to the proxy, plaintext from it to the broker).

Goal (issues #8, #22): throughput ratio >= 0.9 and added p99 latency < 1 ms on loopback.
The relay's ratios show what any process relaying the bytes costs on this machine;
the machine's busy cores over each timed window show whether it was saturated.

Run: ``python -m benchmarks.proxy_bench`` (``--smoke`` for a quick pass).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import kproto
from kafkabed import KafkaCluster
from kafkabed.ports import free_ports
from kproto import messages
from kproto.records.builder import build_batch

BROKER_JVM = ("-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError")
#: The default fixed 100 KiB send buffer throttles direct consumers (the proxy's autotuned
#: sockets then make proxied consumes look twice as fast): see docs/proxy.md, Benchmark.
BROKER_CONFIG = {"socket.send.buffer.bytes": -1}
RECORDS, SMOKE_RECORDS = 500_000, 20_000
VALUE = b"v" * 1024
#: Scenarios beside the one-client one: name -> (clients, TLS on the client side).
SCENARIOS: dict[str, tuple[int, bool]] = {"10 clients": (10, False), "100 clients": (100, False),
                                          "1 client over TLS": (1, True)}
#: The broker's second PLAINTEXT listener, advertised at the relay's port: a relay cannot rewrite
#: Metadata, so clients that bootstrap at the relay must be told the relay's address.
RELAY_LISTENER = "RELAY"
#: socat's copy buffer per read/write (its default, 8 KiB, would cost a syscall pair per 8 KiB;
#: the proxy reads up to 256 KiB at a time too).
RELAY_BUFFER = 256 << 10
VIAS = ("direct", "proxy", "relay")


@dataclass
class Scenario:
    """Throughput of one scenario: medians, and the median of per-round proxy/direct."""

    produce_mb_s_direct: float
    produce_mb_s_proxy: float
    consume_mb_s_direct: float
    consume_mb_s_proxy: float
    produce_ratio: float
    consume_ratio: float
    produce_ratios: list[float]
    consume_ratios: list[float]
    # the bare relay (none over TLS): medians, and the median of per-round relay/direct
    produce_mb_s_relay: float | None = None
    consume_mb_s_relay: float | None = None
    relay_produce_ratio: float | None = None
    relay_consume_ratio: float | None = None
    relay_produce_ratios: list[float] = field(default_factory=list)
    relay_consume_ratios: list[float] = field(default_factory=list)
    #: "produce"/"consume" -> path -> median over rounds of the machine's busy cores in the timed window
    cores_busy: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class Figures:
    produce_mb_s_direct: float
    produce_mb_s_proxy: float
    consume_mb_s_direct: float
    consume_mb_s_proxy: float
    p50_ms_direct: float
    p50_ms_proxy: float
    p99_ms_direct: float
    p99_ms_proxy: float
    proxy_cpu_s_per_gb: float

    produce_ratio: float      # median over rounds of (proxy / direct), each pair run back to back
    consume_ratio: float
    rounds: int
    produce_ratios: list[float]   # per round, in order
    consume_ratios: list[float]
    scenarios: dict[str, Scenario] = field(default_factory=dict)   # 10/100 clients, TLS
    # the bare relay: what copying the bytes alone costs (see SocatRelay)
    relay: str = ""
    produce_mb_s_relay: float = 0.0
    consume_mb_s_relay: float = 0.0
    p50_ms_relay: float = 0.0
    p99_ms_relay: float = 0.0
    relay_cpu_s_per_gb: float = 0.0
    relay_produce_ratio: float = 0.0
    relay_consume_ratio: float = 0.0
    relay_produce_ratios: list[float] = field(default_factory=list)
    relay_consume_ratios: list[float] = field(default_factory=list)
    #: "produce"/"consume" -> path -> median over rounds of the machine's busy cores in the timed window
    cores_busy: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def added_p99_ms(self) -> float:
        return self.p99_ms_proxy - self.p99_ms_direct


def _terminate(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 10 s; reaped either way."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class ProxyProcess:
    def __init__(self, upstream: str, extra: list[str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "linker.proxy", "--upstream", upstream,
                                      "--log-level", "WARNING", *extra], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("proxy listening on "):
            self.stop()
            raise RuntimeError(f"the proxy did not start: {line!r}")
        self.bootstrap = line.split()[-1]

    def cpu_seconds(self) -> float:
        import psutil
        t = psutil.Process(self.proc.pid).cpu_times()
        return t.user + t.system

    def stop(self) -> None:
        _terminate(self.proc)


class SocatRelay:
    """The least any proxy must do: copy bytes between client and broker, no Kafka parsing
    (socat: one forked process per connection, read/write of up to RELAY_BUFFER bytes).
    Its listening port is chosen before the broker starts so that the broker can advertise it
    on its RELAY listener (`advertise`); `start` then points it at that listener."""

    def __init__(self) -> None:
        self.socat = shutil.which("socat")
        if self.socat is None:
            raise RuntimeError("the relay path needs socat on PATH (Debian/Ubuntu: apt-get install socat)")
        version = subprocess.run([self.socat, "-V"], capture_output=True, text=True).stdout
        line = next((l for l in version.splitlines() if l.startswith("socat version")), "socat")
        self.description = f"{' '.join(line.split()[:3])}, -b {RELAY_BUFFER}, fork (one process per connection)"
        self.port = free_ports(1)[0]
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def advertise(self, node_id: int, listener: str, port: int) -> int:
        """kafkabed's advertised_port: the RELAY listener is advertised at the relay."""
        return self.port if listener == RELAY_LISTENER else port

    def start(self, broker_port: int) -> None:
        self.proc = subprocess.Popen(
            [self.socat, "-b", str(RELAY_BUFFER), f"TCP-LISTEN:{self.port},bind=127.0.0.1,reuseaddr,fork,backlog=512,nodelay",
             f"TCP:127.0.0.1:{broker_port},nodelay"], stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"socat did not listen on {self.port} (exit {self.proc.poll()})") from None
                time.sleep(0.05)

    def cpu_seconds(self) -> float:
        """The listener's CPU, its reaped children's and its live (or unreaped) children's."""
        import psutil
        assert self.proc is not None
        parent = psutil.Process(self.proc.pid)
        t = parent.cpu_times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in parent.children():
            try:
                c = child.cpu_times()
                total += c.user + c.system
            except psutil.Error:   # exited and reaped since: counted in the parent's children_* next time
                pass
        return total

    def stop(self) -> None:
        if self.proc is None:
            return
        import psutil
        try:
            children = psutil.Process(self.proc.pid).children()
        except psutil.Error:
            children = []
        _terminate(self.proc)
        for child in children:   # connections still open: their copies outlive the listener
            try:
                child.kill()
            except psutil.Error:
                pass


def check_relay_advertised(relay: SocatRelay) -> None:
    """Clients bootstrapping at the relay must be told the relay's address, not the broker's,
    or the relayed figures would measure direct connections."""
    from confluent_kafka.admin import AdminClient
    brokers = AdminClient({"bootstrap.servers": relay.bootstrap}).list_topics(timeout=30).brokers
    ports = sorted(b.port for b in brokers.values())
    if ports != [relay.port] * len(brokers) or not brokers:
        raise RuntimeError(f"metadata through the relay names broker ports {ports}, not the relay's {relay.port}")


def _cpu_busy() -> float:
    """CPU seconds the whole machine has been busy (guest time is inside user already)."""
    import psutil
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + t.irq + t.softirq + t.steal


def _note_busy(busy: list[float] | None, cpu0: float, seconds: float) -> None:
    """Append the cores busy on the machine over a timed window of `seconds` that began at cpu0."""
    if busy is not None:
        busy.append(round((_cpu_busy() - cpu0) / seconds, 2))


def _produce_all(p: Any, topic: str, count: int) -> None:
    """Produce `count` records, waiting for queue room when full, and deliver them all."""
    for _ in range(count):
        while True:
            try:
                p.produce(topic, VALUE)
                break
            except BufferError:
                p.poll(0.01)
    if p.flush(120):
        raise RuntimeError("producer did not deliver everything")


def produce_mb_s(bootstrap: str, topic: str, count: int, tls: dict[str, Any] | None = None,
                 busy: list[float] | None = None) -> float:
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 1 << 20,
                  "queue.buffering.max.kbytes": 1 << 20, "acks": "all", **(tls or {})})
    p.produce(topic, VALUE)  # connect and learn metadata outside the timed part
    p.flush(30)
    cpu0, t0 = _cpu_busy(), time.perf_counter()
    _produce_all(p, topic, count)
    took = time.perf_counter() - t0
    _note_busy(busy, cpu0, took)
    return count * len(VALUE) / took / 1e6


def consume_mb_s(bootstrap: str, topic: str, count: int, tls: dict[str, Any] | None = None,
                 busy: list[float] | None = None) -> float:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:6]}",
                  "enable.auto.commit": False, "fetch.max.bytes": 50 << 20, **(tls or {})})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(4)])
    got = 0
    first = c.consume(1, 30)  # connect outside the timed part
    got += len(first)
    cpu0, t0 = _cpu_busy(), time.perf_counter()
    nbytes = 0
    deadline = t0 + 120
    while got < count and time.perf_counter() < deadline:
        for m in c.consume(10000, 1.0):
            if not m.error():
                got += 1
                nbytes += len(m.value())
    took = time.perf_counter() - t0
    _note_busy(busy, cpu0, took)
    c.close()
    if got < count:
        raise RuntimeError(f"consumed {got} of {count}")
    return nbytes / took / 1e6


def _in_threads(n: int, prepare: Any, work: Any, busy: list[float] | None = None) -> float:
    """Seconds from releasing n threads (each prepared beforehand, outside the timing) until
    the last finished; the first error is raised."""
    ready, go = threading.Barrier(n + 1), threading.Event()
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            state = prepare(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            ready.wait()
            return
        ready.wait()
        go.wait()
        try:
            work(i, state)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    ready.wait()
    cpu0, t0 = _cpu_busy(), time.perf_counter()
    go.set()
    for t in threads:
        t.join(300)
    took = time.perf_counter() - t0
    _note_busy(busy, cpu0, took)
    if errors:
        raise errors[0]
    return took


def produce_mb_s_clients(bootstrap: str, topic: str, count: int, clients: int,
                         busy: list[float] | None = None) -> float:
    """`clients` producers at once, count/clients records each (their queues shrunk to fit)."""
    from confluent_kafka import Producer
    per = count // clients

    def prepare(i: int) -> Any:
        p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 1 << 20, "acks": "all",
                      "queue.buffering.max.kbytes": max(16 << 10, (1 << 20) // clients)})
        p.produce(topic, VALUE)
        p.flush(60)
        return p

    def work(i: int, p: Any) -> None:
        _produce_all(p, topic, per)

    return clients * per * len(VALUE) / _in_threads(clients, prepare, work, busy) / 1e6


def consume_mb_s_clients(bootstrap: str, topic: str, partitions: int, count: int, clients: int,
                         busy: list[float] | None = None) -> float:
    """`clients` consumers at once, each assigned partitions i, i+clients, ...; until `count`
    records were read in total."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    lock = threading.Lock()
    total = {"records": 0, "bytes": 0}

    def prepare(i: int) -> Any:
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:6]}",
                      "enable.auto.commit": False, "fetch.max.bytes": max(1 << 20, (50 << 20) // clients),
                      "queued.max.messages.kbytes": max(4 << 10, (64 << 10) // clients)})
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(i, partitions, clients)])
        c.list_topics(topic, 30)   # connected outside the timed part
        return c

    def work(i: int, c: Any) -> None:
        deadline = time.perf_counter() + 180
        try:
            while time.perf_counter() < deadline:
                with lock:
                    if total["records"] >= count:
                        return
                got = [m for m in c.consume(1000, 0.2) if not m.error()]
                if got:
                    n = sum(len(m.value()) for m in got)
                    with lock:
                        total["records"] += len(got)
                        total["bytes"] += n
        finally:
            c.close()

    took = _in_threads(clients, prepare, work, busy)
    if total["records"] < count:
        raise RuntimeError(f"consumed {total['records']} of {count}")
    return total["bytes"] / took / 1e6


def _connect(bootstrap: str) -> socket.socket:
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    s = socket.create_connection((host, int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _read(s: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return bytes(buf)


def produce_latencies_ms(addresses: dict[str, str], topic: str, count: int) -> dict[str, list[float]]:
    """Round trip of one small acks=1 Produce at a time over raw sockets, one per path
    (direct, proxy, relay), requests interleaved one by one so all see the same machine load."""
    P = messages.ProduceRequest
    size = struct.Struct(">i")
    socks = {via: _connect(address) for via, address in addresses.items()}
    out: dict[str, list[float]] = {via: [] for via in addresses}
    try:
        for i in range(count + 50):
            body = P(acks=1, timeout_ms=5000, topic_data=[P.TopicProduceData(name=topic, partition_data=[
                P.PartitionProduceData(index=i % 4, records=build_batch([b"x" * 100]))])])
            frame = b"".join(bytes(c) for c in kproto.encode_request(body, 9, i, "bench"))
            for via, s in socks.items():
                t0 = time.perf_counter()
                s.sendall(frame)
                (n,) = size.unpack(_read(s, 4))
                _read(s, n)
                if i >= 50:  # warm-up excluded
                    out[via].append((time.perf_counter() - t0) * 1000)
    finally:
        for s in socks.values():
            s.close()
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ratios(by_via: dict[str, list[float]], via: str = "proxy") -> list[float]:
    """`via` / direct of each round (the runs of a round are back to back)."""
    return [round(p / d, 3) for d, p in zip(by_via["direct"], by_via.get(via, []))]


@dataclass
class Runs:
    """MB/s and the machine's busy cores of every round of one scenario: op -> path -> per round."""

    mb_s: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: {op: {via: [] for via in VIAS} for op in ("produce", "consume")})
    busy: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: {op: {via: [] for via in VIAS} for op in ("produce", "consume")})

    def medians(self, op: str, via: str) -> float | None:
        values = self.mb_s[op][via]
        return statistics.median(values) if values else None

    def ratio(self, op: str, via: str) -> float | None:
        values = ratios(self.mb_s[op], via)
        return statistics.median(values) if values else None

    def cores_busy(self) -> dict[str, dict[str, float]]:
        return {op: {via: statistics.median(v) for via, v in by_via.items() if v} for op, by_via in self.busy.items()}


def measure_round(runs: Runs, via: str, address: str, topic: str, count: int, clients: int, partitions: int,
                  tls: dict[str, Any] | None = None) -> None:
    """One path's produce then consume of `count` records into `runs` (one client or many)."""
    prod, cons = runs.busy["produce"][via], runs.busy["consume"][via]
    if clients == 1:
        runs.mb_s["produce"][via].append(produce_mb_s(address, topic, count, tls, prod))
        runs.mb_s["consume"][via].append(consume_mb_s(address, topic, count + 1, tls, cons))
    else:
        runs.mb_s["produce"][via].append(produce_mb_s_clients(address, topic, count, clients, prod))
        runs.mb_s["consume"][via].append(consume_mb_s_clients(address, topic, partitions,
                                                              count // clients * clients, clients, cons))


def rotated(pairs: list[tuple[str, str]], r: int) -> list[tuple[str, str]]:
    """Round r starts with path r mod n: no path always runs first (on a fresh topic, a cold cache)."""
    k = r % len(pairs)
    return pairs[k:] + pairs[:k]


def _scenario(runs: Runs) -> Scenario:
    relayed = bool(runs.mb_s["produce"]["relay"])
    return Scenario(
        produce_mb_s_direct=runs.medians("produce", "direct"), produce_mb_s_proxy=runs.medians("produce", "proxy"),
        consume_mb_s_direct=runs.medians("consume", "direct"), consume_mb_s_proxy=runs.medians("consume", "proxy"),
        produce_ratio=runs.ratio("produce", "proxy"), consume_ratio=runs.ratio("consume", "proxy"),
        produce_ratios=ratios(runs.mb_s["produce"]), consume_ratios=ratios(runs.mb_s["consume"]),
        produce_mb_s_relay=runs.medians("produce", "relay"), consume_mb_s_relay=runs.medians("consume", "relay"),
        relay_produce_ratio=runs.ratio("produce", "relay"), relay_consume_ratio=runs.ratio("consume", "relay"),
        relay_produce_ratios=ratios(runs.mb_s["produce"], "relay") if relayed else [],
        relay_consume_ratios=ratios(runs.mb_s["consume"], "relay") if relayed else [],
        cores_busy=runs.cores_busy())


def run(smoke: bool, fetch_endpoints: bool = False, records: int | None = None,
        scenarios: tuple[str, ...] = tuple(SCENARIOS)) -> Figures:
    count = records or (SMOKE_RECORDS if smoke else RECORDS)
    rounds = 1 if smoke else 5
    lat_count = 300 if smoke else 3000
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        raise ValueError(f"unknown scenario(s) {sorted(unknown)}; known: {list(SCENARIOS)}")
    tls = any(SCENARIOS[name][1] for name in scenarios)
    # every client runs here, from one address: 100 clients open ~200 connections
    flags = ["--max-connections", "2000", "--max-connections-per-address", "2000",
             *(["--fetch-endpoints"] if fetch_endpoints else [])]
    relay = SocatRelay()
    with KafkaCluster(name="proxy-bench", heap="512m", jvm_options=BROKER_JVM, broker_config=BROKER_CONFIG,
                      listeners=("PLAINTEXT", "SSL") if tls else "PLAINTEXT", tls_tool="openssl",
                      extra_listeners={RELAY_LISTENER: "PLAINTEXT"}, advertised_port=relay.advertise) as cluster:
        proxy = ProxyProcess(cluster.bootstrap, flags)
        tls_proxy = tls_client = None
        try:
            relay.start(cluster.brokers[0].port(RELAY_LISTENER))
            check_relay_advertised(relay)
            if tls:
                assert cluster.tls is not None
                pem = cluster.tls.ca_cert.parent   # the broker's certificate serves the proxy too (127.0.0.1)
                tls_proxy = ProxyProcess(cluster.bootstrap, [*flags, "--tls-cert", str(pem / "broker.pem"),
                                                             "--tls-key", str(pem / "broker.key")])
                tls_client = {"security.protocol": "ssl", "ssl.ca.location": str(cluster.tls.ca_cert)}
            plain = [("direct", cluster.bootstrap), ("proxy", proxy.bootstrap), ("relay", relay.bootstrap)]
            one = Runs()
            more = {name: Runs() for name in scenarios}
            lat: dict[str, list[float]] = {via: [] for via in VIAS}
            cpu = {"proxy": 0.0, "relay": 0.0}
            moved = 0
            for r in range(rounds):
                for via, address in rotated(plain, r):
                    topic = cluster.create_topic(f"bench-{via}-{r}-{uuid.uuid4().hex[:6]}", 4, 1)
                    process = {"proxy": proxy, "relay": relay}.get(via)
                    c0 = process.cpu_seconds() if process else 0.0
                    measure_round(one, via, address, topic, count, 1, 4)
                    if process:
                        cpu[via] += process.cpu_seconds() - c0
                moved += 2 * count * len(VALUE)
                topic = cluster.create_topic(f"bench-latency-{r}-{uuid.uuid4().hex[:6]}", 4, 1)
                for via, values in produce_latencies_ms(dict(rotated(plain, r)), topic, lat_count).items():
                    lat[via] += values
                for name in scenarios:
                    clients, over_tls = SCENARIOS[name]
                    if over_tls:   # no relay: it would relay the broker's TLS, not the proxy's
                        assert tls_proxy is not None
                        pairs = [("direct", cluster.bootstrap_for("SSL")), ("proxy", tls_proxy.bootstrap)]
                    else:
                        pairs = plain
                    for via, address in rotated(pairs, r):
                        partitions = max(4, clients)
                        topic = cluster.create_topic(f"bench-{clients}-{via}-{r}-{uuid.uuid4().hex[:6]}", partitions, 1)
                        measure_round(more[name], via, address, topic, count, clients, partitions,
                                      tls_client if over_tls else None)
            return Figures(
                produce_mb_s_direct=one.medians("produce", "direct"), produce_mb_s_proxy=one.medians("produce", "proxy"),
                consume_mb_s_direct=one.medians("consume", "direct"), consume_mb_s_proxy=one.medians("consume", "proxy"),
                p50_ms_direct=pct(lat["direct"], 0.5), p50_ms_proxy=pct(lat["proxy"], 0.5),
                p99_ms_direct=pct(lat["direct"], 0.99), p99_ms_proxy=pct(lat["proxy"], 0.99),
                proxy_cpu_s_per_gb=cpu["proxy"] / (moved / 1e9),
                produce_ratio=one.ratio("produce", "proxy"), consume_ratio=one.ratio("consume", "proxy"),
                rounds=rounds, produce_ratios=ratios(one.mb_s["produce"]), consume_ratios=ratios(one.mb_s["consume"]),
                scenarios={name: _scenario(more[name]) for name in scenarios},
                relay=relay.description,
                produce_mb_s_relay=one.medians("produce", "relay"), consume_mb_s_relay=one.medians("consume", "relay"),
                p50_ms_relay=pct(lat["relay"], 0.5), p99_ms_relay=pct(lat["relay"], 0.99),
                relay_cpu_s_per_gb=cpu["relay"] / (moved / 1e9),
                relay_produce_ratio=one.ratio("produce", "relay"), relay_consume_ratio=one.ratio("consume", "relay"),
                relay_produce_ratios=ratios(one.mb_s["produce"], "relay"),
                relay_consume_ratios=ratios(one.mb_s["consume"], "relay"),
                cores_busy=one.cores_busy())
        finally:
            proxy.stop()
            relay.stop()
            if tls_proxy is not None:
                tls_proxy.stop()


def _busy(cores: dict[str, dict[str, float]], op: str) -> str:
    return " / ".join(f"{cores.get(op, {}).get(via, float('nan')):.2f}" for via in VIAS)


def _relay_cells(relay: float | None, ratio: float | None) -> str:
    return f"{relay:.0f} | {ratio:.2f}" if relay is not None and ratio is not None else "- | -"


def render(f: Figures) -> str:
    return "\n".join([
        f"Medians of {f.rounds} round(s); ratio = median of per-round proxy/direct (relay/direct); "
        f"relay: {f.relay}.",
        "",
        "| Measure | Direct | Through proxy | Proxy / direct | Bare relay | Relay / direct |",
        "|---|---:|---:|---:|---:|---:|",
        f"| Produce throughput (MB/s) | {f.produce_mb_s_direct:.1f} | {f.produce_mb_s_proxy:.1f} | {f.produce_ratio:.2f} "
        f"| {f.produce_mb_s_relay:.1f} | {f.relay_produce_ratio:.2f} |",
        f"| Consume throughput (MB/s) | {f.consume_mb_s_direct:.1f} | {f.consume_mb_s_proxy:.1f} | {f.consume_ratio:.2f} "
        f"| {f.consume_mb_s_relay:.1f} | {f.relay_consume_ratio:.2f} |",
        f"| Produce p50 latency (ms) | {f.p50_ms_direct:.3f} | {f.p50_ms_proxy:.3f} | +{f.p50_ms_proxy - f.p50_ms_direct:.3f} ms "
        f"| {f.p50_ms_relay:.3f} | +{f.p50_ms_relay - f.p50_ms_direct:.3f} ms |",
        f"| Produce p99 latency (ms) | {f.p99_ms_direct:.3f} | {f.p99_ms_proxy:.3f} | +{f.added_p99_ms:.3f} ms "
        f"| {f.p99_ms_relay:.3f} | +{f.p99_ms_relay - f.p99_ms_direct:.3f} ms |",
        f"\nper-round ratios: produce {f.produce_ratios}, consume {f.consume_ratios}; "
        f"relay: produce {f.relay_produce_ratios}, consume {f.relay_consume_ratios}",
        f"CPU per GB moved (produced + consumed): proxy {f.proxy_cpu_s_per_gb:.2f} s, relay {f.relay_cpu_s_per_gb:.2f} s; "
        f"load average {os.getloadavg()[0]:.1f}",
        f"machine cores busy in the timed windows (direct / proxy / relay): produce {_busy(f.cores_busy, 'produce')}, "
        f"consume {_busy(f.cores_busy, 'consume')} (of {os.cpu_count()})",
        *([""] if f.scenarios else []),
        *(["| Scenario | Produce direct / proxy (MB/s) | Produce ratio | Relay (MB/s) | Relay ratio "
           "| Consume direct / proxy (MB/s) | Consume ratio | Relay (MB/s) | Relay ratio |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|"] if f.scenarios else []),
        *(f"| {name} | {sc.produce_mb_s_direct:.0f} / {sc.produce_mb_s_proxy:.0f} | {sc.produce_ratio:.2f} | "
          f"{_relay_cells(sc.produce_mb_s_relay, sc.relay_produce_ratio)} | "
          f"{sc.consume_mb_s_direct:.0f} / {sc.consume_mb_s_proxy:.0f} | {sc.consume_ratio:.2f} | "
          f"{_relay_cells(sc.consume_mb_s_relay, sc.relay_consume_ratio)} |"
          for name, sc in f.scenarios.items()),
        *(f"{name} per-round ratios: produce {sc.produce_ratios}, consume {sc.consume_ratios}"
          + (f"; relay: produce {sc.relay_produce_ratios}, consume {sc.relay_consume_ratios}"
             if sc.relay_produce_ratios else "")
          + f"; cores busy (direct / proxy / relay): produce {_busy(sc.cores_busy, 'produce')}, "
            f"consume {_busy(sc.cores_busy, 'consume')}"
          for name, sc in f.scenarios.items()),
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="small volumes, one round")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--fetch-endpoints", action="store_true",
                    help="run the proxy with Fetch v16+ (KIP-951 endpoints rewritten: each Fetch response "
                         "collected whole); default: Fetch capped at v15, relayed as it arrives")
    ap.add_argument("--records", type=int, help="1 KiB records per round (default 500,000; smoke 20,000)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help=f"comma-separated, beside the one-client figures (default: all of {', '.join(SCENARIOS)}; "
                         "'' for none)")
    args = ap.parse_args(argv)
    scenarios = tuple(n.strip() for n in args.scenarios.split(",") if n.strip())
    figures = run(args.smoke, args.fetch_endpoints, args.records, scenarios)
    print("proxy mode:", "Fetch v16+ collected and decoded for KIP-951 endpoints" if args.fetch_endpoints
          else "Fetch capped at v15, relayed as it arrives")
    print(render(figures))
    everything = [figures.produce_ratio, figures.consume_ratio,
                  *(x for sc in figures.scenarios.values() for x in (sc.produce_ratio, sc.consume_ratio))]
    goal = min(everything) >= 0.9 and figures.added_p99_ms < 1.0
    print(f"goal (every ratio >= 0.9, added p99 < 1 ms): {'met' if goal else 'NOT met'}")
    if args.json:
        with open(args.json, "w") as fh:
            settings = {"records_per_round": args.records or (SMOKE_RECORDS if args.smoke else RECORDS),
                        "value_bytes": len(VALUE), "fetch_node_endpoints": args.fetch_endpoints,
                        "scenarios": {n: {"clients": SCENARIOS[n][0], "tls": SCENARIOS[n][1]} for n in scenarios},
                        "broker_config": BROKER_CONFIG, "load_average": os.getloadavg()[0],
                        "relay": figures.relay, "cpu_count": os.cpu_count()}
            json.dump({**asdict(figures), "added_p99_ms": figures.added_p99_ms, "settings": settings}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
