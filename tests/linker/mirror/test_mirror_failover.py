"""Leader moves on both sides, with a 3-node cluster (started lazily, shared)."""
from __future__ import annotations

import asyncio

import pytest

from kafkabed.producers import make_records, produce
from linker.verify import verify_link

from .helpers import BackgroundEngine, engine_for, link_config


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
        with BackgroundEngine(engine_for(cfg)) as bg:
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
    with BackgroundEngine(engine_for(cfg)) as bg:
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


def _partition_meta(cluster, topic: str, attempts: int = 10):
    """Partition 0's metadata; retried because a just-killed node may still be tried first."""
    import time
    from kafka import KafkaConsumer
    for attempt in range(attempts):
        try:
            c = KafkaConsumer(**cluster.kafka_python_config())
            try:
                c.topics()
                return c._client.cluster._partitions[topic][0]
            finally:
                c.close()
        except Exception:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


@pytest.mark.slow
def test_unclean_leader_election_on_the_source_is_diverged(cluster3, destination, topic_name):
    import time
    cluster3.create_topic(topic_name, 1, 2, {"min.insync.replicas": "1", "unclean.leader.election.enable": "true"})
    produce(cluster3, topic_name, 100)
    cfg = link_config(cluster3, destination, names=[topic_name])
    meta = _partition_meta(cluster3, topic_name)
    leader = meta.leader_id
    follower = next(r for r in meta.replica_nodes if r != leader)
    killed: list[int] = []
    try:
        with BackgroundEngine(engine_for(cfg)) as bg:
            bg.wait_caught_up(cfg.source, 100)
            cluster3.kill(follower)
            killed.append(follower)
            deadline = time.monotonic() + 30
            while _partition_meta(cluster3, topic_name).isr_nodes != [leader]:
                assert time.monotonic() < deadline, "ISR did not shrink"
                time.sleep(0.5)
            produce(cluster3, topic_name, 50)          # only the leader has 100..149
            bg.wait_caught_up(cfg.source, 150)
            cluster3.kill(leader)
            killed.append(leader)
            cluster3.start_broker(follower)
            killed.remove(follower)
            deadline = time.monotonic() + 60
            while True:
                try:
                    if _partition_meta(cluster3, topic_name).leader_id == follower:
                        break
                except Exception:
                    pass
                assert time.monotonic() < deadline, "no unclean election"
                time.sleep(1)
            produce(cluster3, topic_name, make_records(30, prefix="after-election"))  # new 100..129
            pm = bg.engine.partitions[(topic_name, 0)]
            deadline = time.monotonic() + 60
            while pm.status.state.value != "DIVERGED":
                assert pm.status.state.value in ("MIRRORING", "PENDING"), pm.status.as_dict()
                assert time.monotonic() < deadline, pm.status.as_dict()
                time.sleep(0.3)
            assert pm.status.offset == 100, pm.status.as_dict()
            assert "150" in pm.status.reason, pm.status.reason
    finally:
        for node in killed:
            cluster3.start_broker(node)


@pytest.mark.slow
def test_destination_partition_without_leader_at_start(source, cluster3, topic_name):
    """A mirror partition with no leader when the engine starts (its only replica's broker is
    down, as for a new topic whose leaders are not elected yet): the engine keeps retrying
    instead of giving up, and mirrors it once the broker is back."""
    import time
    source.create_topic(topic_name, partitions=2)
    produce(source, topic_name, 200, compression="lz4")
    cluster3.create_topic(topic_name, partitions=2, replication_factor=1)   # adopted: configs set by the engine
    victim = leader_of(cluster3, topic_name, 0)
    cfg = link_config(source, cluster3, names=[topic_name])
    cluster3.kill(victim)
    try:
        deadline = time.monotonic() + 60
        while _partition_meta(cluster3, topic_name).leader_id != -1:   # the controller fenced it
            assert time.monotonic() < deadline, "partition 0 kept a leader"
            time.sleep(0.5)
        with BackgroundEngine(engine_for(cfg)) as bg:
            time.sleep(6)   # longer than one ListOffsets retry round (~3 s)
            assert bg.error is None and bg.engine.crashed is None, bg.engine.crashed
            cluster3.start_broker(victim)
            bg.wait_caught_up(cfg.source, 200, timeout=120)
    finally:
        if not cluster3.broker(victim).alive:
            cluster3.start_broker(victim)
    report = asyncio.run(verify_link(cfg))
    assert report.ok, report.render()
    assert sum(p.checked_to for p in report.partitions) == 200
