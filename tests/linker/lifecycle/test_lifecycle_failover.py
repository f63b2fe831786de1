"""Disaster recovery: keep producing, kill the whole (dedicated, 1-node) source cluster,
`failover`: the reported RPO accounts for what was lost, the destination is writable and
the group resumes from the synced offset. Measures the RTO (failover -> first record read)."""
from __future__ import annotations

import threading
import time

import pytest

from kafkabed import KafkaCluster
from kafkabed.producers import make_records, produce
from linker.lifecycle.records import TopicState

from .helpers import Linker, command, link_config, state_of
from .test_lifecycle_commands import dest_end
from .test_lifecycle_migration import consume_kafka_python


@pytest.fixture
def doomed_source():
    """A source of its own, which the test kills for good (stopped before the shared clusters
    are healed, so it is not started again)."""
    c = KafkaCluster(name="dr-source")
    try:
        c.start()
        yield c
    finally:
        c.stop()


class Writer(threading.Thread):
    """Produces r-value-<i> in small acked steps until the cluster dies; keeps (time, acked) marks."""

    def __init__(self, cluster: KafkaCluster, topic: str) -> None:
        super().__init__(daemon=True)
        from kafka import KafkaProducer
        self.producer = KafkaProducer(acks="all", retries=0, max_block_ms=3000, request_timeout_ms=3000,
                                      **cluster.kafka_python_config())
        self.topic, self.acked, self.sent = topic, 0, 0
        self.marks: list[tuple[float, int]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        try:
            while not self.halt.is_set():
                futs = [self.producer.send(self.topic, f"r-value-{self.sent + i}".encode()) for i in range(20)]
                self.sent += 20
                for f in futs:
                    f.get(timeout=5)
                    self.acked += 1
                self.marks.append((time.monotonic(), self.acked))
                time.sleep(0.02)
        except Exception:
            pass   # the cluster is gone
        finally:
            try:
                self.producer.close(timeout=1)
            except Exception:
                pass   # records still buffered for the dead cluster


def test_failover_after_source_loss(doomed_source, destination, topic_name, testbed_report):
    doomed_source.create_topic(topic_name, partitions=1)
    produce(doomed_source, topic_name, make_records(100, prefix="r"))
    group = f"g-{topic_name}"
    assert len(consume_kafka_python(doomed_source, topic_name, group, 100)) == 100
    cfg = link_config(doomed_source, destination, f"dr-{topic_name[-8:]}", names=[topic_name])
    with Linker(cfg) as linker:
        linker.wait(lambda: group in linker.controller.groups and linker.controller.groups[group].committed,
                    why="offset sync")
        writer = Writer(doomed_source, topic_name)
        # the writer's first records are r-value-0.. again: values repeat, offsets go on from 100
        writer.start()
        linker.wait(lambda: writer.acked >= 400 and linker.acked(topic_name).get(0, 0) >= 300, why="moving")
        # A mirror that lags: paused, the source keeps growing (the linker still reads its end).
        command(cfg, "pause", [topic_name])
        linker.wait(lambda: topic_name in linker.engine.paused_topics, why="paused")
        at_pause = writer.acked
        linker.wait(lambda: writer.acked >= at_pause + 300, why="source moves on")
        time.sleep(3.0)
        killed_at = time.monotonic()
        doomed_source.kill(1)
        writer.halt.set()
        writer.join(15)
        acked_total = 100 + writer.acked
        t0 = time.monotonic()
        [r] = command(cfg, "failover", [topic_name])
        failover_s = time.monotonic() - t0
    assert r.state is TopicState.STOPPED and r.rpo is not None
    end = dest_end(destination, topic_name)
    assert r.offsets == {0: end}
    seen = end + r.rpo[0]                           # the source end the linker last recorded
    assert seen <= 100 + writer.sent                 # never more than was sent
    # recorded within the last lag refresh (2 s) and poll: what was acked 3 s before the kill is counted
    before = max((n for t, n in writer.marks if t <= killed_at - 3.0), default=0) + 100
    assert seen >= before
    assert r.rpo[0] >= before - end > 0
    testbed_report(f"failover: reported RPO {r.rpo[0]} records (acked but not mirrored: "
                   f"{max(0, acked_total - end)}), command took {failover_s:.2f}s ({r.note})")
    assert state_of(cfg).topics[topic_name].state is TopicState.STOPPED
    # The destination is writable and the group resumes from the synced offset.
    t1 = time.monotonic()
    got = consume_kafka_python(destination, topic_name, group, 1, commit=False)
    rto = failover_s + (time.monotonic() - t1)
    assert got == [b"r-value-0"]                     # offset 100: the writer's first record
    testbed_report(f"failover RTO (failover command start -> first record read on the destination): {rto:.2f}s")
    # Not idempotent: mirrored batches carry the source's producer ids, which the destination's
    # own allocator hands out again (docs/lifecycle.md, known limits).
    from kafka import KafkaProducer
    p = KafkaProducer(acks="all", enable_idempotence=False, **destination.kafka_python_config())
    try:
        offsets = [p.send(topic_name, b"after-failover").get(timeout=10).offset for _ in range(5)]
    finally:
        p.close()
    assert offsets == list(range(end, end + 5))
    assert dest_end(destination, topic_name) == end + 5


def test_failover_rpo_is_a_floor_when_the_source_is_gone(destination, topic_name):
    """Issue 21, finding 9: with the source unreachable the RPO is "at least N records; writes after
    T unknown" (T: when the linker last read the source's ends); a partition with no recorded end
    is unknown, not 0; once the source answers, failover again gives the exact figure from the
    offsets recorded at the first failover."""
    import asyncio
    import types

    from linker.lifecycle.commands import Commands
    from linker.lifecycle.records import ProgressRecord

    destination.create_topic(topic_name, partitions=2)
    produce(destination, topic_name, make_records(10, prefix="p0"), partition=0)
    produce(destination, topic_name, make_records(5, prefix="p1"), partition=1)
    gone = types.SimpleNamespace(bootstrap="127.0.0.1:9")      # nothing listens there
    cfg = link_config(gone, destination, f"floor-{topic_name[-8:]}", names=[topic_name])
    seen_ms = int(time.time() * 1000) - 4000

    async def record_progress():
        c = Commands(cfg)
        try:
            await c.store.ensure()
            r = ProgressRecord(topic_name, {0: 25}, at_ms=seen_ms)
            await c.store.write([(r.key(), r.value())])
        finally:
            await c.close()
    asyncio.run(record_progress())
    [r] = command(cfg, "failover", [topic_name])
    assert r.rpo == {0: 15} and r.rpo_floor, r.line()
    assert "not mirrored (RPO) at least 15 records" in r.line()
    at = time.strftime("%H:%M:%S", time.gmtime(seen_ms / 1000))
    assert f"{at}." in r.note and "writes after that are unknown" in r.note, r.note
    assert "partitions 1: no source end seen, RPO unknown" in r.note, r.note
    # The source comes back (here: the destination stands in for it, 10 + 3 records on partition 0
    # and 5 on partition 1), while clients already wrote to the promoted topic: exact, from the
    # recorded offsets, not from today's destination ends.
    produce(destination, topic_name, make_records(3, prefix="new"), partition=0)
    back = link_config(destination, destination, f"floor-{topic_name[-8:]}", names=[topic_name])
    [again] = command(back, "failover", [topic_name])
    assert again.offsets == {0: 10, 1: 5} and again.rpo == {0: 3, 1: 0} and not again.rpo_floor, again.line()
