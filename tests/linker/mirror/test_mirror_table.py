"""The partition table without brokers: states, queues, the frame-charged byte
budget and the round-robin produce order."""
from __future__ import annotations

import asyncio

from kproto.records.batch import BatchView
from kproto.records.builder import build_batch
from linker.mirror.state import PartitionState
from linker.mirror.table import PartitionTable

MIB = 1024 * 1024


def batch(base: int, n: int = 2) -> BatchView:
    return BatchView(build_batch([b"v%d" % i for i in range(n)], base_offset=base))


def mirroring(table: PartitionTable, tp: tuple[str, int]):
    pm = table.add(tp)
    table.move(pm, PartitionState.MIRRORING)
    return pm


def test_a_frame_is_charged_until_its_last_batch_is_acknowledged():
    table = PartitionTable(10 * MIB, MIB)
    a, b = mirroring(table, ("t", 0)), mirroring(table, ("t", 1))
    frame = table.charge_frame(5000)
    table.enqueue(a, batch(0), frame)
    table.enqueue(b, batch(0), frame)
    table.release(frame)                      # the reader is done; two batches still pin it
    assert table.budget.used == 5000
    [first, second] = table.produce_round()
    table.start_produce(first)
    table.end_produce(first)
    assert table.budget.used == 5000          # the other batch still pins the frame
    table.start_produce(second)
    table.end_produce(second)
    assert table.budget.used == 0
    assert a.queued_bytes == b.queued_bytes == 0


def test_a_frame_with_nothing_kept_is_given_back_at_once():
    table = PartitionTable(10 * MIB, MIB)
    table.release(table.charge_frame(4096))
    assert table.budget.used == 0


def test_dropping_a_queue_releases_its_frames_and_a_terminal_state_drops_it():
    table = PartitionTable(10 * MIB, MIB)
    pm = mirroring(table, ("t", 0))
    f1, f2 = table.charge_frame(1000), table.charge_frame(2000)
    table.enqueue(pm, batch(0), f1)
    table.enqueue(pm, batch(2), f2)
    table.release(f1)
    table.release(f2)
    assert table.budget.used == 3000
    table.move(pm, PartitionState.FAILED, "test")
    assert table.budget.used == 0 and not pm.queue and pm.queued_bytes == 0
    assert table.produce_round() == []


def test_round_robin_serves_one_batch_per_partition_per_round():
    table = PartitionTable(10 * MIB, MIB)
    pms = [mirroring(table, ("t", i)) for i in range(3)]
    frame = table.charge_frame(100)
    for pm in pms:
        table.enqueue(pm, batch(0), frame)
        table.enqueue(pm, batch(2), frame)
    round1 = table.produce_round()
    assert [pm.tp for pm in round1] == [("t", 0), ("t", 1), ("t", 2)]
    for pm in round1:
        assert table.start_produce(pm).base_offset == 0
    assert table.produce_round() == []        # one in flight per partition
    table.end_produce(pms[1])
    assert [pm.tp for pm in table.produce_round()] == [("t", 1)]


def test_a_blocker_blocks_after_the_queue_drains():
    table = PartitionTable(10 * MIB, MIB)
    pm = mirroring(table, ("t", 0))
    frame = table.charge_frame(100)
    table.enqueue(pm, batch(0), frame)
    table.block_after_queue(pm, 2, "compacted gap")
    assert pm.fetch_done and not pm.wants_fetch
    [ready] = table.produce_round()
    assert table.start_produce(ready).next_offset == 2
    table.end_produce(ready)
    assert table.produce_round() == []
    assert pm.status.state is PartitionState.BLOCKED and pm.status.offset == 2


def test_fetch_targets_respect_the_partition_share_and_the_leader():
    table = PartitionTable(4 * MIB, MIB)
    hot, cold = mirroring(table, ("t", 0)), mirroring(table, ("t", 1))
    other = mirroring(table, ("u", 0))
    leaders = {("t", 0): 1, ("t", 1): 1, ("u", 0): 2}
    frame = table.charge_frame(3 * MIB)
    hot.queued_bytes = 2 * MIB                # over its share (4 MiB / 3 partitions, at least 1 MiB)
    targets, leads = table.fetch_targets(1, leaders.__getitem__)
    assert set(targets) == {("t", 1)} and leads
    assert table.fetch_leaders(leaders.__getitem__) == {1, 2}
    table.release(frame)
    del hot, cold, other


def test_pause_and_resume_hand_partitions_to_the_locator():
    async def go():
        table = PartitionTable(10 * MIB, MIB)
        pm = mirroring(table, ("t", 0))
        frame = table.charge_frame(100)
        table.enqueue(pm, batch(0), frame)
        table.release(frame)
        table.pause("t")
        assert pm.paused and not pm.queue and table.budget.used == 0 and not pm.active
        assert table.add(("t", 1)).paused       # a partition joining a paused topic starts paused
        table.resume("t")
        assert pm.resync_needed and table.resync_wanted.is_set()
        ready, waiting = table.needs_resync()
        assert [p.tp for p in ready] == [("t", 0), ("t", 1)] and not waiting
    asyncio.run(go())


def test_stop_is_final():
    table = PartitionTable(10 * MIB, MIB)
    pm = mirroring(table, ("t", 0))
    table.stop("t", "promoted")
    table.move(pm, PartitionState.FAILED, "late news")
    assert pm.status.state is PartitionState.STOPPED and pm.status.reason == "promoted"
