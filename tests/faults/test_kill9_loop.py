"""kill -9 the linker again and again while the source is written and the mirror is moving;
the independent checker must then find the mirror exact (bounds and every batch)."""
from __future__ import annotations

import random
import threading
import time

import pytest

from tests.checker import LATEST, CheckerError, RawCluster, check_mirror, wait_exact

from .link_process import LinkerRun, write_link

PARTITIONS = 4


def destination_end(destination, topic: str) -> int:
    """Sum of the mirror topic's log ends (0 before the linker created it)."""
    with RawCluster(destination.bootstrap_for("INTERNAL")) as c:
        parts = c.partitions(topic)
        return sum(c.list_offset(topic, p, LATEST) for p in parts or [])


class Writer(threading.Thread):
    """Continuous production in rounds: a plain producer (no idempotence: the hard case for
    resends) and an idempotent one, different codecs, a flush and a short pause per round."""

    def __init__(self, cluster, topic: str) -> None:
        super().__init__(name="kill9-writer", daemon=True)
        self.cluster, self.topic = cluster, topic
        self.stop = threading.Event()
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        from kafka import KafkaProducer
        try:
            plain = KafkaProducer(**self.cluster.kafka_python_config(), linger_ms=5, compression_type="lz4",
                                  acks="all", enable_idempotence=False)
            idem = KafkaProducer(**self.cluster.kafka_python_config(), linger_ms=5, compression_type="gzip",
                                 enable_idempotence=True)
            try:
                i = 0
                while not self.stop.is_set():
                    for _ in range(100):
                        (plain if i % 2 else idem).send(self.topic, key=b"k%d" % i, value=b"v%d-" % i * 8)
                        i += 1
                    plain.flush(30)
                    idem.flush(30)
                    self.sent = i
                    time.sleep(0.05)
            finally:
                plain.close()
                idem.close()
        except BaseException as e:  # surfaced by the test
            self.error = e


def wait_growth(destination, topic: str, above: int, run: LinkerRun, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        try:
            end = destination_end(destination, topic)
        except CheckerError:
            end = above
        if end > above:
            return end
        if not run.running:
            raise AssertionError(f"linker run exited on its own:\n{run.text()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"destination end stayed at {end} for {timeout}s:\n{run.text()[-3000:]}")
        time.sleep(0.1)


@pytest.mark.parametrize("kills", [5, pytest.param(20, marks=pytest.mark.slow)])
def test_kill_9_loop_leaves_an_exact_mirror(source, destination, topic_name, tmp_path, kills, testbed_report):
    source.create_topic(topic_name, partitions=PARTITIONS)
    cfg = write_link(tmp_path / "link.toml", source, destination, [topic_name])
    rng = random.Random(kills)
    writer = Writer(source, topic_name)
    writer.start()
    ends: list[int] = []
    with LinkerRun(cfg, tmp_path / "run.log") as run:
        try:
            end = 0
            for _ in range(kills):
                run.start()
                end = wait_growth(destination, topic_name, end, run)   # the mirror is moving
                time.sleep(rng.uniform(0.1, 1.0))                        # ... and killed mid-stream
                assert run.running, run.text()[-3000:]
                run.kill9()
                end = destination_end(destination, topic_name)
                ends.append(end)
        finally:
            writer.stop.set()
            writer.join(60)
        assert writer.error is None, writer.error
        assert run.kills == kills and all(b > a for a, b in zip(ends, ends[1:])), ends
        assert ends[-1] < writer.sent        # the last kill left work to do
        run.start()
        t0 = time.monotonic()
        result = wait_exact(source, destination, [topic_name], timeout=180, min_records=writer.sent)
        took = time.monotonic() - t0
        assert run.stop() == 0
    final = check_mirror(source, destination, [topic_name])      # and still exact once stopped
    assert final.exact, final
    assert final.records == result.records >= writer.sent
    log = run.text()
    assert "FAILED" not in log and "DIVERGED" not in log, log[-3000:]
    testbed_report(f"kill -9 loop: {kills} kills, {writer.sent} records, "
                   f"{sum(p.batches_compared for p in final.partitions)} batches exact, "
                   f"exact {took:.1f}s after the last restart")
