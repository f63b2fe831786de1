"""Durability of mirror topics (issue 14, findings 3, 4 and 8) against real brokers.

Exactness is judged by the independent checker (tests/checker.py), never by the
linker's own verify.
"""
from __future__ import annotations

import asyncio
import time
from typing import Iterator

import pytest

from kafkabed import MIGRATION_SOURCE, KafkaCluster
from kafkabed.broker_faults import unclean_failover
from kafkabed.producers import make_records, produce
from linker.client import Admin, ConfigResourceType
from linker.connect import connect
from linker.mirror.state import PartitionState

from ...checker import wait_exact
from .helpers import BackgroundEngine, caught_up, engine_for, link_config, run_until

DAY_MS = 24 * 3600 * 1000
#: Dynamic topic configs (set on the topic itself, not inherited).
DYNAMIC_TOPIC_CONFIG = 1


@pytest.fixture(scope="module")
def destination39_small_ts() -> Iterator[KafkaCluster]:
    """A 3.9 destination whose broker refuses timestamps more than an hour off
    (``log.message.timestamp.difference.max.ms``) unless a topic overrides the bounds."""
    cluster = KafkaCluster(name="destination39ts", version=MIGRATION_SOURCE,
                           broker_config={"log.message.timestamp.difference.max.ms": 3_600_000})
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _produce_old(cluster: KafkaCluster, topic: str, count: int, age_ms: int) -> None:
    """``count`` records stamped ``age_ms`` in the past (CreateTime), a few batches."""
    from kafka import KafkaProducer
    producer = KafkaProducer(**cluster.kafka_python_config(), linger_ms=20)
    try:
        ts = int(time.time() * 1000) - age_ms
        for i in range(count):
            producer.send(topic, key=f"k{i}".encode(), value=f"old-{i}".encode(), timestamp_ms=ts + i)
            if i % 25 == 24:
                producer.flush()
        producer.flush()
    finally:
        producer.close()


def _topic_configs(cluster_settings, topic: str) -> dict:
    async def go():
        client = connect(cluster_settings, "probe")
        try:
            await client.refresh_metadata()
            found = await Admin(client).describe_configs([(ConfigResourceType.TOPIC, topic)])
            return found[(int(ConfigResourceType.TOPIC), topic)]
        finally:
            await client.close()
    return asyncio.run(go())


def test_created_mirror_gets_durability_configs(source, destination, topic_name):
    source.create_topic(topic_name)
    produce(source, topic_name, 20)
    cfg = link_config(source, destination, names=[topic_name])
    asyncio.run(run_until(engine_for(cfg), caught_up(), 90))
    entries = _topic_configs(cfg.destination, topic_name)
    isr, unclean = entries["min.insync.replicas"], entries["unclean.leader.election.enable"]
    # Set on the topic itself (so a broker default cannot weaken it); one replica here.
    assert (isr.value, isr.source) == ("1", DYNAMIC_TOPIC_CONFIG)
    assert (unclean.value, unclean.source) == ("false", DYNAMIC_TOPIC_CONFIG)
    assert entries["message.timestamp.before.max.ms"].value == str(2**63 - 2)
    wait_exact(source, destination, [topic_name], timeout=30)


def test_old_timestamps_mirror_exactly_into_a_39_destination(source, destination39_small_ts, topic_name):
    """3.9 reads Long.MAX bounds as unset and applies the broker's one-hour difference limit."""
    source.create_topic(topic_name)
    _produce_old(source, topic_name, 100, age_ms=3 * DAY_MS)
    cfg = link_config(source, destination39_small_ts, names=[topic_name])
    engine = engine_for(cfg)
    asyncio.run(run_until(engine, caught_up(), 120))
    states = {pm.status.state.value: pm.status.reason for pm in engine.partitions.values()}
    assert set(states) == {"STOPPED"}, states
    wait_exact(source, destination39_small_ts, [topic_name], timeout=30, min_records=100)


