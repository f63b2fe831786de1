"""A source leader move learnt from a metadata refresh the locator did not make."""
from __future__ import annotations

import asyncio
import time


from kafkabed.broker_faults import move_leader
from kproto.records import build_batch

from ...checker import wait_exact
from .helpers import BackgroundEngine, engine_for, link_config, write_batches

# The first periodic refresh (metadata_refresh_ms) is set out of reach: only following the
# move itself can make the mirror exact. Following it takes about a second.
EXACT_WITHIN_S = 15


def batch(prefix: str, ts: int) -> bytes:
    return bytes(build_batch([b"%s%d" % (prefix.encode(), i) for i in range(5)], base_timestamp=ts))


def test_moved_partition_is_fetched_while_the_old_leader_still_leads_another(cluster3, destination, topic_name):
    """Both partitions are led by one broker; partition 1's leader moves. Followers serve
    consumer fetches, so the fetcher sees no error; the move shows up in a refresh made
    elsewhere (here directly; in `linker run` the client's own, after a request of the lag
    watch or the auditor is fenced by the leader epoch). The old leader's fetch loop still leads partition 0 and
    runs on, dropping partition 1: a loop for the new leader must start at once, not at the
    next periodic refresh (before the fix: 28 s after a move during `linker run`'s first 2 s)."""
    nodes = [b.node_id for b in cluster3.brokers]
    cluster3.create_topic(topic_name, assignments={0: nodes, 1: nodes})
    deadline = time.monotonic() + 30
    while cluster3.partition_leaders(topic_name) != {0: nodes[0], 1: nodes[0]}:
        assert time.monotonic() < deadline, cluster3.partition_leaders(topic_name)
        time.sleep(0.2)
    ts = int(time.time() * 1000)
    for p in (0, 1):
        asyncio.run(write_batches(cluster3.bootstrap, (topic_name, p), [batch("a", ts)]))
    cfg = link_config(cluster3, destination, names=[topic_name], metadata_refresh_ms=600_000)
    with BackgroundEngine(engine_for(cfg)) as bg:
        bg.wait_caught_up(cfg.source, 10)
        move_leader(cluster3, topic_name, 1, to_node=nodes[1])
        asyncio.run_coroutine_threadsafe(bg.engine.source.refresh_metadata(), bg._loop).result(10)
        assert bg.engine.source.leader((topic_name, 1)) == nodes[1]
        asyncio.run(write_batches(cluster3.bootstrap, (topic_name, 1), [batch("b", ts)]))
        wait_exact(cluster3, destination, [topic_name], timeout=EXACT_WITHIN_S, min_records=15)
