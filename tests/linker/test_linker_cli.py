"""The `linker` command as a user runs it: subprocesses, signals, kill -9."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


from kafkabed.producers import produce


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_link(path: Path, source, destination, topics: list[str], metrics_port: int | None = None) -> Path:
    lines = [
        'name = "cli-test"',
        "[source]", f"bootstrap_servers = {json.dumps(source.bootstrap.split(','))}",
        "[destination]", f"bootstrap_servers = {json.dumps(destination.bootstrap.split(','))}",
        "[topics]", f"names = {json.dumps(topics)}",
        "[mirror]", "fetch_max_wait_ms = 100", "stop_timeout_ms = 5000",
    ]
    if metrics_port:
        lines += ["[metrics]", f'listen = "127.0.0.1:{metrics_port}"']
    path.write_text("\n".join(lines) + "\n")
    return path


def linker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "linker.app.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def start_run(cfg: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "linker.app.cli", "run", "--config", str(cfg)],
                            stdout=subprocess.DEVNULL, stderr=open(log, "ab"))


def wait_caught_up(cfg: Path, topic: str, expected: int, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    doc: dict = {}
    while time.monotonic() < deadline:
        r = linker("status", "--config", str(cfg), "--json")
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        parts = [p for p in doc["partitions"] if p["topic"] == topic]
        if parts and sum(p["dest_log_end"] or 0 for p in parts) >= expected \
                and all(p["lag_records"] == 0 for p in parts):
            return doc
        time.sleep(0.5)
    raise AssertionError(f"not caught up within {timeout}s: {doc}")


def test_run_status_metrics_sigterm_verify(source, destination, topic_name, tmp_path):
    source.create_topic(topic_name, partitions=3)
    produce(source, topic_name, 600, compression="zstd")
    port = free_port()
    cfg = write_link(tmp_path / "link.toml", source, destination, [topic_name], port)
    proc = start_run(cfg, tmp_path / "run.log")
    try:
        doc = wait_caught_up(cfg, topic_name, 600)
        assert doc["engine_reachable"] is True
        assert {p["state"] for p in doc["partitions"]} == {"MIRRORING"}
        assert {p["fidelity"] for p in doc["partitions"]} == {"exact"}
        table = linker("status", "--config", str(cfg)).stdout
        assert "MIRRORING" in table and topic_name in table
        time.sleep(2.5)  # one lag refresh
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        for name in ("linker_partition_lag_records", "linker_partition_lag_bytes", "linker_partition_lag_seconds",
                     "linker_mirrored_bytes_total", "linker_mirrored_batches_total", "linker_in_flight_bytes",
                     "linker_errors_total", "linker_partition_state"):
            assert f"# TYPE {name}" in metrics
        assert f'linker_partition_state{{partition="0",state="MIRRORING",topic="{topic_name}"}} 1' in metrics
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert time.monotonic() - started < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = (tmp_path / "run.log").read_text()
    assert "PENDING -> MIRRORING" in log and "MIRRORING -> STOPPED" in log
    offline = json.loads(linker("status", "--config", str(cfg), "--json").stdout)
    assert offline["engine_reachable"] is False
    assert {p["state"] for p in offline["partitions"]} == {"NO-ENGINE"}
    assert sum(p["dest_log_end"] for p in offline["partitions"]) == 600
    r = linker("verify", "--config", str(cfg))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 partitions: 3 exact; 0 problem(s)" in r.stdout
    r = linker("verify", "--config", str(cfg), "--topic", topic_name)
    assert r.returncode == 0 and "3 partitions: 3 exact" in r.stdout
    r = linker("verify", "--config", str(cfg), "--topic", "not-in-the-link")
    assert r.returncode == 1 and "not mirrored by link" in r.stdout


def test_bad_link_file_is_named(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[source]\nbootstrap_servers = ["a:1"]\n[destination]\nbootstrap_servers = ["b:2"]\n'
                   '[topics]\nnames = ["t"]\n[mirror]\nacks = 0\n')
    r = linker("verify", "--config", str(bad))
    assert r.returncode == 2
    assert "mirror.acks" in r.stderr


def test_unreachable_source_is_reported(tmp_path):
    """An unreachable cluster is waited for (issue 14: time heals it), named in the log; SIGTERM ends the wait."""
    port = free_port()  # nothing listens there
    cfg = tmp_path / "link.toml"
    cfg.write_text(f'[source]\nbootstrap_servers = ["127.0.0.1:{port}"]\n[destination]\n'
                   f'bootstrap_servers = ["127.0.0.1:{port}"]\n[topics]\nnames = ["t"]\n')
    err = tmp_path / "run.log"
    with open(err, "wb") as f:
        proc = subprocess.Popen([sys.executable, "-m", "linker.app.cli", "run", "--config", str(cfg)],
                                stdout=subprocess.DEVNULL, stderr=f)
    try:
        deadline = time.monotonic() + 60
        while "waiting for the cluster" not in err.read_text():
            assert proc.poll() is None, err.read_text()
            assert time.monotonic() < deadline, err.read_text()
            time.sleep(0.1)
        assert f"127.0.0.1:{port}" in err.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, err.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)


def test_sigterm_mid_stream_drains_and_leaves_an_exact_prefix(source, destination, topic_name, tmp_path):
    from confluent_kafka import Producer
    source.create_topic(topic_name, partitions=4)
    p = Producer({**source.confluent_config(), "linger.ms": 20, "compression.type": "none"})
    pool = os.urandom(1 << 20)
    total = 80_000
    for i in range(total):
        p.produce(topic_name, value=pool[(i * 4099) % (len(pool) - 1000):][:1000], partition=i % 4)
        if i % 5000 == 0:
            p.flush()
    assert p.flush(60) == 0
    cfg = write_link(tmp_path / "link.toml", source, destination, [topic_name])
    log = tmp_path / "run.log"
    proc = start_run(cfg, log)
    try:
        deadline = time.monotonic() + 30
        while "-> MIRRORING" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.2)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert time.monotonic() - started < 8   # stop_timeout_ms is 5 s in this link file
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    doc = json.loads(linker("status", "--config", str(cfg), "--json").stdout)
    stopped_at = sum(p["dest_log_end"] for p in doc["partitions"])
    assert 0 < stopped_at < total, stopped_at   # it really stopped mid-stream
    r = linker("verify", "--config", str(cfg))
    assert r.returncode == 3 and "BEHIND" in r.stdout, r.stdout      # an exact prefix, not the whole topic
    assert linker("verify", "--config", str(cfg), "--allow-lag").returncode == 0
    proc = start_run(cfg, log)
    try:
        wait_caught_up(cfg, topic_name, total)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    r = linker("verify", "--config", str(cfg))
    assert r.returncode == 0, r.stdout
