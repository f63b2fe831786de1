"""Leader moves on both sides, with a 3-node cluster (started lazily, shared)."""
from __future__ import annotations

import asyncio

import pytest

from kafkabed.producers import produce
from linker.mirror.engine import MirrorEngine
from linker.verify import verify_link

from .helpers import BackgroundEngine, link_config


def leader_of(cluster, topic: str, partition: int) -> int:
    from kafka import KafkaConsumer
    c = KafkaConsumer(**cluster.kafka_python_config())
    try:
        c.topics()
        meta = c._client.cluster
        return meta.leader_for_partition(__import__("kafka").TopicPartition(topic, partition))
    finally:
        c.close()


@pytest.mark.slow
def test_source_broker_killed_leader_moves(cluster3, destination, topic_name):
    cluster3.create_topic(topic_name, partitions=2, replication_factor=3, configs={"min.insync.replicas": 1})
    produce(cluster3, topic_name, 300, compression="lz4")
    cfg = link_config(cluster3, destination, names=[topic_name])
    victim = leader_of(cluster3, topic_name, 0)
    try:
        with BackgroundEngine(MirrorEngine(cfg)) as bg:
            bg.wait_caught_up(cfg.source, 300)
            cluster3.kill(victim)
            produce(cluster3, topic_name, 300, compression="zstd", idempotent=True)
            bg.wait_caught_up(cfg.source, 600)
    finally:
        cluster3.start_broker(victim)
    report = asyncio.run(verify_link(cfg))
    assert report.ok, report.render()
    assert sum(p.checked_to for p in report.partitions) == 600


@pytest.mark.slow
def test_destination_broker_restart(source, cluster3, topic_name):
    source.create_topic(topic_name, partitions=2)
    produce(source, topic_name, 400, compression="snappy")
    cfg = link_config(source, cluster3, names=[topic_name])
    with BackgroundEngine(MirrorEngine(cfg)) as bg:
        bg.wait_caught_up(cfg.source, 400)
        victim = leader_of(cluster3, topic_name, 0)
        cluster3.kill(victim)
        produce(source, topic_name, 400, compression="gzip")
        produce(source, topic_name, 200, client="confluent", idempotent=True)
        cluster3.start_broker(victim)
        bg.wait_caught_up(cfg.source, 1000, timeout=180)
    report = asyncio.run(verify_link(cfg))
    assert report.ok, report.render()
    assert sum(p.checked_to for p in report.partitions) == 1000
