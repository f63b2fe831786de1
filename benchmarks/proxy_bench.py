"""Produce/consume throughput and produce latency through linker.proxy vs direct, same run.

Starts one broker (kafkabed) and the proxy as its own process
(``python -m linker.proxy``, uvloop when installed), then alternates direct and
proxied rounds so both see the same machine load:

- produce throughput: librdkafka producer, 1 KiB values, acks=all, linger 5 ms;
- consume throughput: librdkafka consumer reading the topic from the start;
- produce latency: one Produce (acks=1, one 100-byte record) at a time over a
  raw socket, round-trip time per request; p50/p99;
- the same throughputs with 10 and 100 clients at once (one librdkafka producer
  or consumer each, in threads; the topic then has as many partitions as clients,
  each consumer assigned its share), and with one client over TLS (direct: the
  broker's SSL listener; proxied: TLS to the proxy, plaintext from it to the broker).

Goal (issues #8, #22): throughput ratio >= 0.9 and added p99 latency < 1 ms on loopback.

Run: ``python -m benchmarks.proxy_bench`` (``--smoke`` for a quick pass).
"""
from __future__ import annotations

import argparse
import json
import os
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

    @property
    def added_p99_ms(self) -> float:
        return self.p99_ms_proxy - self.p99_ms_direct


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
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def produce_mb_s(bootstrap: str, topic: str, count: int, tls: dict[str, Any] | None = None) -> float:
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 1 << 20,
                  "queue.buffering.max.kbytes": 1 << 20, "acks": "all", **(tls or {})})
    p.produce(topic, VALUE)  # connect and learn metadata outside the timed part
    p.flush(30)
    t0 = time.perf_counter()
    for _ in range(count):
        while True:
            try:
                p.produce(topic, VALUE)
                break
            except BufferError:
                p.poll(0.01)
    if p.flush(120):
        raise RuntimeError("producer did not deliver everything")
    return count * len(VALUE) / (time.perf_counter() - t0) / 1e6


def consume_mb_s(bootstrap: str, topic: str, count: int, tls: dict[str, Any] | None = None) -> float:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:6]}",
                  "enable.auto.commit": False, "fetch.max.bytes": 50 << 20, **(tls or {})})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(4)])
    got = 0
    first = c.consume(1, 30)  # connect outside the timed part
    got += len(first)
    t0 = time.perf_counter()
    nbytes = 0
    deadline = t0 + 120
    while got < count and time.perf_counter() < deadline:
        for m in c.consume(10000, 1.0):
            if not m.error():
                got += 1
                nbytes += len(m.value())
    took = time.perf_counter() - t0
    c.close()
    if got < count:
        raise RuntimeError(f"consumed {got} of {count}")
    return nbytes / took / 1e6


def _in_threads(n: int, prepare: Any, work: Any) -> float:
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
    t0 = time.perf_counter()
    go.set()
    for t in threads:
        t.join(300)
    took = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return took


def produce_mb_s_clients(bootstrap: str, topic: str, count: int, clients: int) -> float:
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
        for _ in range(per):
            while True:
                try:
                    p.produce(topic, VALUE)
                    break
                except BufferError:
                    p.poll(0.01)
        if p.flush(120):
            raise RuntimeError("producer did not deliver everything")

    return clients * per * len(VALUE) / _in_threads(clients, prepare, work) / 1e6


def consume_mb_s_clients(bootstrap: str, topic: str, partitions: int, count: int, clients: int) -> float:
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

    took = _in_threads(clients, prepare, work)
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


def produce_latencies_ms(direct: str, proxied: str, topic: str, count: int) -> dict[str, list[float]]:
    """Round trip of one small acks=1 Produce at a time over raw sockets, direct and proxied
    requests interleaved one by one so both see the same machine load."""
    P = messages.ProduceRequest
    size = struct.Struct(">i")
    socks = {"direct": _connect(direct), "proxy": _connect(proxied)}
    out: dict[str, list[float]] = {"direct": [], "proxy": []}
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


def ratios(by_via: dict[str, list[float]]) -> list[float]:
    """proxy / direct of each round (the two runs of a round are back to back)."""
    return [round(p / d, 3) for d, p in zip(by_via["direct"], by_via["proxy"])]


