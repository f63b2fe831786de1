"""Offset sync never rewinds a destination group and keeps commit metadata (issue 21, findings 5
and 6); failover makes a final offset sync when the source still answers."""
from __future__ import annotations

import asyncio

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from kafkabed.producers import produce
from linker.client import Admin
from linker.connect import connect
from linker.lifecycle.offset_sync import fetch_committed, sync_group

from .helpers import Linker, command, link_config


def commit(cluster, group: str, topic: str, offset: int, metadata: str = "", epoch: int = -1) -> None:
    c = KafkaConsumer(group_id=group, enable_auto_commit=False, **cluster.kafka_python_config())
    try:
        c.commit({TopicPartition(topic, 0): OffsetAndMetadata(offset, metadata, epoch)})
    finally:
        c.close()


def committed(cfg, group: str, topic: str):
    async def go():
        d = connect(cfg.destination, "destination")
        try:
            return (await Admin(d).offset_fetch(group)).get((topic, 0))
        finally:
            await d.close()
    return asyncio.run(go())


def test_sync_never_rewinds_and_keeps_metadata(source, destination, topic_name):
    source.create_topic(topic_name, partitions=1)
    destination.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 30)
    produce(destination, topic_name, 30)
    streams, ahead = f"streams-{topic_name}", f"ahead-{topic_name}"
    commit(source, streams, topic_name, 20, metadata="partition-time=1234", epoch=7)
    commit(source, ahead, topic_name, 20)
    commit(destination, ahead, topic_name, 25)       # consumers progressed on the destination
    cfg = link_config(source, destination, "offsets", names=[topic_name])

    async def go():
        s, d = connect(cfg.source, "source"), connect(cfg.destination, "destination")
        try:
            r1 = await sync_group(s, d, streams, {topic_name})
            r2 = await sync_group(s, d, ahead, {topic_name})
            return r1, r2, await fetch_committed(d, ahead, {topic_name})
        finally:
            await s.close()
            await d.close()
    r1, r2, after = asyncio.run(go())
    tp = (topic_name, 0)
    c = committed(cfg, streams, topic_name)
    assert (c.offset, c.metadata, c.leader_epoch) == (20, "partition-time=1234", -1), c
    assert r1.committed == {tp: 20}
    assert after == {tp: 25}, "a destination commit ahead of the source's was rewound"
    assert r2.kept == {tp: (20, 25)} and not r2.committed and "kept 25 (source 20: never rewound)" in r2.line()


def test_failover_makes_a_final_offset_sync(source, destination, topic_name):
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 20)
    group = f"g-{topic_name}"
    commit(source, group, topic_name, 5)
    cfg = link_config(source, destination, f"final-{topic_name[-8:]}", names=[topic_name],
                      lifecycle={"offset_sync_interval_ms": 600000})
    with Linker(cfg) as linker:
        linker.wait(lambda: linker.acked(topic_name) == {0: 20}, why="mirrored")
        linker.wait(lambda: group in linker.controller.groups, why="the one periodic sync")
        commit(source, group, topic_name, 15, metadata="last")      # after the periodic sync
        (r,) = command(cfg, "failover", [topic_name])
    assert "final offset sync: 1 of 1 groups" in r.note, r.line()
    c = committed(cfg, group, topic_name)
    assert (c.offset, c.metadata) == (15, "last"), c


def test_a_group_is_logged_when_its_outcome_changes_not_every_pass(source, destination, topic_name, caplog):
    """A linker next to many groups logged one line per group per pass (every second here); a
    full stderr pipe then blocked a `linker run` in the test suite. Now: once per change."""
    import logging
    import time
    caplog.set_level(logging.INFO, logger="linker.lifecycle")
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 10)
    group, idle = f"logged-{topic_name[-8:]}", f"idle-{topic_name[-8:]}"
    commit(source, group, topic_name, 5)
    other = f"{topic_name}-other"
    source.create_topic(other, partitions=1)
    commit(source, idle, other, 1)                   # no commits on the mirror topics: never logged
    cfg = link_config(source, destination, f"log-{topic_name[-8:]}", names=[topic_name])

    def lines(g: str) -> list[str]:
        return [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"offset sync: group {g}:")]
    with Linker(cfg) as linker:
        linker.wait(lambda: len(lines(group)) == 1, why="the first sync logged")
        time.sleep(3.5)                               # three more passes (offset_sync_interval_ms 1000)
        assert len(lines(group)) == 1, lines(group)
        commit(source, group, topic_name, 8)         # a change: logged once more
        linker.wait(lambda: len(lines(group)) == 2, why="the change logged")
    assert "synced 1 partitions" in lines(group)[-1] and not lines(idle)
