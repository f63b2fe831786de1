"""A [topics] prefix: source topic T is mirrored exactly to <prefix>T (real clusters)."""
from __future__ import annotations

import asyncio

from kafkabed.producers import consume, make_records, produce
from linker.mirror.engine import MirrorEngine
from linker.verify import verify_link

from .helpers import caught_up, engine_for, link_config, run_until


def test_prefixed_link_mirrors_exactly_and_verify_names_both(source, destination, topic_name):
    source.create_topic(topic_name, partitions=2)
    produce(source, topic_name, make_records(300, prefix="p"), compression="lz4")
    cfg = link_config(source, destination, names=[topic_name], prefix="src.")
    engine = engine_for(cfg)
    asyncio.run(run_until(engine, caught_up(), 90.0))
    assert {pm.status.state.value for pm in engine.partitions.values()} == {"STOPPED"}
    assert set(engine.partitions) == {(topic_name, 0), (topic_name, 1)}   # keyed by source name

    report = asyncio.run(verify_link(cfg))
    assert report.ok, report.render()
    assert sum(p.checked_to for p in report.partitions) == 300
    assert {p.mirror_topic for p in report.partitions} == {f"src.{topic_name}"}
    assert f"{topic_name}-0 -> src.{topic_name}-0" in report.render()
    # either name selects the topic; the unprefixed name is not created on the destination
    assert asyncio.run(verify_link(cfg, f"src.{topic_name}")).ok
    assert asyncio.run(verify_link(cfg, topic_name)).ok
    assert topic_name not in destination.admin().list_topics()

    got = consume(destination, f"src.{topic_name}", 300)
    assert sorted((c.key, c.value) for c in got) == sorted((r.key, r.value) for r in make_records(300, prefix="p"))


def test_verify_reports_a_missing_prefixed_mirror(source, destination, topic_name):
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 5)
    report = asyncio.run(verify_link(link_config(source, destination, names=[topic_name], prefix="nothere.")))
    assert not report.ok
    assert report.problems == [f"mirror topic nothere.{topic_name} of {topic_name} is missing on the destination"]


def test_pattern_topic_whose_mirror_name_is_too_long_fails_with_the_reason(source, destination, topic_name):
    long_name = (topic_name + "-" + "x" * 249)[:245]
    source.create_topic(long_name, partitions=1)
    produce(source, long_name, 3)
    cfg = link_config(source, destination, include=[long_name.replace(".", r"\.")], prefix="toolong.")

    async def failed(engine: MirrorEngine) -> bool:
        return any(pm.status.state.value == "FAILED" for pm in engine.partitions.values())
    engine = engine_for(cfg)
    asyncio.run(run_until(engine, failed, 60.0))
    [pm] = engine.partitions.values()
    assert "longer than 249 characters" in pm.status.reason
    assert f"toolong.{long_name}"[:249] not in destination.admin().list_topics()
