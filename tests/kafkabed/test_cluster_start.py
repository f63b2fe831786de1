"""Start-up edge cases: port collisions, a clear error when a node cannot start, the CLI."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys

import pytest

import kafkabed.cluster as cluster_mod
from kafkabed import ClusterError, KafkaCluster, PINNED, procs


def test_port_taken_by_another_process_is_retried(monkeypatch, topic_name):
    """Another process grabs a port between probing and binding: start-up retries with new ports."""
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    real = cluster_mod.free_ports
    calls = []

    def first_call_collides(count: int) -> list[int]:
        calls.append(count)
        ports = real(count)
        return [taken, *ports[1:]] if len(calls) == 1 else ports
    monkeypatch.setattr(cluster_mod, "free_ports", first_call_collides)
    try:
        with KafkaCluster("collide") as c:
            assert taken not in c.brokers[0].ports.values()
            assert len(calls) == 2
            c.create_topic(topic_name)
    finally:
        squatter.close()


def test_bad_broker_config_fails_with_the_log(topic_name):
    c = KafkaCluster("badconfig", broker_config={"num.network.threads": "zero"})
    with pytest.raises(ClusterError, match="num.network.threads"):
        c.start()
    assert not c.running
    assert not [pid for pid in procs.live_pids()
                if any(b.pid == pid for b in c.brokers)]


def test_cli_prints_classpath_and_fetches():
    out = subprocess.run([sys.executable, "-m", "kafkabed", "classpath"], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert f"kafka-clients-{PINNED}.jar" in out and ":" in out
    done = subprocess.run([sys.executable, "-m", "kafkabed", "fetch", "--version", PINNED],
                          capture_output=True, text=True)
    assert done.returncode == 0 and f"Kafka {PINNED}:" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "kafkabed", "fetch", "--version", "1.0"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "invalid choice" in bad.stderr


def test_cli_up_stops_cleanly_on_sigterm():
    """SIGTERM and SIGINT share one handler in `up`; the demo test covers Ctrl-C."""
    sig = signal.SIGTERM
    proc = subprocess.Popen([sys.executable, "-m", "kafkabed", "up", "--listeners", "PLAINTEXT,SSL"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C to stop" in line:
                break
        text = "".join(lines)
        assert "SSL" in text and "127.0.0.1:" in text, text
        log_dir = text.split("logs: ", 1)[1].split()[0]
        assert len(procs.processes_mentioning(log_dir)) == 1
        proc.send_signal(sig)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "Stopped." in rest
    assert procs.processes_mentioning(log_dir) == []
