"""Cutover with a transactional producer (issue 17, finding 6): transactions that touch the held
topics are held like produces, the drain waits until those open at the hold have ended (their
markers written on the source) before it reads the source log ends, and the producer goes on
committing transactions on the destination. Judged by tests/checker.py, not by linker code."""
from __future__ import annotations

import threading
import time
import uuid

from kafkabed.producers import consume
from tests.checker import RawCluster, read_log
from tests.linker.mirror.txn_judge import batch_difference

from test_cutover import PARTITIONS, _mirrored_behind_proxy, _wait

BATCH = 10
OPEN_S = 0.3


class TransactionalProducing(threading.Thread):
    """librdkafka transactions of BATCH records each, as an application writes them: an abortable
    error aborts and sends the same values again, a fatal one makes a new producer (same
    transactional id) and sends them again. Keeps the values of committed transactions."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.conf = {"bootstrap.servers": bootstrap, "transactional.id": f"txn-{uuid.uuid4().hex[:8]}",
                     "linger.ms": 5, "transaction.timeout.ms": 30000}
        self.topic = topic
        self.stop = threading.Event()
        self.committed: list[int] = []
        self.errors: list[str] = []      # what the application met (handled, as documented)
        self.failed: list[BaseException] = []
        #: set while a transaction has its records written and is not committed yet (it waits
        #: OPEN_S before committing), so the test can hold writes in the middle of one
        self.open_with_data = threading.Event()

    def _producer(self):
        from confluent_kafka import Producer
        p = Producer(self.conf)
        p.init_transactions(60)
        return p

    def run(self) -> None:
        from confluent_kafka import KafkaException
        try:
            p = self._producer()
            i = 0
            while not self.stop.is_set():
                values = list(range(i, i + BATCH))
                try:
                    p.begin_transaction()
                    for v in values:
                        p.produce(self.topic, key=str(v % 7).encode(), value=str(v).encode())
                    if p.flush(60) == 0:
                        self.open_with_data.set()
                        time.sleep(OPEN_S)
                        self.open_with_data.clear()
                    p.commit_transaction(60)
                except KafkaException as exc:
                    err = exc.args[0]
                    self.errors.append(str(err))
                    if err.txn_requires_abort():
                        p.abort_transaction(60)
                    else:
                        p = self._producer()
                    continue
                self.committed += values
                i += BATCH
                time.sleep(0.01)
        except BaseException as exc:  # the test fails on it
            self.failed.append(exc)


def test_transactions_end_before_the_source_log_ends_are_read(source, destination, start_proxy, topic_name,
                                                              testbed_report):
    source.create_topic(topic_name, PARTITIONS)
    proxy, cutover, _ = _mirrored_behind_proxy(source, destination, start_proxy, topic_name)
    producing = TransactionalProducing(proxy.bootstrap, topic_name)
    producing.start()
    try:
        _wait(lambda: len(producing.committed) >= 100, "transactions before the cutover")
        _wait(producing.open_with_data.is_set, "a transaction with records written")
        report = proxy.call(cutover.run(), 180)
        before = len(producing.committed)
        _wait(lambda: len(producing.committed) >= before + 100, "transactions after the switch")
    finally:
        producing.stop.set()
        producing.join(120)
    assert not producing.failed, producing.failed
    testbed_report(f"transactional producer across the switch: {len(producing.committed)} records committed, "
                   f"handled errors {producing.errors}, hold {report.hold_seconds:.2f}s")

    with RawCluster(source.bootstrap) as src, RawCluster(destination.bootstrap) as dst:
        for p in range(PARTITIONS):
            end = report.source_log_ends[(topic_name, p)]
            s = read_log(src, topic_name, p)
            # nothing landed on the source after the ends were read: no late COMMIT/ABORT marker
            assert s.log_end == end, f"partition {p}: source log end {s.log_end}, read at the cutover {end}"
            assert s.last_stable == end, f"partition {p}: a transaction was still open on the source"
            d = read_log(dst, topic_name, p)
            mirrored = [b for b in d.batches if b.base_offset < end]
            # the destination up to that end is the source's (transactional batches re-stamped
            # with the replay's producer ids: docs/mirror.md), markers included
            assert len(mirrored) == len(s.batches), f"partition {p}: {len(s.batches)} source batches, " \
                                                    f"{len(mirrored)} destination batches below {end}"
            for a, b in zip(s.batches, mirrored):
                why = batch_difference(a, b)
                assert why is None, f"partition {p} batch at {a.base_offset}: {why}"
    # every committed value once, none of the aborted ones, in send order per partition
    seen = consume(destination, topic_name, len(producing.committed), timeout=60)
    values = [int(c.value) for c in seen]
    assert sorted(values) == sorted(producing.committed), "committed records missing or repeated"
    for p in range(PARTITIONS):
        mine = [int(c.value) for c in seen if c.partition == p]
        assert mine == sorted(mine), f"partition {p}: out of order"
