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
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from kafkabed.producers import produce
from linker.settings import load_config
from tests.checker import wait_exact

from ..run_process import POLL_MS, LinkerProcess, Writer, link_file
from .helpers import command, state_of

LIVENESS_S = (3 * POLL_MS + 2000) / 1000   # records.liveness_ms, stated in the refusal


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
    link = link_file(tmp_path, source, destination, [topic_name], f"own-{topic_name[-8:]}")
    cfg = load_config(link)
    first = LinkerProcess(link, tmp_path / "first.log")
    writer = Writer(source, [topic_name], per_round=20, pause=0.05)
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
        second = LinkerProcess(link, tmp_path / "second.log")
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
    link = link_file(tmp_path, source, destination, [topic_name], f"own-{topic_name[-8:]}")
    cfg = load_config(link)
    first = LinkerProcess(link, tmp_path / "first.log")
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
