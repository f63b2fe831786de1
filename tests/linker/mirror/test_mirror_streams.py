"""A real Kafka Streams application moves with its compacted changelog (issue 15, test 1).

A count-per-key topology (kafkabed/streams.py) runs on the source until the
cleaner has cleaned its changelog; the linker mirrors input, output and
changelog, is promoted, and the same application.id then runs on the
destination from an empty state directory: it restores its store from the
mirrored (rebuilt, filler-holding) changelog and continues the counts.
Judged with kafka-python consumers on the output topics only.
"""
from __future__ import annotations

import struct
import time
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from kafkabed import run_dir
from kafkabed.producers import Record, produce
from kafkabed.streams import StreamsCountApp
from linker.lifecycle.records import TopicState

from ..lifecycle.helpers import Linker, command, link_config
from .test_mirror_compacted import _cleaned
from .txn_judge import raw_difference

KEYS = [b"key-%d" % k for k in range(8)]


def _counts(cluster: Any, topic: str, start: int = 0, seen: list | None = None) -> tuple[dict[bytes, int], int]:
    """The last count per key on the output topic from ``start`` (read_committed), and the
    topic's end; every (offset, key, count) read is appended to ``seen``."""
    tp = TopicPartition(topic, 0)
    consumer = KafkaConsumer(**cluster.kafka_python_config(), enable_auto_commit=False,
                             isolation_level="read_committed")
    try:
        consumer.assign([tp])
        end = consumer.end_offsets([tp])[tp]
        consumer.seek(tp, start)
        out: dict[bytes, int] = {}
        deadline = time.monotonic() + 30
        while consumer.position(tp) < end:
            assert time.monotonic() < deadline, f"read of {topic} stuck at {consumer.position(tp)}"
            for msgs in consumer.poll(timeout_ms=500).values():
                for m in msgs:
                    out[m.key] = struct.unpack(">q", m.value)[0]
                    if seen is not None:
                        seen.append((m.offset, m.key, out[m.key]))
        return out, end
    finally:
        consumer.close()


