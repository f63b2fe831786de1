"""Topic sync with the lifecycle running: new topics, partition growth, config changes;
offset sync rules: clamp to the destination end, never over a group with members."""
from __future__ import annotations

import asyncio
import time

from kafkabed.producers import produce
from linker.lifecycle.offset_sync import fetch_committed, sync_group
from linker.client import Admin
from linker.connect import connect

from .helpers import Linker, link_config


def topic_config(cluster, topic: str, key: str) -> str | None:
    from linker.config import ClusterSettings

    async def go() -> str | None:
        io = connect(ClusterSettings(tuple(cluster.bootstrap.split(","))), "check")
        try:
            return (await Admin(io).topic_configs([topic]))[topic].get(key)
        finally:
            await io.close()
    return asyncio.run(go())


def test_new_topic_partition_growth_and_config_change(source, destination, topic_names):
    prefix = topic_names("sync")
    first = f"{prefix}-a"
    source.create_topic(first, partitions=1)
    produce(source, first, 10)
    cfg = link_config(source, destination, f"sync-{prefix[-8:]}", include=[f"{prefix}-.*"],
                      lifecycle={"keep_destination_configs": ["retention.bytes"]})
    with Linker(cfg) as linker:
        linker.wait(lambda: linker.acked(first) == {0: 10}, why="first topic")
        # A new matching topic is mirrored within one discovery interval (1 s here).
        second = f"{prefix}-b"
        source.create_topic(second, partitions=2)
        produce(source, second, 20)
        t0 = time.monotonic()
        linker.wait(lambda: sum(linker.acked(second).values()) == 20, timeout=30, why="new topic")
        new_topic_s = time.monotonic() - t0
        # Partition growth follows.
        from kafka.admin import NewPartitions
        source.admin().create_partitions({first: NewPartitions(3)})
        produce(source, first, 30)
        linker.wait(lambda: len(linker.acked(first)) == 3 and sum(linker.acked(first).values()) == 40,
                    timeout=30, why="partition growth")
        # retention.ms follows the source; retention.bytes set on the destination on purpose stays.
        source.set_topic_config(first, {"retention.ms": "123456789", "retention.bytes": "1000000"})
        destination.set_topic_config(first, {"retention.bytes": "7777777"})
        linker.wait(lambda: topic_config(destination, first, "retention.ms") == "123456789",
                    timeout=30, why="config sync")
        assert topic_config(destination, first, "retention.bytes") == "7777777"
        assert topic_config(destination, first, "compression.type") == "producer"
    assert new_topic_s < 10


def test_offset_sync_clamps_and_skips_groups_with_members(source, destination, topic_name):
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata
    source.create_topic(topic_name, partitions=1)
    destination.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 30)
    produce(destination, topic_name, 10)    # the destination ends at 10: a commit at 25 is clamped
    group, busy = f"g-{topic_name}", f"busy-{topic_name}"
    tp = TopicPartition(topic_name, 0)
    for g in (group, busy):
        c = KafkaConsumer(group_id=g, enable_auto_commit=False, **source.kafka_python_config())
        c.commit({tp: OffsetAndMetadata(25, "", -1)})
        c.close()
    member = KafkaConsumer(topic_name, group_id=busy, enable_auto_commit=False, **destination.kafka_python_config())
    try:
        deadline = time.monotonic() + 20
        while not member.assignment() and time.monotonic() < deadline:
            member.poll(timeout_ms=200)
        assert member.assignment()

        async def go():
            cfg = link_config(source, destination, "offsets", names=[topic_name])
            s, d = connect(cfg.source, "source"), connect(cfg.destination, "destination")
            try:
                r1 = await sync_group(s, d, group, {topic_name})
                r2 = await sync_group(s, d, busy, {topic_name})
                return r1, r2, await fetch_committed(d, group, {topic_name})
            finally:
                await s.close()
                await d.close()
        r1, r2, committed = asyncio.run(go())
    finally:
        member.close()
    assert r1.clamped == {(topic_name, 0): (25, 10)} and r1.lag == 15 and "clamped 25 -> 10" in r1.line()
    assert committed == {(topic_name, 0): 10}
    assert r2.skipped.startswith("1 active member") and not r2.committed
