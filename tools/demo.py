"""`make demo`: an exact mirror between two local Apache Kafka clusters, verified.

Starts a "source" and a "destination" cluster with the test bed, writes a demo
topic on the source (three codecs, keys, headers, idempotent producer; the
start of one partition trimmed away) and a compacted topic the source's cleaner
has cleaned (mirrored record-exact, holes filled), a topic written in transactions
(replayed through destination transactions, offsets kept), writes a link file, shows `linker plan` (the
read-only preflight), runs `linker run` as a
subprocess exactly as a user would, waits until it has caught up, shows
`linker status`, proves the copy with `linker verify`, produces some more and
verifies again. Then it waits for Ctrl-C (or exits with --once /
LINKER_DEMO_ONCE=1), stopping the linker (SIGTERM, it drains) and both clusters.
A failed verify makes the demo exit 1.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

DEMO_TOPIC = "demo"
PARTITIONS = 3
COMPACTED_TOPIC = "demo-compacted"
COMPACTED_KEYS = 8
TXN_TOPIC = "demo-transactions"
TXN_OUTCOMES = ("commit", "commit", "abort", "commit")
TXN_RECORDS = 5
CLEANING_TIMEOUT = 60.0
CODECS = ("gzip", "lz4", "zstd")
MORE_CODEC = "zstd"
CATCH_UP_TIMEOUT = 120.0
LINKER_STOP_TIMEOUT = 30.0


class DemoFailed(Exception):
    """A step of the demo did not do what it shows; the message says which."""


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _section(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.rstrip("\n").splitlines())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _linker_cmd() -> list[str]:
    """The console script next to this interpreter if installed, else the module."""
    script = Path(sys.executable).with_name("linker")
    return [str(script)] if script.exists() else [sys.executable, "-m", "linker.app.cli"]


def _link_toml(source: Any, destination: Any, metrics_port: int) -> str:
    def servers(cluster: Any) -> str:
        return ", ".join(f'"{s}"' for s in cluster.bootstrap.split(","))
    return (f'name = "demo"\n\n'
            f'[source]\nbootstrap_servers = [{servers(source)}]\n\n'
            f'[destination]\nbootstrap_servers = [{servers(destination)}]\n\n'
            f'[topics]\nnames = ["{DEMO_TOPIC}", "{COMPACTED_TOPIC}", "{TXN_TOPIC}"]\n\n'
            f'[mirror]\nfetch_max_wait_ms = 200\nmetadata_refresh_ms = 5000\n\n'
            f'[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n')


def _produce(source: Any, records: int, codecs: tuple[str, ...]) -> int:
    from kafkabed.producers import produce
    total = 0
    for codec in codecs:
        total += len(produce(source, DEMO_TOPIC, records, compression=codec, idempotent=True).offsets)
    return total


def _trim(source: Any) -> tuple[int, int]:
    """DeleteRecords on the source's largest partition (as retention would) so the mirror has to
    align a leading gap; returns the partition and its new log start."""
    from kafka.admin import KafkaAdminClient
    from kafka.structs import TopicPartition
    ends = {p: end for (t, p), end in _source_ends(source).items() if t == DEMO_TOPIC}
    partition = max(ends, key=lambda p: ends[p])
    target = max(1, ends[partition] // 4)
    if ends[partition] < 2:
        return partition, 0
    admin = KafkaAdminClient(**source.kafka_python_config())
    try:
        admin.delete_records({TopicPartition(DEMO_TOPIC, partition): target})
    finally:
        admin.close()
    return partition, target


def _compacted(source: Any) -> tuple[int, int]:
    """Upserts over a few keys on a compacted topic until the source's cleaner has removed
    superseded records (holes in its offsets); returns (records produced, records kept)."""
    from kafkabed.producers import Record, create_compacted_topic, produce
    create_compacted_topic(source, COMPACTED_TOPIC)
    produced, deadline = 0, time.monotonic() + CLEANING_TIMEOUT
    while time.monotonic() < deadline:
        recs = [Record(b"key-%d" % (n % COMPACTED_KEYS), b"v%d" % (produced + n), ()) for n in range(40)]
        produced += len(produce(source, COMPACTED_TOPIC, recs, compression="zstd").offsets)
        time.sleep(0.5)
        kept = _compacted_offsets(source)
        if len(kept) < produced:
            return produced, len(kept)
    raise DemoFailed(f"the source cleaner did not clean '{COMPACTED_TOPIC}' within {CLEANING_TIMEOUT:.0f}s")


def _transactions(source: Any) -> None:
    """Transactions of a librdkafka transactional producer, committed and aborted (each ends
    with a marker the source's coordinator writes)."""
    from kafkabed.producers import make_records, produce
    source.create_topic(TXN_TOPIC, partitions=1)
    for i, outcome in enumerate(TXN_OUTCOMES):
        produce(source, TXN_TOPIC, make_records(TXN_RECORDS, prefix=f"txn{i}"), client="confluent",
                transaction=outcome)


def _compacted_offsets(source: Any) -> list[int]:
    from kafka import KafkaConsumer
    from kafka.structs import TopicPartition
    tp = TopicPartition(COMPACTED_TOPIC, 0)
    consumer = KafkaConsumer(**source.kafka_python_config(), auto_offset_reset="earliest")
    try:
        consumer.assign([tp])
        end = consumer.end_offsets([tp])[tp]
        offsets: list[int] = []
        deadline = time.monotonic() + CATCH_UP_TIMEOUT
        while consumer.position(tp) < end:
            if time.monotonic() > deadline:
                raise DemoFailed(f"reading '{COMPACTED_TOPIC}' on the source stuck at {consumer.position(tp)}")
            offsets += [m.offset for msgs in consumer.poll(timeout_ms=500).values() for m in msgs]
        return offsets
    finally:
        consumer.close()


class LinkerProcess:
    """`linker run --config link.toml` as a child process, its log in a file."""

    def __init__(self, config: Path, log: Path) -> None:
        from kafkabed.procs import spawn
        self.config = config
        self.log = log
        log.write_bytes(b"")
        # The test bed's spawn: own process group and a parent-death signal, so the linker
        # never outlives the demo, even when the demo itself is killed.
        self.proc = spawn([*_linker_cmd(), "run", "--config", str(config)], log)

    def check_alive(self) -> None:
        code = self.proc.poll()
        if code is not None:
            raise DemoFailed(f"linker run exited with code {code}; its log:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return _indent("\n".join(self.log.read_text(errors="replace").splitlines()[-lines:]))
        except OSError:
            return "    (no log)\n"

    def stop(self) -> int | None:
        """SIGTERM (the linker drains in-flight produces and exits), SIGKILL if it hangs."""
        from kafkabed.procs import stop
        return stop(self.proc, LINKER_STOP_TIMEOUT)


def _linker(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_linker_cmd(), *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout)


def _wait_caught_up(linker: LinkerProcess, expected_end: dict[tuple[str, int], int]) -> float:
    """Poll `linker status --json` until every partition is MIRRORING with no lag and the
    destination holds at least `expected_end`; returns the seconds it took."""
    t0 = time.monotonic()
    last = ""
    while time.monotonic() - t0 < CATCH_UP_TIMEOUT:
        linker.check_alive()
        res = _linker("status", "--config", str(linker.config), "--json")
        if res.returncode == 0:
            try:
                doc = json.loads(res.stdout)
            except json.JSONDecodeError:
                doc = {}
            parts = doc.get("partitions", [])
            last = res.stdout
            if (doc.get("engine_reachable") and len(parts) == len(expected_end) and all(
                    p["state"] == "MIRRORING" and p["lag_records"] == 0
                    and p["dest_log_end"] == p["source_high_watermark"]
                    and p["dest_log_end"] >= expected_end.get((p["topic"], p["partition"]), 0) for p in parts)):
                return time.monotonic() - t0
        else:
            last = res.stderr
        time.sleep(0.5)
    raise DemoFailed(f"the mirror did not catch up within {CATCH_UP_TIMEOUT:.0f}s; last status:\n"
                     f"{_indent(last)}linker log:\n{linker.log_tail()}")


def _show_status(config: Path, attempts: int = 5) -> None:
    """`linker status` as a user sees it. Its engine query times out after 2 s, which a loaded
    machine can exceed; a table without states would misrepresent the mirror, so retry that."""
    for _ in range(attempts):
        res = _linker("status", "--config", str(config))
        if "engine not reachable" not in res.stdout:
            break
        time.sleep(1)
    print(_indent(res.stdout + res.stderr), end="", flush=True)


def _verify(config: Path) -> None:
    res = _linker("verify", "--config", str(config), timeout=120)
    print(_indent(res.stdout + res.stderr), end="")
    if res.returncode != 0:
        raise DemoFailed(f"linker verify exited {res.returncode}: the destination is NOT an exact copy")
    print("  Verify: EXACT (every batch identical: offsets, CRC, bytes; where the source's cleaner "
          "rewrote batches, every record it kept identical at its offset)", flush=True)


def _source_ends(source: Any) -> dict[tuple[str, int], int]:
    from kafka import KafkaConsumer
    from kafka.structs import TopicPartition
    tps = ([TopicPartition(DEMO_TOPIC, p) for p in range(PARTITIONS)] + [TopicPartition(COMPACTED_TOPIC, 0)]
           + [TopicPartition(TXN_TOPIC, 0)])
    consumer = KafkaConsumer(**source.kafka_python_config())
    try:
        return {(tp.topic, tp.partition): end for tp, end in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def _try_it(config: Path, destination: Any, partition: int, trimmed_to: int) -> None:
    linker = " ".join(_linker_cmd())
    print(f"  {linker} status --config {config}")
    print(f"  {linker} verify --config {config}")
    print(f"  # read the destination at the same offsets as the source "
          f"(partition {partition} starts at {trimmed_to} on both):")
    print(f'  {sys.executable} -c "from kafka import KafkaConsumer, TopicPartition as T; '
          f"c = KafkaConsumer(bootstrap_servers='{destination.bootstrap}'); t = T('{DEMO_TOPIC}', "
          f"{partition}); c.assign([t]); c.seek(t, {trimmed_to}); "
          f"[print(m.offset, m.key, m.headers) for m in c.poll(5000, max_records=5).get(t, [])]\"",
          flush=True)


def run_demo(args: argparse.Namespace, stack: ExitStack) -> None:
    from kafkabed import KafkaCluster, PINNED
    from kafkabed.runlogs import run_dir

    _section(f"1. Two Apache Kafka {PINNED} clusters")
    clusters = {}
    for name in ("source", "destination"):
        cluster = KafkaCluster(name)
        cluster.start()
        stack.callback(cluster.stop)
        clusters[name] = cluster
        print(f"  {name:12} {cluster.bootstrap}   (up in {cluster.startup_seconds:.1f}s, "
              f"pid {cluster.brokers[0].pid})", flush=True)
    source, destination = clusters["source"], clusters["destination"]
    print(f"  Broker logs: {source.directory.parent}")

    _section("2. Data on the source")
    source.create_topic(DEMO_TOPIC, partitions=PARTITIONS, configs={"compression.type": "producer"})
    produced = _produce(source, args.records, CODECS)
    print(f"  Produced {produced} records to '{DEMO_TOPIC}' on the source ({args.records} each with "
          f"{', '.join(CODECS)}; keys, headers, idempotent producer).")
    produced, kept = _compacted(source)
    print(f"  Produced {produced} records over {COMPACTED_KEYS} keys to the compacted topic "
          f"'{COMPACTED_TOPIC}'; the source's cleaner kept {kept}: the mirror keeps their offsets "
          f"and fills the holes (fidelity record-exact (compacted)).", flush=True)
    _transactions(source)
    print(f"  Produced {TXN_RECORDS * len(TXN_OUTCOMES)} records in {len(TXN_OUTCOMES)} transactions "
          f"({TXN_OUTCOMES.count('commit')} committed, {TXN_OUTCOMES.count('abort')} aborted) to "
          f"'{TXN_TOPIC}': each is replayed as a destination transaction, markers at the same offsets "
          f"(fidelity offset-exact (transactional, headers re-stamped)).", flush=True)
    trimmed, trimmed_to = _trim(source)
    print(f"  Deleted records below offset {trimmed_to} of {DEMO_TOPIC}-{trimmed} "
          f"(as retention would): the mirror must start there too.", flush=True)

    _section("3. The link file")
    work = run_dir() / "linker-demo"
    work.mkdir(parents=True, exist_ok=True)
    config = work / "link.toml"
    config.write_text(_link_toml(source, destination, _free_port()))
    print(f"  {config}:")
    print(_indent(config.read_text()), end="", flush=True)
    plan = _linker("plan", "--config", str(config))
    print(f"  linker plan --config {config}   (read-only preflight; exit {plan.returncode}):")
    print(_indent(plan.stdout + plan.stderr), end="", flush=True)
    if plan.returncode != 0:
        raise DemoFailed(f"linker plan says the demo link would block (exit {plan.returncode})")

    _section("4. linker run")
    linker = LinkerProcess(config, work / "linker.log")
    stack.callback(_stop_linker, linker)
    print(f"  {' '.join(_linker_cmd())} run --config {config}   (pid {linker.proc.pid}, "
          f"log {linker.log})", flush=True)

    _section("5. Caught up")
    took = _wait_caught_up(linker, _source_ends(source))
    print(f"  Caught up in {took:.1f}s. linker status:", flush=True)
    _show_status(config)

    _section("6. linker verify")
    _verify(config)

    _section("7. More data while the linker runs")
    more = max(1, args.records // 2)
    produced = _produce(source, more, (MORE_CODEC,))
    print(f"  Produced {produced} more records ({MORE_CODEC}).", flush=True)
    took = _wait_caught_up(linker, _source_ends(source))
    print(f"  Followed in {took:.1f}s. linker status:", flush=True)
    _show_status(config)
    _verify(config)

    _section("8. Try it yourself (while the demo runs)")
    _try_it(config, destination, trimmed, trimmed_to)


def _stop_linker(linker: LinkerProcess) -> None:
    print("Stopping the linker (SIGTERM, it drains) ...", flush=True)
    code = linker.stop()
    print(f"  linker exited with code {code}.", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/demo.py", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", default=os.environ.get("LINKER_DEMO_ONCE") == "1",
                        help="exit after the demo steps instead of waiting for Ctrl-C")
    parser.add_argument("--records", type=int, default=1000, help="records per codec (default 1000)")
    args = parser.parse_args(argv)
    if args.records < 1:
        parser.error("--records must be at least 1")
    # Ctrl-C stops the demo even if started where SIGINT was ignored (a background job of a
    # script); SIGTERM (e.g. from a process supervisor) stops it the same way.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)

    try:
        with ExitStack() as stack:
            stack.callback(print, "Stopping the clusters ... done.", flush=True)
            print("Starting two Apache Kafka clusters ...", flush=True)
            try:
                run_demo(args, stack)
            except DemoFailed as exc:
                print(f"\nDEMO FAILED: {exc}", file=sys.stderr, flush=True)
                return 1
            if args.once:
                print("\nStopping (--once).", flush=True)
                return 0
            print("\nRunning. Press Ctrl-C to stop the linker and both clusters.", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("Stopped.", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
