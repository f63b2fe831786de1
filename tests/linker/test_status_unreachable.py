"""`linker status` and `linker verify` when a cluster is down (issue 14, finding 14).

The reported case end to end: a source broker killed after the mirror caught up, `linker failover`, then
status and verify. Neither may end in a traceback: they show the state topic and the reachable side,
name the unreachable one, exit 4, and answer within `--timeout` even when a broker accepts connections
and never answers (a hung broker).
"""
from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kafkabed import KafkaCluster
from kafkabed.producers import produce

from .test_verify import linker, write_link


@pytest.fixture
def doomed_source():
    """A 1-node source of its own: this test kills its broker."""
    cluster = KafkaCluster(name="doomed")
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Address:
    """Stands in for a cluster in write_link: only its bootstrap address is read."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap


def status_json(cfg: Path) -> dict:
    r = linker("status", "--config", str(cfg), "--json")
    assert r.returncode in (0, 4), r.stdout + r.stderr
    return json.loads(r.stdout)


def test_status_and_verify_after_source_broker_killed_and_failover(doomed_source, destination, topic_name,
                                                                    tmp_path):
    doomed_source.create_topic(topic_name, partitions=2)
    produce(doomed_source, topic_name, 300)
    cfg = write_link(tmp_path / "link.toml", doomed_source, destination, {"names": [topic_name]})
    proc = subprocess.Popen([sys.executable, "-m", "linker.app.cli", "run", "--config", str(cfg)],
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "run.log", "ab"))
    try:
        deadline = time.monotonic() + 90
        while True:   # caught up, and the source ends the linker saw are in the state topic
            parts = [p for p in status_json(cfg)["partitions"] if p["topic"] == topic_name]
            if len(parts) == 2 and all(p["lag_records"] == 0 and p["recorded_source_end"] == p["dest_log_end"]
                                       for p in parts) and sum(p["dest_log_end"] for p in parts) == 300:
                break
            assert time.monotonic() < deadline, parts
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    doomed_source.kill(doomed_source.brokers[0].node_id)
    r = linker("failover", "--config", str(cfg), topic_name)
    assert r.returncode == 0, r.stdout + r.stderr

    started = time.monotonic()
    r = linker("status", "--config", str(cfg), "--timeout", "5")
    print(f"elapsed: status with the source broker killed: {time.monotonic() - started:.1f}s")
    assert time.monotonic() - started < 20
    assert r.returncode == 4, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert r.stdout.startswith("SOURCE UNREACHABLE: ")
    head = r.stdout.splitlines()
    table = head[head.index(next(x for x in head if x.startswith("TOPIC"))):]
    assert "SRC_END_SEEN" in table[0]
    rows = [x.split() for x in table[1:3]]
    cols = table[0].split()
    for row in rows:
        cell = dict(zip(cols, row))
        assert cell["LIFECYCLE"] == "STOPPED" and cell["SRC_HW"] == "?" and cell["LAG_REC"] == "?"
        assert cell["DST_END"] == cell["SRC_END_SEEN"] != "?"
    doc = status_json(cfg)
    assert set(doc["unreachable"]) == {"source"}
    assert doc["topics"][topic_name]["state"] == "STOPPED"
    assert sum(p["dest_log_end"] for p in doc["partitions"]) == 300
    assert all(p["source_high_watermark"] is None for p in doc["partitions"])

    r = linker("verify", "--config", str(cfg), "--timeout", "5")
    assert r.returncode == 4, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "identical" not in r.stdout
    assert r.stdout.startswith("source UNREACHABLE: ")
    lines = [x for x in r.stdout.splitlines() if x.startswith("NOT-CHECKED")]
    assert len(lines) == 2 and all("source log unknown, destination log 0.." in x for x in lines), r.stdout


def test_destination_down_shows_the_source(source, topic_name, tmp_path):
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 40)
    cfg = write_link(tmp_path / "link.toml", source, Address(f"127.0.0.1:{closed_port()}"),
                     {"names": [topic_name]})
    r = linker("status", "--config", str(cfg), "--timeout", "5")
    assert r.returncode == 4 and "Traceback" not in r.stderr, r.stdout + r.stderr
    assert r.stdout.startswith("DESTINATION UNREACHABLE: ")
    doc = json.loads(linker("status", "--config", str(cfg), "--json", "--timeout", "5").stdout)
    [p] = doc["partitions"]
    assert set(doc["unreachable"]) == {"destination"}
    assert p["source_high_watermark"] == 40 and p["dest_log_end"] is None and p["lifecycle"] == ""
    r = linker("verify", "--config", str(cfg), "--timeout", "5")
    assert r.returncode == 4 and "Traceback" not in r.stderr, r.stdout + r.stderr
    assert f"NOT-CHECKED {topic_name}-0: destination unreachable; source log 0..40, destination log unknown" \
        in r.stdout


def test_a_hung_cluster_is_given_up_on_within_the_timeout(source, destination, topic_name, tmp_path):
    """A broker that accepts connections and never answers (SIGSTOP, a blackhole): not the client's
    30 s request timeout, the command's --timeout."""
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 10)
    with socket.create_server(("127.0.0.1", 0)) as hung:          # listens, never accepts or answers
        cfg = write_link(tmp_path / "link.toml", Address(f"127.0.0.1:{hung.getsockname()[1]}"), destination,
                         {"names": [topic_name]})
        for command in ("status", "verify"):
            started = time.monotonic()
            r = linker(command, "--config", str(cfg), "--timeout", "6")
            elapsed = time.monotonic() - started
            print(f"elapsed: {command} with a hung source, --timeout 6: {elapsed:.1f}s")
            assert r.returncode == 4 and not r.stderr, r.stdout + r.stderr
            assert r.stdout.upper().startswith("SOURCE UNREACHABLE: NO ANSWER WITHIN 6S"), r.stdout
            assert "DESTINATION UNREACHABLE" not in r.stdout.upper(), r.stdout
            assert elapsed < 20, elapsed
