"""The engine against real Apache Kafka clusters (kafkabed session clusters)."""
from __future__ import annotations

import asyncio

import pytest

from kafkabed.producers import produce
from linker.mirror.engine import MirrorEngine
from linker.verify import verify_link

from .helpers import caught_up, link_config, run_until


def test_basic_mirror_is_exact(source, destination, topic_name):
    source.create_topic(topic_name, partitions=2)
    produce(source, topic_name, 500, compression="lz4")
    produce(source, topic_name, 300, client="confluent", compression="zstd", idempotent=True)
    cfg = link_config(source, destination, names=[topic_name])
    engine = MirrorEngine(cfg)
    asyncio.run(run_until(engine, caught_up()))
    report = asyncio.run(verify_link(cfg))
    assert report.ok, report.render()
    assert sum(p.checked_batches for p in report.partitions) > 0
