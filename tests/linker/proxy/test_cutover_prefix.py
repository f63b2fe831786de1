"""A `topics.prefix` link through the proxy (issue 17, finding 7): clients use the source's
topic name before and after the cutover; the destination's topic is `prefix + name`. Judged
on the destination by plain consumers (never the proxy or linker code)."""
from __future__ import annotations

import asyncio
import time
import uuid

from kafkabed.producers import consume
from linker.proxy import MirrorTopics, ProxyConfig
from linker.proxy.config import DESTINATION_EPOCH_SHIFT
from linker.proxy.cutover import Cutover
from linker.settings import parse_config

from conftest import upstream_of
from test_cutover import LINK, PARTITIONS, ConfluentProducing, Consuming, _wait
from test_cutover_per_topic import _in_order_once

from tests.linker.mirror.helpers import engine_for, run_engine

PREFIX = "eu."


def test_clients_keep_the_source_name_across_a_promote(source, destination, start_proxy, topic_name):
    source.create_topic(topic_name, PARTITIONS)
    src_up = upstream_of(source, "source")
    dst_up = upstream_of(destination, "destination", epoch_shift=DESTINATION_EPOCH_SHIFT, topic_prefix=PREFIX)
    mirrors = MirrorTopics({topic_name: LINK})
    proxy = start_proxy(ProxyConfig(upstream=src_up), mirrors, mirrors_on="destination")
    engine = engine_for(parse_config({
        "name": LINK, "source": {"bootstrap_servers": source.bootstrap.split(",")},
        "destination": {"bootstrap_servers": destination.bootstrap.split(",")},
        "topics": {"names": [topic_name], "prefix": PREFIX},
        "mirror": {"fetch_max_wait_ms": 50, "metadata_refresh_ms": 2000}}))
    stop_engine = asyncio.Event()

    async def start_engine():
        return asyncio.get_running_loop().create_task(run_engine(engine, stop_engine))
    engine_task = proxy.call(start_engine())

    async def promote() -> None:
        stop_engine.set()
        await asyncio.wait_for(engine_task, 30)
        mirrors.promote(topic_name)
    cutover = Cutover(proxy.server, src_up, dst_up, [topic_name], promote=promote)

    group = f"prefix-{uuid.uuid4().hex[:8]}"
    producing = ConfluentProducing(proxy.bootstrap, topic_name)
    consuming = Consuming(proxy.bootstrap, topic_name, group)
    producing.start()
    consuming.start()
    try:
        _wait(lambda: len(producing.acked) >= 200 and len(consuming.seen) >= 100, "traffic before the cutover")
        before = len(producing.acked)
        report = proxy.call(cutover.run(), 180)
        _wait(lambda: len(producing.acked) >= before + 300, "traffic after the switch")
    finally:
        producing.stop.set()
        producing.join(150)
    assert not producing.errors, producing.errors[:3]
    deadline = time.monotonic() + 60
    while len(consuming.seen) < len(producing.acked) and time.monotonic() < deadline:
        time.sleep(0.2)
    consuming.stop.set()
    consuming.join(30)
    assert not consuming.errors, consuming.errors[:3]
    assert report.groups_copied.get(group), report

    acked = sorted((p, o) for p, o, _ in producing.acked)
    on_dest = consume(destination, PREFIX + topic_name, len(acked), timeout=60)
    assert sorted((c.partition, c.offset) for c in on_dest) == acked
    assert {(c.partition, c.offset): c.value for c in on_dest} == {(p, o): v for p, o, v in producing.acked}
    _in_order_once(consuming.seen, producing.acked, topic_name)
    # nothing was created on the destination under the client's name
    from tests.checker import RawCluster
    with RawCluster(destination.bootstrap) as raw:
        assert raw.partitions(topic_name) is None