def test_lowered_max_message_bytes_is_repaired(source, destination, topic_name):
    """A mirror topic whose max.message.bytes was lowered by hand: the refused batch
    gets the config fixed and is produced again; the mirror ends exact."""
    source.create_topic(topic_name)
    produce(source, topic_name, 10)
    cfg = link_config(source, destination, names=[topic_name])
    with BackgroundEngine(engine_for(cfg)) as bg:
        bg.wait_caught_up(cfg.source, 10)
        destination.set_topic_config(topic_name, {"max.message.bytes": 20_000})
        produce(source, topic_name, make_records(5, prefix="big", value_size=30_000))
        bg.wait_caught_up(cfg.source, 15, timeout=90)
        wait_exact(source, destination, [topic_name], timeout=30, min_records=15)
        pm = bg.engine.partitions[(topic_name, 0)]
        assert pm.status.state is PartitionState.MIRRORING, bg.engine.status_doc()
    have = int(_topic_configs(cfg.destination, topic_name)["max.message.bytes"].value)
    assert have > 20_000


def test_mirror_on_three_replicas_gets_min_insync_two(source, cluster3, topic_name):
    """Replication factor from the destination broker default (3): read from the created
    topic's metadata, so min.insync.replicas is 2."""
    source.create_topic(topic_name)
    produce(source, topic_name, 20)
    cfg = link_config(source, cluster3, names=[topic_name])
    asyncio.run(run_until(engine_for(cfg), caught_up(), 120))
    entries = _topic_configs(cfg.destination, topic_name)
    assert (entries["min.insync.replicas"].value, entries["min.insync.replicas"].source) == ("2", DYNAMIC_TOPIC_CONFIG)
    assert entries["unclean.leader.election.enable"].value == "false"
    wait_exact(source, cluster3, [topic_name], timeout=30, min_records=20)


def test_lowered_timestamp_bound_is_repaired(source, destination, topic_name):
    """A mirror topic whose message.timestamp.before.max.ms was lowered by hand refuses
    old batches (INVALID_TIMESTAMP): the bound is set back and the batch produced again."""
    source.create_topic(topic_name)
    produce(source, topic_name, 10)
    cfg = link_config(source, destination, names=[topic_name])
    with BackgroundEngine(engine_for(cfg)) as bg:
        bg.wait_caught_up(cfg.source, 10)
        destination.set_topic_config(topic_name, {"message.timestamp.before.max.ms": 3_600_000})
        _produce_old(source, topic_name, 30, age_ms=2 * DAY_MS)
        bg.wait_caught_up(cfg.source, 40, timeout=90)
        wait_exact(source, destination, [topic_name], timeout=30, min_records=40)
    assert _topic_configs(cfg.destination, topic_name)["message.timestamp.before.max.ms"].value == str(2**63 - 2)


def test_idle_partition_truncation_is_noticed(source, cluster3, topic_name):
    """The destination loses acknowledged offsets to an unclean election and the source writes
    nothing afterwards: the lag watch notices the lower log end and the locator names
    DEST_TRUNCATED with both offsets, never re-mirroring over the hole. (A mirror topic deleted
    and recreated is TOPIC_RECREATED instead: test_mirror_recreate.py.) About 40 s: the
    election needs a broker stopped, one killed and both restarted."""
    source.create_topic(topic_name)
    produce(source, topic_name, 30)
    cfg = link_config(source, cluster3, names=[topic_name], replication_factor=2, min_insync_replicas=1)
    with BackgroundEngine(engine_for(cfg)) as bg:
        bg.wait_caught_up(cfg.source, 30)

        def mirror_more() -> None:          # acknowledged by the leader alone, then lost
            produce(source, topic_name, 20)
            bg.wait_caught_up(cfg.source, 50)
        unclean_failover(cluster3, topic_name, 0, write=mirror_more)
        pm = bg.engine.partitions[(topic_name, 0)]
        deadline = time.monotonic() + 90
        while pm.status.state is not PartitionState.DEST_TRUNCATED:
            assert pm.status.state is PartitionState.MIRRORING, bg.engine.status_doc()
            assert time.monotonic() < deadline, bg.engine.status_doc()
            time.sleep(0.2)
        assert "highest acknowledged end 50" in pm.status.reason, pm.status.reason
        assert "destination log end 30" in pm.status.reason, pm.status.reason
