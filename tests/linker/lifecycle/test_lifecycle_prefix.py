"""Lifecycle on a prefixed link: states keyed by source name, commands take either name,
offsets committed for the mirror (prefixed) topic, promote stops the prefixed mirror."""
from __future__ import annotations

import asyncio

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from kafkabed.producers import produce
from linker.lifecycle.commands import CommandError
from linker.lifecycle.offset_sync import fetch_committed
from linker.lifecycle.records import TopicState
from linker.connect import connect
from linker.status import collect
from linker.status_view import render_report
from linker.verify import verify_link

from .helpers import Linker, command, link_config, state_of


def committed(cluster_settings, group: str, topics: set[str]):
    async def go():
        io = connect(cluster_settings, "probe")
        try:
            return await fetch_committed(io, group, topics)
        finally:
            await io.close()
    return asyncio.run(go())


def test_prefixed_link_offset_sync_pause_and_promote(source, destination, topic_name):
    mirror = f"dr.{topic_name}"
    source.create_topic(topic_name, partitions=2)
    produce(source, topic_name, 80)
    group = f"g-{topic_name}"
    c = KafkaConsumer(group_id=group, enable_auto_commit=False, **source.kafka_python_config())
    c.commit({TopicPartition(topic_name, 0): OffsetAndMetadata(7, "", -1),
              TopicPartition(topic_name, 1): OffsetAndMetadata(3, "", -1)})
    c.close()
    cfg = link_config(source, destination, f"pfx-{topic_name[-8:]}", names=[topic_name], prefix="dr.",
                      lifecycle={"groups_include": [group]})
    with Linker(cfg) as linker:
        linker.wait(lambda: sum(linker.acked(topic_name).values()) == 80, why="catch up")
        # offsets land on the prefixed topic, never on the source name
        linker.wait(lambda: committed(cfg.destination, group, {mirror}) == {(mirror, 0): 7, (mirror, 1): 3},
                    why="offset sync to the mirror topic")
        assert committed(cfg.destination, group, {topic_name}) == {}
        doc = linker.controller.status_doc()
        assert doc["groups"][group]["skipped"] == "" and doc["groups"][group]["line"].startswith(f"group {group}: synced")
        # linker status: both names, the group's sync line from /status, lifecycle from the state topic
        rep = asyncio.run(collect(cfg, doc))
        assert {(r.topic, r.mirror_topic, r.lifecycle, r.state) for r in rep.rows} == \
            {(topic_name, mirror, "ACTIVE", "MIRRORING")}
        assert sum(r.dest_log_end for r in rep.rows) == 80 and rep.linker_running
        assert [g.group for g in rep.groups] == [group]
        assert f"{group}: synced" in render_report(rep)
        # a command given the mirror name acts on the source-keyed state
        [r] = command(cfg, "pause", [mirror])
        assert r.topic == topic_name and r.state is TopicState.PAUSED and f"(mirror {mirror})" in r.line()
        linker.wait(lambda: topic_name in linker.engine.paused_topics, why="pause applied")
        assert linker.controller.status_doc()["topics"][topic_name]["mirror_topic"] == mirror
        command(cfg, "resume", [topic_name])
        produce(source, topic_name, 20)
        [r] = command(cfg, "promote", [topic_name])
        assert r.state is TopicState.STOPPED and sum(r.offsets.values()) == 100
    rec = state_of(cfg).topics[topic_name]
    assert rec.state is TopicState.STOPPED and rec.reason == "promoted"
    assert asyncio.run(verify_link(cfg, mirror)).ok
    offline = asyncio.run(collect(cfg, None))      # no linker: states straight from the state topic
    assert not offline.engine_reachable and not offline.linker_running and offline.state_topic_found
    assert {r.lifecycle for r in offline.rows} == {"STOPPED"}
    assert [(t.topic, t.mirror_topic, t.state, t.reason) for t in offline.topics] == \
        [(topic_name, mirror, "STOPPED", "promoted")]
    assert f"{topic_name} -> {mirror}: STOPPED (promoted)" in render_report(offline)
    with pytest.raises(CommandError, match="not a mirror topic on the destination: nothing"):
        command(cfg, "pause", ["nothing"])
