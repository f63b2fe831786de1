"""A source topic deleted and recreated under the same name (issue 14, findings 2 and 16).

The mirror must stop in TOPIC_RECREATED naming both topic ids, keep exactly the
old data (judged by the independent checker against a copy of the source log
read before the deletion), never append the new topic's records after it, and
never call it an unclean leader election. A recreate while no linker ran is
caught at start from the id recorded in the state topic."""
from __future__ import annotations

import asyncio
import time

import pytest
from kafka.errors import TopicAlreadyExistsError

from kafkabed.producers import produce
from linker.mirror.identity import SOURCE_MISSING, kafka_id
from linker.mirror.state import PartitionState
from linker.status import collect
from linker.status_view import render_report
from tests.checker import RawCluster, compare_logs, read_log, wait_exact

from ..lifecycle.helpers import Linker, link_config as lifecycle_config, state_of
from .helpers import BackgroundEngine, engine_for, link_config


def recreate(cluster, topic: str, deadline_s: float = 30.0) -> None:
    """Delete ``topic`` and create it again (a deletion takes a moment to finish)."""
    cluster.delete_topic(topic)
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            cluster.create_topic(topic)
            return
        except TopicAlreadyExistsError:
            assert time.monotonic() < deadline, f"{topic} could not be created again"
            time.sleep(0.2)


def mirrored_log(source, topic: str):
    with RawCluster(source.bootstrap_for("INTERNAL")) as raw:
        return read_log(raw, topic, 0)


def assert_mirror_is(destination, topic: str, expected) -> None:
    with RawCluster(destination.bootstrap_for("INTERNAL")) as raw:
        check = compare_logs(expected, read_log(raw, topic, 0))
    assert check.exact, check


@pytest.mark.parametrize("source_fixture", ["source", "source39"])
def test_a_live_delete_and_recreate_stops_the_mirror_naming_both_ids(source_fixture, destination, topic_name, request):
    """On a 4.4 and a 3.9 source (both fetch by topic id: Fetch v13+)."""
    source = request.getfixturevalue(source_fixture)
    source.create_topic(topic_name)
    produce(source, topic_name, 30)
    cfg = link_config(source, destination, names=[topic_name])
    engine = engine_for(cfg)
    with BackgroundEngine(engine) as bg:
        bg.wait_caught_up(None, 30)
        wait_exact(source, destination, [topic_name])
        before = mirrored_log(source, topic_name)
        old_id = kafka_id(engine.source.snapshot.topics[topic_name].topic_id)
        recreate(source, topic_name)
        # A batch boundary at the mirror's end, then more: a by-name fetch would append from there.
        produce(source, topic_name, 30)
        produce(source, topic_name, 30)
        pm = engine.partitions[(topic_name, 0)]
        deadline = time.monotonic() + 60
        while pm.status.state.value != "TOPIC_RECREATED":
            assert pm.status.state is PartitionState.MIRRORING, engine.status_doc()
            assert time.monotonic() < deadline, engine.status_doc()
            time.sleep(0.2)
        new_id = kafka_id(engine.source.snapshot.topics[topic_name].topic_id)
        time.sleep(2)   # a fetcher or locator that still acted on the name would write by now
        doc = engine.status_doc()
    assert old_id != new_id
    reason = pm.status.reason
    assert old_id in reason and new_id in reason and "recreated" in reason, reason
    assert "unclean" not in reason
    (row,) = doc["partitions"]
    assert row["state"] == "TOPIC_RECREATED" and old_id in row["reason"] and new_id in row["reason"]
    text = render_report(asyncio.run(collect(cfg, doc)))   # `linker status` with the engine's /status
    assert "TOPIC_RECREATED" in text and old_id in text and new_id in text, text
    assert_mirror_is(destination, topic_name, before)


def test_a_deleted_source_topic_says_source_topic_missing_in_status(source, destination, topic_name):
    source.create_topic(topic_name)
    produce(source, topic_name, 10)
    engine = engine_for(link_config(source, destination, names=[topic_name]))
    with BackgroundEngine(engine) as bg:
        bg.wait_caught_up(None, 10)
        source.delete_topic(topic_name)
        deadline = time.monotonic() + 30
        while topic_name not in engine.status_doc()["source_missing"]:
            assert time.monotonic() < deadline, engine.status_doc()
            time.sleep(0.2)
        (row,) = engine.status_doc()["partitions"]
    assert row["waiting"] == SOURCE_MISSING and row["dest_log_end"] == 10


def test_a_recreate_while_no_linker_ran_is_caught_at_start(source, destination, topic_name):
    source.create_topic(topic_name)
    produce(source, topic_name, 30)
    cfg = lifecycle_config(source, destination, f"recreate-{topic_name[-8:]}", names=[topic_name])
    with Linker(cfg) as first:
        first.wait(lambda: first.acked(topic_name) == {0: 30}, why="caught up")
        old_id = kafka_id(first.engine.source.snapshot.topics[topic_name].topic_id)
        first.wait(lambda: topic_name in state_of(cfg).mirrors, why="the topic id recorded")
    before = mirrored_log(source, topic_name)
    assert state_of(cfg).mirrors[topic_name].source_topic_id == old_id
    recreate(source, topic_name)
    produce(source, topic_name, 60)
    with Linker(cfg) as second:
        second.wait(lambda: second.engine is not None and second.engine.partitions.get((topic_name, 0))
                    is not None and second.engine.partitions[(topic_name, 0)].status.state
                    is PartitionState.TOPIC_RECREATED, why="TOPIC_RECREATED at start")
        reason = second.engine.partitions[(topic_name, 0)].status.reason
    assert old_id in reason and "recreated" in reason, reason
    assert_mirror_is(destination, topic_name, before)


def test_a_mirror_topic_recreated_under_the_engine_is_never_written(source, destination, topic_name):
    source.create_topic(topic_name)
    produce(source, topic_name, 20)
    engine = engine_for(link_config(source, destination, names=[topic_name]))
    with BackgroundEngine(engine) as bg:
        bg.wait_caught_up(None, 20)
        old_id = kafka_id(engine.dest.snapshot.topics[topic_name].topic_id)
        recreate(destination, topic_name)
        produce(source, topic_name, 20)
        pm = engine.partitions[(topic_name, 0)]
        deadline = time.monotonic() + 60
        while pm.status.state.value != "TOPIC_RECREATED":
            assert time.monotonic() < deadline, engine.status_doc()
            time.sleep(0.2)
        new_id = kafka_id(engine.dest.snapshot.topics[topic_name].topic_id)
        time.sleep(2)
    assert old_id != new_id and old_id in pm.status.reason and new_id in pm.status.reason, pm.status.reason
    assert "mirror topic" in pm.status.reason
    with RawCluster(destination.bootstrap_for("INTERNAL")) as raw:
        assert read_log(raw, topic_name, 0).log_end == 0   # nothing written into the new topic