def _wait_counts(cluster: Any, topic: str, want: dict[bytes, int], start: int = 0,
                 timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while (got := _counts(cluster, topic, start)[0]) != want:
        assert time.monotonic() < deadline, f"counts on {topic}: {got}, expected {want}"
        time.sleep(0.3)


def test_streams_app_restores_from_the_mirrored_cleaned_changelog_and_continues_its_counts(
        source, destination, topic_names, tmp_path):
    """~15 s measured (two Streams JVM runs: start-up, rebalance, restore; the source cleaner
    cleaning the changelog before mirroring); up to ~60 s on loaded cores."""
    began = time.monotonic()
    app_id = topic_names("app")
    input_topic, output_topic = topic_names("in"), topic_names("out")
    source.create_topic(input_topic, 1)
    source.create_topic(output_topic, 1)
    sent = {k: 0 for k in KEYS}
    logs = run_dir() / "streams"
    with StreamsCountApp(source.bootstrap, app_id, input_topic, output_topic, tmp_path / "state-source",
                         logs / f"{app_id}-source.log") as app:
        app.wait_running()
        deadline, i = time.monotonic() + 90, 0
        while not (i and _cleaned(source, app.changelog)):
            assert time.monotonic() < deadline, f"the source cleaner did not clean {app.changelog}"
            produce(source, input_topic, [Record(KEYS[n % 8], b"%d-%d" % (i, n), ()) for n in range(40)])
            for n in range(40):
                sent[KEYS[n % 8]] += 1
            i += 1
            _wait_counts(source, output_topic, sent)     # processed; the changelog rolls a segment
            time.sleep(0.3)
        changelog = app.changelog
    on_source = time.monotonic() - began

    topics = [input_topic, output_topic, changelog]
    cfg = link_config(source, destination, f"streams-{app_id[-8:]}", names=topics)
    with Linker(cfg) as linker:
        linker.wait(lambda: all(linker.acked(t).get(0) for t in topics), why="catch up")
        fidelity = {p["topic"]: p["fidelity"] for p in linker.engine.status_doc()["partitions"]}
        assert fidelity[changelog] == "record-exact (compacted)", fidelity
        assert linker.engine.metrics.compaction_fillers_total.get() > 0   # holes the cleaner left
        results = command(cfg, "promote", topics)
        assert {r.state for r in results} == {TopicState.STOPPED}, results
    mirrored = time.monotonic() - began - on_source

    counts, out_end = _counts(destination, output_topic)
    assert counts == sent                                 # the mirrored outputs themselves
    with StreamsCountApp(destination.bootstrap, app_id, input_topic, output_topic, tmp_path / "state-dest",
                         logs / f"{app_id}-destination.log") as app:
        app.wait_running()
        produce(destination, input_topic, [Record(k, b"after", ()) for k in KEYS])
        _wait_counts(destination, output_topic, {k: sent[k] + 1 for k in KEYS}, start=out_end)
    print(f"\nstreams: {i} rounds, {sum(sent.values())} records; source until cleaned {on_source:.1f}s, "
          f"mirror+promote {mirrored:.1f}s, total {time.monotonic() - began:.1f}s")


def test_exactly_once_v2_streams_app_moves_with_its_transactional_topics_and_continues_exactly(
        source, destination, topic_names, tmp_path):
    """The same count application with processing.guarantee=exactly_once_v2 (issue 16): its output,
    changelog and repartition topics hold only transactional batches and markers. Mirrored after
    the source cleaner cleaned the changelog, promoted, run on the destination: its output
    continues exactly (one committed count per new input record, none repeated or lost)."""
    began = time.monotonic()
    app_id = topic_names("eos")
    input_topic, output_topic = topic_names("in"), topic_names("out")
    source.create_topic(input_topic, 1)
    source.create_topic(output_topic, 1)
    sent = {k: 0 for k in KEYS}
    logs = run_dir() / "streams"
    with StreamsCountApp(source.bootstrap, app_id, input_topic, output_topic, tmp_path / "state-source",
                         logs / f"{app_id}-source.log", guarantee="exactly_once_v2") as app:
        app.wait_running()
        deadline, i = time.monotonic() + 90, 0
        while not (i >= 2 and _cleaned(source, app.changelog)):   # a few transactions, then cleaned
            assert time.monotonic() < deadline, f"the source cleaner did not clean {app.changelog}"
            produce(source, input_topic, [Record(KEYS[n % 8], b"%d-%d" % (i, n), ()) for n in range(40)])
            for n in range(40):
                sent[KEYS[n % 8]] += 1
            i += 1
            _wait_counts(source, output_topic, sent)
            time.sleep(0.3)
        changelog, repartition = app.changelog, app.repartition
    on_source = time.monotonic() - began

    topics = [input_topic, output_topic, changelog, repartition]
    cfg = link_config(source, destination, f"eos-{app_id[-8:]}", names=topics)
    with Linker(cfg) as linker:
        linker.wait(lambda: all(linker.acked(t).get(0) for t in topics), why="catch up")
        results = command(cfg, "promote", topics)
        assert {r.state for r in results} == {TopicState.STOPPED}, results
        fidelity = {p["topic"]: p["fidelity"] for p in linker.engine.status_doc()["partitions"]}
    assert fidelity[output_topic] == "offset-exact (transactional, headers re-stamped)", fidelity
    assert fidelity[changelog] == "record-exact (compacted, transactional, headers re-stamped)", fidelity
    mirrored = time.monotonic() - began - on_source
    for topic in (input_topic, output_topic):
        why = raw_difference(source, destination, topic, 0)
        assert why is None, why

    counts, out_end = _counts(destination, output_topic)
    assert counts == sent
    seen: list = []
    with StreamsCountApp(destination.bootstrap, app_id, input_topic, output_topic, tmp_path / "state-dest",
                         logs / f"{app_id}-destination.log", guarantee="exactly_once_v2") as app:
        app.wait_running()
        produce(destination, input_topic, [Record(k, b"after", ()) for k in KEYS])
        _wait_counts(destination, output_topic, {k: sent[k] + 1 for k in KEYS}, start=out_end)
        _counts(destination, output_topic, start=out_end, seen=seen)
    # Exactly one committed count per new input record: the store was restored from the mirrored
    # changelog and the input resumed at the mirrored committed offset.
    assert sorted((k, c) for _, k, c in seen) == sorted((k, sent[k] + 1) for k in KEYS), seen
    print(f"\nstreams exactly_once_v2: {i} rounds, {sum(sent.values())} records; source until cleaned "
          f"{on_source:.1f}s, mirror+promote {mirrored:.1f}s, total {time.monotonic() - began:.1f}s")
