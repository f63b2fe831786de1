"""Pause/resume, promote interrupted by a linker restart, STOPPED respected at start-up."""
from __future__ import annotations

import asyncio
import time

import pytest

from kafkabed.producers import produce
from linker.lifecycle.commands import CommandError
from linker.lifecycle.records import TopicState
from linker.verify import verify_link

from .helpers import Linker, command, link_config, state_of


def dest_end(cluster, topic: str) -> int:
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(**cluster.kafka_python_config())
    try:
        tp = TopicPartition(topic, 0)
        return c.end_offsets([tp])[tp]
    finally:
        c.close()


def test_pause_produce_resume_is_exact(source, destination, topic_name):
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 50)
    cfg = link_config(source, destination, f"pause-{topic_name[-8:]}", names=[topic_name])
    with Linker(cfg) as linker:
        linker.wait(lambda: linker.acked(topic_name).get(0) == 50, why="catch up")
        # the engine can catch up before the lifecycle controller's first heartbeat lands
        linker.wait(lambda: state_of(cfg).linker_running(linker.controller.settings.state_poll_ms),
                    why="first heartbeat")
        [r] = command(cfg, "pause", [topic_name])
        assert r.state is TopicState.PAUSED and not r.note   # the running linker was seen
        linker.wait(lambda: topic_name in linker.engine.paused_topics, why="pause applied")
        doc = linker.controller.status_doc()   # what GET /status serves
        assert doc["topics"][topic_name]["state"] == "PAUSED"
        assert all(p["paused"] for p in doc["partitions"] if p["topic"] == topic_name)
        produce(source, topic_name, 70, compression="lz4")
        time.sleep(1.5)                                     # five polls, fifteen fetch waits
        assert linker.acked(topic_name) == {0: 50}
        assert dest_end(destination, topic_name) == 50
        command(cfg, "resume", [topic_name])
        linker.wait(lambda: linker.acked(topic_name).get(0) == 120, why="resume catches up")
    report = asyncio.run(verify_link(cfg, topic_name))
    assert report.ok, report.render()


def test_promote_finished_by_restarted_linker_and_stopped_respected(source, destination, topic_name):
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 40)
    cfg = link_config(source, destination, f"crash-{topic_name[-8:]}", names=[topic_name])
    with Linker(cfg) as linker:
        linker.wait(lambda: linker.acked(topic_name).get(0) == 40, why="catch up")
    # The linker is down (as after a crash) while the source moves on; promote is asked for.
    produce(source, topic_name, 25)
    with pytest.raises(CommandError, match="behind the source by 25 records"):
        command(cfg, "promote", [topic_name])
    assert state_of(cfg).topics[topic_name].state is TopicState.PROMOTING
    assert dest_end(destination, topic_name) == 40
    # The restarted linker finishes the promotion: catch up, final offset sync, STOPPED.
    with Linker(cfg) as linker:
        linker.wait(lambda: (r := state_of(cfg).topics[topic_name]).state is TopicState.STOPPED
                    and r.by == "linker", timeout=60, why="promotion finished")
    rec = state_of(cfg).topics[topic_name]
    assert rec.reason == "promoted" and rec.offsets == {0: 65}
    # STOPPED is final: a later linker never writes the topic again.
    produce(source, topic_name, 10)
    with Linker(cfg) as linker:
        time.sleep(2.0)
        assert linker.acked(topic_name) == {}
        assert topic_name in linker.engine.stopped_topics
    assert dest_end(destination, topic_name) == 65
    with pytest.raises(CommandError, match="STOPPED"):
        command(cfg, "resume", [topic_name])
    # promote again only finishes (producer ids, ACLs): the topic stays STOPPED at its offsets
    [r] = command(cfg, "promote", [topic_name])
    assert (r.state, r.offsets, r.note) == (TopicState.STOPPED, {0: 65}, "promoted earlier")
    assert r.producer_ids.startswith("producer ids:")
    assert state_of(cfg).topics[topic_name].offsets == {0: 65}
    assert dest_end(destination, topic_name) == 65