def _scenario(prod: dict[str, list[float]], cons: dict[str, list[float]]) -> Scenario:
    return Scenario(
        produce_mb_s_direct=statistics.median(prod["direct"]), produce_mb_s_proxy=statistics.median(prod["proxy"]),
        consume_mb_s_direct=statistics.median(cons["direct"]), consume_mb_s_proxy=statistics.median(cons["proxy"]),
        produce_ratio=statistics.median(ratios(prod)), consume_ratio=statistics.median(ratios(cons)),
        produce_ratios=ratios(prod), consume_ratios=ratios(cons))


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
    with KafkaCluster(name="proxy-bench", heap="512m", jvm_options=BROKER_JVM, broker_config=BROKER_CONFIG,
                      listeners=("PLAINTEXT", "SSL") if tls else "PLAINTEXT", tls_tool="openssl") as cluster:
        proxy = ProxyProcess(cluster.bootstrap, flags)
        tls_proxy = tls_client = None
        try:
            if tls:
                assert cluster.tls is not None
                pem = cluster.tls.ca_cert.parent   # the broker's certificate serves the proxy too (127.0.0.1)
                tls_proxy = ProxyProcess(cluster.bootstrap, [*flags, "--tls-cert", str(pem / "broker.pem"),
                                                             "--tls-key", str(pem / "broker.key")])
                tls_client = {"security.protocol": "ssl", "ssl.ca.location": str(cluster.tls.ca_cert)}
            prod: dict[str, list[float]] = {"direct": [], "proxy": []}
            cons: dict[str, list[float]] = {"direct": [], "proxy": []}
            more = {name: ({"direct": [], "proxy": []}, {"direct": [], "proxy": []}) for name in scenarios}
            lat: dict[str, list[float]] = {"direct": [], "proxy": []}
            cpu = 0.0
            moved = 0
            for r in range(rounds):
                for via, address in (("direct", cluster.bootstrap), ("proxy", proxy.bootstrap)):
                    topic = cluster.create_topic(f"bench-{via}-{r}-{uuid.uuid4().hex[:6]}", 4, 1)
                    c0 = proxy.cpu_seconds()
                    prod[via].append(produce_mb_s(address, topic, count))
                    cons[via].append(consume_mb_s(address, topic, count + 1))
                    if via == "proxy":
                        cpu += proxy.cpu_seconds() - c0
                        moved += 2 * count * len(VALUE)
                topic = cluster.create_topic(f"bench-latency-{r}-{uuid.uuid4().hex[:6]}", 4, 1)
                for via, values in produce_latencies_ms(cluster.bootstrap, proxy.bootstrap, topic,
                                                        lat_count).items():
                    lat[via] += values
                for name in scenarios:
                    clients, over_tls = SCENARIOS[name]
                    if over_tls:
                        assert tls_proxy is not None
                        pairs = (("direct", cluster.bootstrap_for("SSL")), ("proxy", tls_proxy.bootstrap))
                    else:
                        pairs = (("direct", cluster.bootstrap), ("proxy", proxy.bootstrap))
                    for via, address in pairs:
                        partitions = max(4, clients)
                        topic = cluster.create_topic(f"bench-{clients}-{via}-{r}-{uuid.uuid4().hex[:6]}", partitions, 1)
                        if clients == 1:
                            more[name][0][via].append(produce_mb_s(address, topic, count, tls_client if over_tls else None))
                            more[name][1][via].append(consume_mb_s(address, topic, count + 1,
                                                                   tls_client if over_tls else None))
                        else:
                            more[name][0][via].append(produce_mb_s_clients(address, topic, count, clients))
                            more[name][1][via].append(consume_mb_s_clients(address, topic, partitions,
                                                                           count // clients * clients, clients))
            return Figures(
                produce_mb_s_direct=statistics.median(prod["direct"]), produce_mb_s_proxy=statistics.median(prod["proxy"]),
                consume_mb_s_direct=statistics.median(cons["direct"]), consume_mb_s_proxy=statistics.median(cons["proxy"]),
                p50_ms_direct=pct(lat["direct"], 0.5), p50_ms_proxy=pct(lat["proxy"], 0.5),
                p99_ms_direct=pct(lat["direct"], 0.99), p99_ms_proxy=pct(lat["proxy"], 0.99),
                proxy_cpu_s_per_gb=cpu / (moved / 1e9),
                produce_ratio=statistics.median(ratios(prod)), consume_ratio=statistics.median(ratios(cons)),
                rounds=rounds, produce_ratios=ratios(prod), consume_ratios=ratios(cons),
                scenarios={name: _scenario(*more[name]) for name in scenarios})
        finally:
            proxy.stop()
            if tls_proxy is not None:
                tls_proxy.stop()


def render(f: Figures) -> str:
    return "\n".join([
        f"Medians of {f.rounds} round(s); ratio = median of per-round proxy/direct.",
        "",
        "| Measure | Direct | Through proxy | Proxy / direct |",
        "|---|---:|---:|---:|",
        f"| Produce throughput (MB/s) | {f.produce_mb_s_direct:.1f} | {f.produce_mb_s_proxy:.1f} | {f.produce_ratio:.2f} |",
        f"| Consume throughput (MB/s) | {f.consume_mb_s_direct:.1f} | {f.consume_mb_s_proxy:.1f} | {f.consume_ratio:.2f} |",
        f"| Produce p50 latency (ms) | {f.p50_ms_direct:.3f} | {f.p50_ms_proxy:.3f} | +{f.p50_ms_proxy - f.p50_ms_direct:.3f} ms |",
        f"| Produce p99 latency (ms) | {f.p99_ms_direct:.3f} | {f.p99_ms_proxy:.3f} | +{f.added_p99_ms:.3f} ms |",
        f"\nper-round ratios: produce {f.produce_ratios}, consume {f.consume_ratios}",
        f"proxy CPU per GB moved (produced + consumed): {f.proxy_cpu_s_per_gb:.2f} s; "
        f"load average {os.getloadavg()[0]:.1f}",
        *([""] if f.scenarios else []),
        *(["| Scenario | Produce direct / proxy (MB/s) | Produce ratio | Consume direct / proxy (MB/s) | Consume ratio |",
           "|---|---:|---:|---:|---:|"] if f.scenarios else []),
        *(f"| {name} | {sc.produce_mb_s_direct:.0f} / {sc.produce_mb_s_proxy:.0f} | {sc.produce_ratio:.2f} | "
          f"{sc.consume_mb_s_direct:.0f} / {sc.consume_mb_s_proxy:.0f} | {sc.consume_ratio:.2f} |"
          for name, sc in f.scenarios.items()),
        *(f"{name} per-round ratios: produce {sc.produce_ratios}, consume {sc.consume_ratios}"
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
                        "broker_config": BROKER_CONFIG, "load_average": os.getloadavg()[0]}
            json.dump({**asdict(figures), "added_p99_ms": figures.added_p99_ms, "settings": settings}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
