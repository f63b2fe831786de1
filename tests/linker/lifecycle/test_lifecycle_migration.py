"""Planned migration: offset sync, then promote; the group resumes on the destination
at exactly the next record (kafka-python and confluent-kafka consumers)."""
from __future__ import annotations

import time

import pytest

from kafkabed.producers import make_records, produce
from linker.lifecycle.records import TopicState

from .helpers import Linker, command, link_config, state_of


def consume_kafka_python(cluster, topic: str, group: str, n: int, commit: bool = True) -> list[bytes]:
    from kafka import KafkaConsumer
    c = KafkaConsumer(topic, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
                      **cluster.kafka_python_config())
    got: list[bytes] = []
    try:
        deadline = time.monotonic() + 30
        while len(got) < n and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=500, max_records=n - len(got)).values():
                got.extend(r.value for r in recs)
        if commit:
            c.commit()
    finally:
        c.close()
    return got


def consume_confluent(cluster, topic: str, group: str, n: int, commit: bool = True) -> list[bytes]:
    from confluent_kafka import Consumer
    c = Consumer({**cluster.confluent_config(), "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([topic])
    got: list[bytes] = []
    try:
        deadline = time.monotonic() + 30
        while len(got) < n and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            got.append(m.value())
            if commit and len(got) == n:
                c.commit(asynchronous=False)
    finally:
        c.close()
    return got


@pytest.mark.parametrize("client", ["kafka-python", "confluent"])
def test_migration_group_resumes_at_next_record(source, destination, topic_name, client):
    consume = consume_kafka_python if client == "kafka-python" else consume_confluent
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, make_records(100, prefix="r"))
    group = f"g-{topic_name}"
    first = consume(source, topic_name, group, 40)
    assert len(first) == 40
    cfg = link_config(source, destination, f"mig-{topic_name[-8:]}", names=[topic_name])
    with Linker(cfg) as linker:
        linker.wait(lambda: linker.acked(topic_name).get(0) == 100, why="catch up")
        linker.wait(lambda: group in linker.controller.groups and linker.controller.groups[group].committed,
                    why="offset sync")
        results = command(cfg, "promote", [topic_name])
    assert [r.state for r in results] == [TopicState.STOPPED]
    assert results[0].offsets == {0: 100}
    assert state_of(cfg).topics[topic_name].state is TopicState.STOPPED
    rest = consume(destination, topic_name, group, 60)
    assert len(rest) == 60
    assert first[-1] == b"r-value-39" and rest[0] == b"r-value-40"   # exactly the next record
    assert first + rest == [f"r-value-{i}".encode() for i in range(100)]
