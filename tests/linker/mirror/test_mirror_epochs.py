"""Leader epochs at locate time, on a real 3-node cluster (issue 14, findings 1, 6 and 9).

A high watermark below the log end is made for real: a partition with two replicas and
min.insync.replicas=2 has its follower frozen (SIGSTOP). The leader still appends acks=1
writes, but its high watermark stays behind: first because the in-sync follower does not
fetch, then, once the controller fenced it, because an ISR below min.insync.replicas does
not advance the high watermark (eligible leader replicas, KIP-966, on by default in 4.x).
Thawing the follower lets it catch up.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator

import pytest

from kafkabed.broker_faults import freeze, move_leader, thaw, unclean_failover
from kproto.errors import ErrorCode
from kproto.records import build_batch
from linker.client import Client, ClientConfig

from ...checker import wait_exact
from .helpers import (MIRROR_TOPIC_CONFIGS, BackgroundEngine, caught_up, engine_for, link_config, run_until,
                      write_batches)

pytestmark = pytest.mark.slow

def batch(prefix: str, ts: int) -> bytes:
    return bytes(build_batch([b"%s%d" % (prefix.encode(), i) for i in range(5)], base_timestamp=ts))


@contextlib.contextmanager
def high_watermark_held(cluster, topic: str) -> Iterator[tuple[str, Callable[[], None]]]:
    """Freeze the follower of ``topic``-0 (two replicas, min.insync.replicas=2); yields the
    leader's address (the only one to bootstrap from meanwhile) and the thaw."""
    leader = cluster.partition_leaders(topic)[0]
    (desc,) = cluster.admin().describe_topics([topic])
    (follower,) = [r for r in desc["partitions"][0]["replica_nodes"] if r != leader]
    address = dict(zip([b.node_id for b in cluster.brokers if b.alive], cluster.bootstrap.split(",")))[leader]
    freeze(cluster, follower)
    try:
        yield address, lambda: thaw(cluster, follower)
    finally:
        thaw(cluster, follower)


def wait_for(what, timeout: float, why) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, why()
        time.sleep(0.2)


def test_tail_check_fetch_from_a_demoted_leader_is_fenced(cluster3, topic_name):
    """Finding 1: consumer fetches are served by followers too; only the leader epoch from
    metadata makes a demoted leader refuse instead of answering from its own log."""
    cluster3.create_topic(topic_name, partitions=1, replication_factor=3)
    tp = (topic_name, 0)

    async def main() -> None:
        async with Client(cluster3.bootstrap, ClientConfig(request_timeout=10)) as client:
            await client.refresh_metadata([topic_name])
            old = client.partition(*tp)
            ts = int(time.time() * 1000)
            assert (await client.produce(old.leader, {tp: batch("a", ts)}))[tp].error_code == 0
            to = next(b.node_id for b in cluster3.brokers if b.node_id != old.leader)
            await asyncio.to_thread(move_leader, cluster3, topic_name, 0, to)
            # A cache still naming the old leader and epoch (as before any refresh).
            info = client.snapshot.topics[topic_name]
            client.snapshot = dataclasses.replace(client.snapshot, topics={
                **client.snapshot.topics, topic_name: dataclasses.replace(info, partitions={0: old})})
            stale = await client.fetch_partition(tp, 0, 1 << 20)
            assert stale.error_code == ErrorCode.FENCED_LEADER_EPOCH, (stale.error_code, bytes(stale.records or b""))
            await client.refresh_metadata([topic_name])
            assert client.partition(*tp).leader == to
            deadline = time.monotonic() + 30
            while not (fresh := await client.fetch_partition(tp, 0, 1 << 20)).records:   # its high watermark lags
                assert fresh.error_code == 0 and time.monotonic() < deadline, fresh
                await asyncio.sleep(0.2)
    asyncio.run(main())


async def _hand_back(engine, pm) -> None:
    engine.table.schedule_resync(pm, "a produce timed out")


def test_a_handed_back_partition_is_located_with_fresh_metadata(source, destination, topic_name):
    """Finding 1: a partition handed back after an ambiguous failure (the producer's timeout,
    a lost connection) is located again only after both clusters' metadata was re-read, so
    the log-end lookup goes to the current leader."""
    source.create_topic(topic_name, partitions=1)
    tp = (topic_name, 0)
    asyncio.run(write_batches(source.bootstrap, tp, [batch("a", int(time.time() * 1000))]))
    cfg = link_config(source, destination, names=[topic_name], metadata_refresh_ms=600_000)
    with BackgroundEngine(engine_for(cfg)) as bg:
        bg.wait_caught_up(cfg.source, 5)
        eng = bg.engine
        pm = eng.partitions[tp]
        before = eng.source.metadata_refreshes, eng.dest.metadata_refreshes
        handed_back = asyncio.run_coroutine_threadsafe(_hand_back(eng, pm), bg._loop)
        handed_back.result(10)
        wait_for(lambda: not pm.resync_needed and not pm.locating, 30, lambda: eng.status_doc())
        after = eng.source.metadata_refreshes, eng.dest.metadata_refreshes
        assert after[0] > before[0] and after[1] > before[1], (before, after)
        assert pm.status.state.value == "MIRRORING"


