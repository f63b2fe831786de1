"""A `topics.prefix` link through the proxy (issue 17, finding 7): clients use the source's
topic name before and after the cutover; the destination's topic is `prefix + name`. Judged
on the destination by plain consumers (never the proxy or linker code)."""
from __future__ import annotations

import uuid

from kafkabed.producers import consume

from test_cutover import PARTITIONS, ConfluentProducing, Consuming, _cutover_under_traffic, _mirrored_behind_proxy
from test_cutover_per_topic import _in_order_once

PREFIX = "eu."


def test_clients_keep_the_source_name_across_a_promote(source, destination, start_proxy, topic_name):
    source.create_topic(topic_name, PARTITIONS)
    proxy, cutover, _ = _mirrored_behind_proxy(source, destination, start_proxy, topic_name, prefix=PREFIX)

    group = f"prefix-{uuid.uuid4().hex[:8]}"
    producing = ConfluentProducing(proxy.bootstrap, topic_name)
    consuming = Consuming(proxy.bootstrap, topic_name, group)
    report, _ = _cutover_under_traffic(proxy, cutover, producing, consuming)
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
