"""Workloads for fault tests: continuous production into a source topic, and the size of a mirror."""
from __future__ import annotations

import threading
import time

from tests.checker import LATEST, CheckerError, RawCluster


def destination_end(destination, topic: str) -> int:
    """Sum of the mirror topic's log ends (0 before the linker created it)."""
    with RawCluster(destination.bootstrap_for("INTERNAL")) as c:
        parts = c.partitions(topic)
        return sum(c.list_offset(topic, p, LATEST) for p in parts or [])


def wait_growth(destination, topic: str, above: int, run, timeout: float = 60.0) -> int:
    """Wait until the mirror topic's end passes `above` while `run` (a LinkerRun) stays alive."""
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


class Writer(threading.Thread):
    """Continuous production in rounds: a plain producer (no idempotence: the hard case for
    resends) and an idempotent one, different codecs, a flush and a short pause per round.
    Writes on the brokers' direct INTERNAL listener, so fault relays never slow the writer."""

    def __init__(self, cluster, topic: str, pause: float = 0.05) -> None:
        super().__init__(name="fault-writer", daemon=True)
        self.cluster, self.topic, self.pause = cluster, topic, pause
        self.stop = threading.Event()
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        from kafka import KafkaProducer
        try:
            plain = KafkaProducer(**self.cluster.kafka_python_config("INTERNAL"), linger_ms=5, compression_type="lz4",
                                  acks="all", enable_idempotence=False)
            idem = KafkaProducer(**self.cluster.kafka_python_config("INTERNAL"), linger_ms=5, compression_type="gzip",
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
                    time.sleep(self.pause)
            finally:
                plain.close()
                idem.close()
        except BaseException as e:  # surfaced by the test
            self.error = e
