"""Per-topic cutover through the proxy (issue 17, finding 7): one topic promoted and served by the
destination, another left on the source, both through the same bootstrap address, with
librdkafka and kafka-python producers and consumer groups on each. The promoted topic's records
are judged on the destination by plain consumers (never the proxy or linker code)."""
from __future__ import annotations

import collections
import time
import uuid

from kafkabed.producers import consume
from linker.proxy.routing import VIRTUAL_NODE_OFFSET

from kproto import messages
from kproto.errors import ErrorCode
from proxy_rawwire import RawConnection
from test_cutover import (PARTITIONS, ConfluentConsuming, ConfluentProducing, Consuming, Producing,
                          _mirrored_behind_proxy, _wait)


class BothConsuming(Consuming):
    """A kafka-python group reading both topics (a mixed group): it stays coordinated by the source."""

    def _row(self, m) -> tuple:
        return m.topic, m.partition, m.offset


def _in_order_once(seen: list[tuple[int, int, bytes]], acked: list[tuple[int, int, bytes]], what: str) -> None:
    per_partition: dict[int, list[int]] = collections.defaultdict(list)
    for p, o, _ in seen:
        per_partition[p].append(o)
    for p, offsets in per_partition.items():
        assert offsets == sorted(set(offsets)), f"{what} partition {p}: duplicates or disorder"
    assert {(p, o): v for p, o, v in seen} == {(p, o): v for p, o, v in acked}, f"{what}: records differ"


def test_one_topic_promoted_the_other_stays(source, destination, start_proxy, topic_names, testbed_report):
    moved, stays = topic_names("moved"), topic_names("stays")
    source.create_topic(moved, PARTITIONS)
    source.create_topic(stays, PARTITIONS)
    proxy, cutover, _ = _mirrored_behind_proxy(source, destination, start_proxy, moved, per_topic=True)

    tag = uuid.uuid4().hex[:8]
    clients = {
        "moved producer (librdkafka)": ConfluentProducing(proxy.bootstrap, moved),
        "moved consumer (kafka-python)": Consuming(proxy.bootstrap, moved, f"moved-{tag}"),
        "stays producer (kafka-python)": Producing(proxy.bootstrap, stays),
        "stays consumer (librdkafka)": ConfluentConsuming(proxy.bootstrap, stays, f"stays-{tag}"),
        "mixed consumer (kafka-python)": BothConsuming(proxy.bootstrap, [moved, stays], f"mixed-{tag}"),
    }
    p_moved, c_moved, p_stays, c_stays, c_mixed = clients.values()
    for c in clients.values():
        c.start()
    try:
        _wait(lambda: min(len(p_moved.acked), len(p_stays.acked)) >= 200
              and min(len(c_moved.seen), len(c_stays.seen)) >= 100, "traffic before the cutover")
        before = len(p_moved.acked), len(p_stays.acked)
        t0 = time.monotonic()
        report = proxy.call(cutover.run(), 180)
        _wait(lambda: len(p_moved.acked) >= before[0] + 300 and len(p_stays.acked) >= before[1] + 300,
              "traffic on both topics after the cutover", 90)
        settled = time.monotonic() - t0
    finally:
        p_moved.stop.set()
        p_stays.stop.set()
        p_moved.join(150)
        p_stays.join(150)
    for name, c in clients.items():
        if "producer" in name:
            assert not c.errors, (name, c.errors[:3])
    deadline = time.monotonic() + 60
    total = len(p_moved.acked) + len(p_stays.acked)
    while (len(c_moved.seen) < len(p_moved.acked) or len(c_stays.seen) < len(p_stays.acked)
           or len(set(c_mixed.seen)) < total) and time.monotonic() < deadline:
        time.sleep(0.2)
    for c in (c_moved, c_stays, c_mixed):
        c.stop.set()
    for c in (c_moved, c_stays, c_mixed):
        c.join(30)
    for name, c in clients.items():
        if "consumer" in name:
            assert not c.errors, (name, c.errors[:3])
    split = proxy.server.split
    assert split is not None and split.promoted == {moved}
    assert split.moved_groups == {f"moved-{tag}"}, split.moved_groups   # the mixed group stays with the source
    testbed_report(f"per-topic cutover: hold {report.hold_seconds:.2f}s, both topics flowing again "
                   f"{settled:.1f}s after it began; {len(p_moved.acked)} + {len(p_stays.acked)} records")

    # the promoted topic: every acknowledged record on the destination once, at its offset;
    # nothing written to the source after the ends the cutover read
    acked = sorted((p, o) for p, o, _ in p_moved.acked)
    on_dest = consume(destination, moved, len(acked), timeout=60)
    assert sorted((c.partition, c.offset) for c in on_dest) == acked
    assert {(c.partition, c.offset): c.value for c in on_dest} == {(p, o): v for p, o, v in p_moved.acked}
    assert len(consume(source, moved, len(acked), timeout=10)) == sum(report.source_log_ends.values())
    _in_order_once(c_moved.seen, p_moved.acked, moved)
    for p in range(PARTITIONS):   # send order kept across the held and retried batches
        values = [int(v) for q, _, v in c_moved.seen if q == p]
        assert values == sorted(values), f"{moved} partition {p}: records out of send order"

    # the other topic stayed on the source: all of it there, none on the destination
    acked_stays = sorted((p, o) for p, o, _ in p_stays.acked)
    on_src = consume(source, stays, len(acked_stays), timeout=60)
    assert sorted((c.partition, c.offset) for c in on_src) == acked_stays
    assert {(p, o) for p, o, _ in c_stays.seen} == set(acked_stays), "the consumer of the source topic missed records"

    # the mixed group (coordinated by the source throughout) read both topics: every record once
    expected = {(moved, p, o) for p, o, _ in p_moved.acked} | {(stays, p, o) for p, o, _ in p_stays.acked}
    assert set(c_mixed.seen) == expected, f"mixed group: {len(expected - set(c_mixed.seen))} records missed"
    testbed_report(f"mixed group across the per-topic cutover: {len(c_mixed.seen) - len(set(c_mixed.seen))} "
                   f"of {len(expected)} records seen twice")

    # the brokers clients see: the source's ids and the destination's, offset
    ports = proxy.sync(lambda: proxy.server.broker_ports())
    virtual = [i for i in ports if i >= VIRTUAL_NODE_OFFSET]
    assert virtual and any(i < VIRTUAL_NODE_OFFSET for i in ports), sorted(ports)
    # an idempotent producer id asked of a destination broker comes from the source's allocation
    with RawConnection(f"127.0.0.1:{ports[virtual[0]]}") as c:
        for _ in range(50):
            got = c.request(messages.InitProducerIdRequest(transactional_id=None, transaction_timeout_ms=-1), 4)
            if got.error_code != ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
                break
            time.sleep(0.1)
    assert got.error_code == 0 and got.producer_id in proxy.server.producer_ids_from("source"), got