def test_source_high_watermark_below_the_destination_end_waits(cluster3, destination, topic_name):
    """Finding 6: the source leader holds what the destination holds, but its high watermark
    lags (its followers are not fetching) for much longer than a second: not DIVERGED
    (terminal) but waiting, then exact once the high watermark moves on. About 40 s: the
    frozen follower must be fenced, then thawed and caught up again."""
    cluster3.create_topic(topic_name, partitions=1, replication_factor=2, configs={"min.insync.replicas": 2})
    destination.create_topic(topic_name, partitions=1, configs=MIRROR_TOPIC_CONFIGS)
    tp = (topic_name, 0)
    ts = int(time.time() * 1000)
    a, b = batch("a", ts), batch("b", ts)
    asyncio.run(write_batches(cluster3.bootstrap, tp, [a]))
    asyncio.run(write_batches(destination.bootstrap, tp, [a, b]))
    with high_watermark_held(cluster3, topic_name) as (leader, release):
        asyncio.run(write_batches(leader, tp, [b], acks=1))    # the leader's log: 10 offsets, high watermark 5
        cfg = link_config(cluster3, destination, names=[topic_name])
        cfg = dataclasses.replace(cfg, source=dataclasses.replace(
            cfg.source, bootstrap_servers=(leader,), request_timeout_ms=3000))
        with BackgroundEngine(engine_for(cfg)) as bg:
            pm_of = lambda: bg.engine.partitions.get(tp)   # noqa: E731
            wait_for(lambda: pm_of() is not None and (pm_of().status.state.value == "DIVERGED" or (
                pm_of().status.waiting is not None and "high watermark" in pm_of().status.waiting)),
                60, lambda: bg.engine.status_doc())
            time.sleep(3)    # three times the old 1 s allowance
            pm = pm_of()
            assert pm.status.state.value != "DIVERGED", pm.status.as_dict()
            assert "holds up to 10" in pm.status.waiting, pm.status.waiting
            release()
            wait_for(lambda: pm.status.state.value == "MIRRORING" and pm.acked_end == 10, 120,
                     lambda: bg.engine.status_doc())
            asyncio.run(write_batches(cluster3.bootstrap, tp, [batch("c", ts)]))
            wait_exact(cluster3, destination, [topic_name], timeout=60, min_records=15)


def test_destination_high_watermark_below_its_end_still_gets_the_prefix_check(source, cluster3, topic_name):
    """Finding 9: the first locate cannot read the destination's last batch (its high watermark
    lags its log end) and returns early; the locate that later adopts the data must still run
    the prefix check, which finds the first batch differs. About 40 s, as the test above."""
    source.create_topic(topic_name, partitions=1)
    cluster3.create_topic(topic_name, partitions=1, replication_factor=2,
                          configs={**MIRROR_TOPIC_CONFIGS, "min.insync.replicas": 2})
    tp = (topic_name, 0)
    ts = int(time.time() * 1000)
    a, other, b = batch("a", ts), batch("x", ts), batch("b", ts)
    asyncio.run(write_batches(source.bootstrap, tp, [a, b]))
    asyncio.run(write_batches(cluster3.bootstrap, tp, [other]))
    with high_watermark_held(cluster3, topic_name) as (leader, release):
        asyncio.run(write_batches(leader, tp, [b], acks=1))    # same last batch, different first one
        cfg = link_config(source, cluster3, names=[topic_name])
        cfg = dataclasses.replace(cfg, destination=dataclasses.replace(
            cfg.destination, bootstrap_servers=(leader,), request_timeout_ms=3000))
        with BackgroundEngine(engine_for(cfg)) as bg:
            pm_of = lambda: bg.engine.partitions.get(tp)   # noqa: E731
            wait_for(lambda: pm_of() is not None and pm_of().resync_needed and pm_of().status.dest_log_end == 10,
                     60, lambda: bg.engine.status_doc())
            time.sleep(1)    # a few early-returning locates
            pm = pm_of()
            assert pm.status.state.value == "PENDING", pm.status.as_dict()
            release()
            wait_for(lambda: pm.status.state.value == "FAILED", 45, lambda: bg.engine.status_doc())
            assert "not an exact prefix" in pm.status.reason and "offset 0" in pm.status.reason


def test_source_lost_offsets_for_real_is_diverged_at_start(cluster3, destination, topic_name):
    """Finding 6, the other side: an unclean election on the source lost offsets the
    destination holds; the source leader's log ends below the destination for the epoch, so
    the partition is DIVERGED at once, at the offset where the source's log ends. About 60 s:
    a real unclean failover (stop, kill -9, restart, elect) on the 3-node cluster."""
    cluster3.create_topic(topic_name, partitions=1, replication_factor=2, configs={"min.insync.replicas": 1})
    tp = (topic_name, 0)
    ts = int(time.time() * 1000)
    asyncio.run(write_batches(cluster3.bootstrap, tp, [batch("a", ts)] * 4))
    cfg = link_config(cluster3, destination, names=[topic_name])

    def only_on_the_leader() -> None:
        asyncio.run(write_batches(cluster3.bootstrap, tp, [batch("b", ts)] * 2, acks=1))
        asyncio.run(run_until(engine_for(cfg), caught_up({tp: 30}), 90))
    unclean_failover(cluster3, topic_name, 0, write=only_on_the_leader)
    asyncio.run(write_batches(cluster3.bootstrap, tp, [batch("c", ts)]))     # the new leader: 25 offsets

    async def diverged(engine) -> bool:
        pm = engine.partitions.get(tp)
        return pm is not None and pm.status.state.value == "DIVERGED"
    engine = engine_for(cfg)
    asyncio.run(run_until(engine, diverged, 90))
    st = engine.partitions[tp].status
    assert st.offset == 25 and "ends at 25" in st.reason and "30" in st.reason, st.as_dict()
