"""Smoke: a 3-node cluster survives kill -9 of a broker and takes it back."""
from __future__ import annotations

import time

from kafka import KafkaProducer

from kafkabed.producers import consume


def test_kill_restart_keep_producing(cluster3, topic_name, testbed_report):
    cluster3.create_topic(topic_name, partitions=3, configs={"min.insync.replicas": 2})
    victim = cluster3.partition_leaders(topic_name)[0]
    producer = KafkaProducer(**cluster3.kafka_python_config(), acks="all", enable_idempotence=True,
                             retries=2**31 - 1, request_timeout_ms=10_000)
    sent = 0
    try:
        for _ in range(100):
            producer.send(topic_name, value=f"before-{sent}".encode()); sent += 1
        producer.flush(30)

        cluster3.kill(victim)
        assert not cluster3.broker(victim).alive
        t0 = time.monotonic()
        futures = [producer.send(topic_name, value=f"during-{i}".encode()) for i in range(100)]
        producer.flush(60)
        for f in futures:
            f.get(30)
        sent += 100
        during = time.monotonic() - t0
        assert victim not in cluster3.partition_leaders(topic_name).values()

        t1 = time.monotonic()
        cluster3.restart(victim)
        restart = time.monotonic() - t1
        assert all(b.alive for b in cluster3.brokers)
        for _ in range(100):
            producer.send(topic_name, value=f"after-{sent}".encode()); sent += 1
        producer.flush(30)
    finally:
        producer.close(5)
        if not cluster3.broker(victim).alive:  # leave the shared cluster whole
            cluster3.start_broker(victim)
    got = consume(cluster3, topic_name, sent)
    assert len(got) == sent
    assert len({c.value for c in got}) == sent, "idempotent producer wrote no duplicates"
    testbed_report(f"three: kill -9 of node {victim}, 100 records acknowledged {during:.1f}s later; "
                   f"restart with the same data took {restart:.1f}s")


def test_graceful_stop_and_start(cluster3, topic_name):
    cluster3.create_topic(topic_name, partitions=1)
    node = cluster3.brokers[-1].node_id
    cluster3.stop_broker(node)
    assert not cluster3.broker(node).alive
    assert str(cluster3.broker(node).ports["PLAINTEXT"]) not in cluster3.bootstrap
    cluster3.start_broker(node)
    assert cluster3.broker(node).alive
    assert str(cluster3.broker(node).ports["PLAINTEXT"]) in cluster3.bootstrap
