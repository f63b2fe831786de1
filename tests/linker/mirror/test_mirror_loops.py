"""A link must never mirror its own mirrors (issue 14, finding 15): a link into its own
cluster is refused (cluster ids), a destination topic or a linker state topic is never
selected as a source, and two links in opposite directions do not copy each other's
mirrors back (the mirror records in the other link's state topic name their origin)."""
from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from kafkabed.producers import produce
from linker.mirror.identity import LinkRefused

from ..lifecycle.helpers import Linker, link_config as lifecycle_config
from .helpers import engine_for, link_config, run_engine


def test_a_link_into_its_own_cluster_is_refused(source, topic_name):
    prefix = f"r{uuid.uuid4().hex[:6]}."
    source.create_topic(prefix + topic_name)
    produce(source, prefix + topic_name, 5)
    engine = engine_for(link_config(source, source, include=[prefix.replace(".", "\\.") + ".*"], prefix=prefix))

    async def go() -> None:
        await asyncio.wait_for(run_engine(engine, asyncio.Event()), 60)
    with pytest.raises(LinkRefused, match="same cluster"):
        asyncio.run(go())
    assert not engine.partitions
    assert not [t for t in source.admin().list_topics() if t.startswith(prefix + prefix)]


def test_a_destination_topic_or_a_state_topic_is_never_selected(source, topic_name):
    source.create_topic(topic_name)
    engine = engine_for(link_config(source, source, names=[topic_name, "__linker-other-state"]))

    async def go() -> tuple[str | None, list[str]]:
        try:
            await engine.source.refresh_metadata()
            await engine.dest.refresh_metadata()
            selected, _ = engine.locator.selector.select([topic_name, "__linker-other-state"])
            return engine.guard.refusal(topic_name), selected
        finally:
            await engine.source.close()
            await engine.dest.close()
    why, selected = asyncio.run(go())
    assert why is not None and "same topic id" in why, why
    assert selected == []


def test_links_in_opposite_directions_do_not_mirror_each_others_mirrors(source, destination, topic_name):
    """Link A copies t from source to destination as a<id>.t; link B (destination to source, every
    a<id>.* topic) must refuse a<id>.t: it is a mirror of its own destination's topic."""
    uid = uuid.uuid4().hex[:6]
    a_prefix, b_prefix = f"a{uid}.", f"b{uid}."
    source.create_topic(topic_name)
    produce(source, topic_name, 10)
    a = lifecycle_config(source, destination, f"a{uid}", names=[topic_name], prefix=a_prefix)
    b = lifecycle_config(destination, source, f"b{uid}", include=[f"a{uid}\\..*"], prefix=b_prefix)
    with Linker(a) as link_a:
        link_a.wait(lambda: link_a.acked(topic_name) == {0: 10}, why="link A caught up")
        with Linker(b) as link_b:
            link_b.wait(lambda: link_b.engine is not None and link_b.engine.started.is_set(), why="link B started")
            time.sleep(3)   # a few discovery rounds (metadata_refresh_ms 1000)
            assert not link_b.engine.partitions, link_b.engine.status_doc()
    assert not [t for t in source.admin().list_topics() if t.startswith(b_prefix)]
