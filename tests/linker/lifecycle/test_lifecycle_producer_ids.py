"""Promote moves the destination's producer-id allocation past the mirrored ids: new idempotent
producers (kafka-python, confluent-kafka) write the promoted topic after the mirrored records.

Both clusters are fresh 1-node clusters so that both allocators start at 0: the source's
producers get ids 0..2, exactly the ids the destination would hand out next."""
from __future__ import annotations

import threading

import pytest

from kafkabed import KafkaCluster
from linker.lifecycle.producer_ids import BurnReport
from linker.lifecycle.records import TopicState

from .helpers import Linker, command, link_config
from .test_lifecycle_commands import dest_end

PRODUCERS = 3
PER_PRODUCER = 10


@pytest.fixture(scope="module")
def fresh_pair():
    """A source and a destination whose producer-id allocators have handed out nothing yet."""
    pair = [KafkaCluster(name="pid-source"), KafkaCluster(name="pid-destination")]
    errors: list[BaseException] = []

    def start(c: KafkaCluster) -> None:
        try:
            c.start()
        except BaseException as exc:
            errors.append(exc)
    try:
        threads = [threading.Thread(target=start, args=(c,)) for c in pair]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        yield pair
    finally:
        for c in pair:
            c.stop()


def _produce_idempotent(cluster: KafkaCluster, topic: str, value: str) -> int:
    """One send with a new idempotent kafka-python producer; returns its offset."""
    from kafka import KafkaProducer
    p = KafkaProducer(acks="all", enable_idempotence=True, max_block_ms=10_000,
                      **cluster.kafka_python_config())
    try:
        return p.send(topic, value.encode()).get(timeout=15).offset
    finally:
        p.close()


def test_promote_lets_new_idempotent_producers_write(fresh_pair, topic_name, testbed_report):
    source, destination = fresh_pair
    source.create_topic(topic_name, partitions=1)
    from kafka import KafkaProducer
    for i in range(PRODUCERS):    # producer ids 0..PRODUCERS-1, sequences 0..PER_PRODUCER-1 each
        p = KafkaProducer(acks="all", enable_idempotence=True, **source.kafka_python_config())
        try:
            for f in [p.send(topic_name, f"src-{i}-{j}".encode()) for j in range(PER_PRODUCER)]:
                f.get(timeout=15)
        finally:
            p.close()
    mirrored = PRODUCERS * PER_PRODUCER
    cfg = link_config(source, destination, f"pid-{topic_name[-8:]}", names=[topic_name])
    with Linker(cfg) as linker:
        linker.wait(lambda: linker.acked(topic_name).get(0, 0) == mirrored, why="mirrored")
        [r] = command(cfg, "promote", [topic_name])
    assert r.state is TopicState.STOPPED and r.offsets == {0: mirrored}
    assert f"moved past mirrored id {PRODUCERS - 1}" in r.producer_ids, r.producer_ids
    testbed_report(f"promote with mirrored producer ids 0..{PRODUCERS - 1}: {r.producer_ids}")

    assert _produce_idempotent(destination, topic_name, "after-kp") == mirrored
    from confluent_kafka import Producer
    got: list[object] = []
    cp = Producer({**destination.confluent_config(), "enable.idempotence": True, "acks": "all"})
    cp.produce(topic_name, b"after-ck", on_delivery=lambda err, msg: got.append(err or msg.offset()))
    assert cp.flush(15) == 0
    assert got == [mirrored + 1]
    assert dest_end(destination, topic_name) == mirrored + 2


def test_burn_report_lines_name_the_mirrored_id():
    assert "nothing to move" in BurnReport(-1).line()
    ok = BurnReport(7, burned={1: 128}, last_id={1: 127})
    assert ok.safe and "moved past mirrored id 7" in ok.line() and "broker 1: 128" in ok.line()
    bad = BurnReport(5_000_000, burned={1: 2_000_000}, last_id={1: 1_999_999}, unsafe=[1])
    assert not bad.safe and "WARNING" in bad.line() and "5000000" in bad.line()


def test_failover_reports_the_producer_id_move(fresh_pair, topic_name):
    """failover takes the same step (the allocator may already be past: then one round of ids)."""
    source, destination = fresh_pair
    source.create_topic(topic_name, partitions=1)
    from kafka import KafkaProducer
    p = KafkaProducer(acks="all", enable_idempotence=True, **source.kafka_python_config())
    try:
        for f in [p.send(topic_name, f"src-{j}".encode()) for j in range(PER_PRODUCER)]:
            f.get(timeout=15)
    finally:
        p.close()
    cfg = link_config(source, destination, f"pidf-{topic_name[-8:]}", names=[topic_name])
    with Linker(cfg) as linker:
        linker.wait(lambda: linker.acked(topic_name).get(0, 0) == PER_PRODUCER, why="mirrored")
        [r] = command(cfg, "failover", [topic_name])
    assert r.state is TopicState.STOPPED and r.offsets == {0: PER_PRODUCER}
    assert "destination allocation moved past mirrored id" in r.producer_ids, r.producer_ids
    assert _produce_idempotent(destination, topic_name, "after-failover") == PER_PRODUCER
