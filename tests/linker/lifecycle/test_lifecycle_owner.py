"""Issue 21, finding 2: one fenced owner per link.

`linker run` (subprocesses, as a user runs it) claims the link with an owner record and an epoch in
the state topic. A second `linker run` on the same link file refuses while the owner's beat changes,
naming the owner and its host and how long until it is considered dead; after kill -9 of the first,
the second takes over once that window passed. A linker that sees a newer owner epoch stops at once
(self-fence) and, fenced, does not release the link at its exit. The mirror stays exact throughout
(tests/checker.py)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from kafkabed.producers import produce
from linker.settings import load_config
from tests.checker import wait_exact

from .helpers import command, state_of

POLL_MS = 300
LIVENESS_S = (3 * POLL_MS + 2000) / 1000   # records.liveness_ms, stated in the refusal


def _link(tmp_path: Path, source, destination, topic: str) -> Path:
    link = tmp_path / "link.toml"
    link.write_text(f'''name = "own-{topic[-8:]}"
[source]
bootstrap_servers = "{source.bootstrap}"
[destination]
bootstrap_servers = "{destination.bootstrap}"
[topics]
names = ["{topic}"]
[mirror]
fetch_max_wait_ms = 100
stop_timeout_ms = 5000
[lifecycle]
state_poll_ms = {POLL_MS}
offset_sync_interval_ms = 1000
''')
    return link


class Run:
    """One `python -m linker.app.cli run` subprocess, stderr kept in a file."""

    def __init__(self, link: Path, log: Path) -> None:
        self.log = log
        self.started = time.monotonic()
        with open(log, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "linker.app.cli", "run", "-c", str(link)],
                                         stdout=subprocess.DEVNULL, stderr=err)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_log(self, text: str, timeout: float = 60.0) -> float:
        """Seconds since start when `text` appeared."""
        deadline = time.monotonic() + timeout
        while text not in self.text():
            assert self.proc.poll() is None, f"linker run exited ({self.proc.returncode}):\n{self.text()[-3000:]}"
            assert time.monotonic() < deadline, f"no {text!r} within {timeout}s:\n{self.text()[-3000:]}"
            time.sleep(0.05)
        return time.monotonic() - self.started

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        return self.proc.returncode


class Writer(threading.Thread):
    """Keeps producing to the source while the test runs (the situation of the issue)."""

    def __init__(self, source, topic: str) -> None:
        super().__init__(daemon=True)
        self.source, self.topic, self.halt, self.sent = source, topic, threading.Event(), 0

    def run(self) -> None:
        while not self.halt.is_set():
            produce(self.source, self.topic, 20)
            self.sent += 20
            time.sleep(0.05)

    def finish(self) -> int:
        self.halt.set()
        self.join(60)
        return self.sent


def _end(cluster, topic: str) -> int:
    c = KafkaConsumer(**cluster.kafka_python_config())
    try:
        tp = TopicPartition(topic, 0)
        return c.end_offsets([tp])[tp]
    finally:
        c.close()


def test_second_run_refused_then_takes_over_after_kill9(source, destination, topic_name, tmp_path,
                                                         testbed_report):
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 200)
    link = _link(tmp_path, source, destination, topic_name)
    cfg = load_config(link)
    first = Run(link, tmp_path / "first.log")
    writer = Writer(source, topic_name)
    second = None
    try:
        first.wait_log("-> MIRRORING")
        writer.start()
        t0 = time.monotonic()
        try:
            out = subprocess.run([sys.executable, "-m", "linker.app.cli", "run", "-c", str(link)],
                                 capture_output=True, text=True, timeout=30)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"a second `linker run` on the same link file kept running:\n{exc.stderr!r}")
        took = time.monotonic() - t0
        assert out.returncode == 1, out.stderr[-3000:]
        assert f"link {cfg.name} is already run by" in out.stderr, out.stderr[-3000:]
        assert f"on host {socket.gethostname()} (pid {first.proc.pid}, owner epoch 1)" in out.stderr
        assert f"considered dead once its beat has not changed for {LIVENESS_S:.1f}s" in out.stderr
        assert took < 30, took              # a live owner is recognised within about one beat (plus start-up)
        assert first.proc.poll() is None    # the first one mirrors on
        sent = writer.finish()
        wait_exact(source, destination, [topic_name], timeout=60, min_records=200 + sent)
        assert "FAILED" not in first.text()

        # kill -9: no release. A new run takes over once the beat has not changed for the window.
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait(30)
        killed = time.monotonic()
        produce(source, topic_name, 50)
        second = Run(link, tmp_path / "second.log")
        second.wait_log("owner epoch 2", timeout=60)
        takeover = time.monotonic() - killed
        assert takeover >= LIVENESS_S    # not before the stated window
        assert "watching its beat" in second.text()
        wait_exact(source, destination, [topic_name], timeout=60, min_records=250 + sent)
        # a clean stop releases the link: commands act on their own at once
        assert second.stop() == 0, second.text()[-3000:]
        owner = state_of(cfg).owner
        assert (owner.epoch, owner.released) == (2, True)
        [r] = command(cfg, "pause", [topic_name])
        assert r.note == "linker not running: applies at start"
        testbed_report(f"owner: second `linker run` refused after {took:.1f}s (process start included); "
                       f"takeover {takeover:.1f}s after kill -9 (liveness window {LIVENESS_S:.1f}s)")
    finally:
        writer.halt.set()
        for run in (first, second):
            if run is not None and run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait(30)


def test_newer_owner_epoch_fences_a_running_linker(source, destination, topic_name, tmp_path, testbed_report):
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 100)
    link = _link(tmp_path, source, destination, topic_name)
    cfg = load_config(link)
    first = Run(link, tmp_path / "first.log")
    try:
        first.wait_log("-> MIRRORING")
        wait_exact(source, destination, [topic_name], timeout=60, min_records=100)
        # Another linker claims epoch 2 (written with a plain client, as a claim is written).
        claim = {"v": 1, "epoch": 2, "id": "other-owner", "host": "elsewhere", "pid": 1, "beat": 0,
                 "poll_ms": POLL_MS, "released": False}   # the documented owner record
        p = KafkaProducer(**destination.kafka_python_config(), acks="all")
        p.send(cfg.lifecycle.state_topic_for(cfg.name), key=b"owner", value=json.dumps(claim).encode()).get(timeout=30)
        p.close()
        fenced_at = time.monotonic()
        try:
            first.proc.wait(30)
        except subprocess.TimeoutExpired:
            raise AssertionError("a newer owner epoch did not stop the running linker") from None
        fence_s = time.monotonic() - fenced_at
        assert fence_s < 10
        testbed_report(f"owner: a newer owner epoch stopped the running linker in {fence_s:.1f}s (exit included)")
        assert first.proc.returncode == 1, first.text()[-3000:]
        assert "fenced by other-owner on host elsewhere" in first.text()
        end = _end(destination, topic_name)
        produce(source, topic_name, 40)
        time.sleep(1.0)
        assert _end(destination, topic_name) == end == 100    # nothing produced after the fence
        owner = state_of(cfg).owner                            # the fenced one did not release the link
        assert (owner.epoch, owner.owner_id, owner.released) == (2, "other-owner", False)
    finally:
        if first.proc.poll() is None:
            first.proc.kill()
            first.proc.wait(30)
