"""Promote waits for the source's own replication (issue 21, finding 1).

A write the source leader acknowledged with acks=1 sits above the high watermark while a follower
lags. Promoting at "mirror = high watermark" would leave it on the source for good once the
follower catches up. Here a follower is frozen (SIGSTOP), one record is acknowledged with acks=1
and promote runs: it must wait (reason recorded in the state topic) and end with that record on
the mirror. Takes ~10 s: the frozen follower leaves the ISR only after the controller fences it
(broker.session.timeout.ms, 3 s in the test bed).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import time

import pytest
from kafka import KafkaProducer

from kafkabed.broker_faults import frozen
from kafkabed.producers import produce
from linker.client import Admin
from linker.connect import connect
from linker.lifecycle.commands import CommandError
from linker.lifecycle.offset_sync import list_groups
from linker.settings import ClusterSettings
from tests.checker import wait_exact

from .helpers import Linker, command, link_config, state_of
from .test_lifecycle_offsets import commit


def test_promote_waits_for_an_acks1_write_above_the_high_watermark(cluster3, destination, topic_name):
    cluster3.create_topic(topic_name, partitions=1, replication_factor=2)
    produce(cluster3, topic_name, 10)
    desc = cluster3.admin().describe_topics([topic_name])[0]["partitions"][0]
    follower = next(r for r in desc["replica_nodes"] if r != desc["leader_id"])
    cfg = link_config(cluster3, destination, f"settle-{topic_name[-8:]}", names=[topic_name],
                      lifecycle={"promote_timeout_ms": 60000})
    producer = KafkaProducer(acks=1, **cluster3.kafka_python_config())
    try:
        producer.send(topic_name, b"warm-up", partition=0).get(timeout=30)   # metadata and connection
        with Linker(cfg) as linker:
            linker.wait(lambda: linker.acked(topic_name) == {0: 11}, why="mirrored before the fault")
            with frozen(cluster3, follower), concurrent.futures.ThreadPoolExecutor(1) as pool:
                acked = producer.send(topic_name, b"acks=1", partition=0).get(timeout=10)
                assert acked.offset == 11
                promote = pool.submit(command, cfg, "promote", [topic_name])
                seen = ""
                deadline = time.monotonic() + 60
                while not promote.done() and time.monotonic() < deadline:
                    rec = state_of(cfg).topics.get(topic_name)
                    if rec is not None and rec.by == "linker" and "high watermark" in rec.reason:
                        seen = rec.reason
                    time.sleep(0.2)
                result = promote.result(timeout=60)
    finally:
        producer.close()
    assert result[0].offsets == {0: 12}, result[0].line()    # the acks=1 write reached the mirror
    assert "log end 12 is above its high watermark 11" in seen, seen
    wait_exact(cluster3, destination, [topic_name], timeout=60)


def test_promote_names_a_partition_blocked_while_promoting(source, destination, topic_name):
    """Issue 21, finding 4: a partition that goes BLOCKED while PROMOTING is recorded, and the
    command that gives up quotes it (it used to wait with no reason)."""
    source.create_topic(topic_name, partitions=1, configs={"message.timestamp.type": "LogAppendTime"})
    cfg = link_config(source, destination, f"blocked-{topic_name[-8:]}", names=[topic_name],
                      lifecycle={"promote_timeout_ms": 5000})
    with Linker(cfg) as linker:
        linker.wait(lambda: linker.acked(topic_name) == {0: 0}, why="mirroring")
        command(cfg, "pause", [topic_name])
        linker.wait(lambda: topic_name in linker.engine.paused_topics, why="paused")
        produce(source, topic_name, 1)    # a LogAppendTime batch: the engine blocks once it fetches it
        with pytest.raises(CommandError, match="partition 0 is BLOCKED: .*LogAppendTime"):
            command(cfg, "promote", [topic_name])   # PROMOTING resumes the topic, then it blocks


def test_list_groups_tolerates_a_hung_source_broker(cluster3, topic_name):
    """Issue 21, finding 4: ListGroups with one source broker hung (SIGSTOP) answers with the
    groups of the others within its bound and names the missing broker (a rolling restart of the
    source no longer fails a whole offset sync pass, nor blocks promote's final sync)."""
    cluster3.create_topic(topic_name, partitions=1)
    groups = [f"g{i}-{topic_name}" for i in range(6)]
    for g in groups:
        commit(cluster3, g, topic_name, 1)

    async def go():
        io = connect(ClusterSettings(tuple(cluster3.bootstrap.split(","))), "source")
        try:
            await io.refresh_metadata()
            coord = {g: await Admin(io).find_coordinator(g) for g in groups}
            with frozen(cluster3, coord[groups[0]]):
                return coord, await list_groups(io, 2.0)
        finally:
            await io.close()
    coord, (listed, missing) = asyncio.run(go())
    hung = coord[groups[0]]
    elsewhere = {g for g in groups if coord[g] != hung}
    assert elsewhere and elsewhere <= set(listed) and groups[0] not in listed
    assert missing == [f"broker {hung}: no answer within 2.0s"], missing
