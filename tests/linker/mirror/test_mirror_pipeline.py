"""When a partition may have several produces in flight (``pipeline.py``), without brokers:
only a contiguous run of one idempotent producer anchored on the batch acknowledged last."""
from __future__ import annotations

from kproto.records.batch import BatchView
from kproto.records.builder import build_batch
from linker.mirror.pipeline import MAX_DEPTH, AckedMark, mark_of, may_follow
from linker.mirror.state import PartitionState
from linker.mirror.table import PartitionTable

MIB = 1024 * 1024
INT_MAX = 0x7FFFFFFF


def idem(base: int, seq: int, n: int = 2, pid: int = 7, epoch: int = 0, txn: bool = False) -> BatchView:
    return BatchView(build_batch([b"v%d" % i for i in range(n)], base_offset=base, producer_id=pid,
                                 producer_epoch=epoch, base_sequence=seq, transactional=txn))


def plain(base: int, n: int = 2) -> BatchView:
    return BatchView(build_batch([b"v%d" % i for i in range(n)], base_offset=base))


def run(start: int, count: int, **kw) -> list[BatchView]:
    """``count`` contiguous 2-record batches of one producer, from offset/sequence ``start``."""
    return [idem(start + 2 * i, start + 2 * i, **kw) for i in range(count)]


def test_a_contiguous_run_anchored_on_the_acknowledged_batch_may_follow():
    acked = mark_of(idem(0, 0))
    assert acked == AckedMark(7, 0, 1, 2)
    batches = run(2, 3)
    assert may_follow(acked, 2, batches[:1], batches[1])
    assert may_follow(acked, 2, batches[:2], batches[2])


def test_nothing_may_follow_without_the_anchor_at_the_log_end():
    batches = run(2, 2)
    assert not may_follow(None, 2, batches[:1], batches[1])             # nothing acknowledged this run
    assert not may_follow(mark_of(idem(0, 0)), 4, batches[:1], batches[1])   # the end moved (a locate)
    assert not may_follow(mark_of(plain(0)), 2, batches[:1], batches[1])     # last acked not idempotent
    assert not may_follow(mark_of(idem(0, 0, pid=8)), 2, batches[:1], batches[1])   # another producer
    assert not may_follow(mark_of(idem(0, 0)), 2, [], batches[0])        # nothing in flight: not a follower


def test_a_gap_a_new_producer_or_epoch_a_plain_or_transactional_batch_breaks_the_run():
    acked = mark_of(idem(0, 0))
    first = idem(2, 2)
    assert not may_follow(acked, 2, [first], idem(4, 5))                 # sequence gap
    assert not may_follow(acked, 2, [first], idem(4, 4, pid=8))           # producer change
    assert not may_follow(acked, 2, [first], idem(4, 4, epoch=1))         # epoch change
    assert not may_follow(acked, 2, [first], plain(4))                     # not idempotent
    assert not may_follow(acked, 2, [first], idem(4, 4, txn=True))        # transactional: replayed apart
    assert not may_follow(acked, 2, [idem(2, 3)], idem(4, 5))             # flight not anchored on acked


def test_the_run_is_at_most_five_deep():
    acked = mark_of(idem(0, 0))
    batches = run(2, MAX_DEPTH + 1)
    assert MAX_DEPTH == 5
    assert may_follow(acked, 2, batches[:MAX_DEPTH - 1], batches[MAX_DEPTH - 1])
    assert not may_follow(acked, 2, batches[:MAX_DEPTH], batches[MAX_DEPTH])


def test_sequences_wrap_from_int_max_to_zero_as_the_broker_counts_them():
    before = idem(0, INT_MAX - 1)                 # sequences INT_MAX-1, INT_MAX
    acked = mark_of(before)
    assert acked.last_sequence == INT_MAX
    first, second = idem(2, 0), idem(4, 2)
    assert may_follow(acked, 2, [first], second)
    assert not may_follow(acked, 2, [idem(2, 1)], idem(4, 3))


def test_the_table_sends_a_follower_while_its_run_is_in_flight_and_not_after_a_failure():
    table = PartitionTable(10 * MIB, MIB)
    pm = table.add(("t", 0))
    table.move(pm, PartitionState.MIRRORING)
    pm.acked_end, pm.acked_mark = 2, mark_of(idem(0, 0))
    frame = table.charge_frame(1000)
    first, second, third = run(2, 3)
    for b in (first, second, third):
        table.enqueue(pm, b, frame)
    table.release(frame)
    assert table.produce_round() == [pm]
    table.start_produce(pm)
    assert table.produce_round() == [pm]            # the second may follow the first
    table.start_produce(pm)
    assert [b for b, _ in pm.flight] == [first, second] and pm.produced_end == second.next_offset
    pm.flight_broken = True                         # an answer of the run failed
    assert table.produce_round() == []
    assert table.end_produce(pm, second) is second   # answers are released by batch
    assert table.end_produce(pm) is first and not pm.flight
    assert table.budget.used == 1000                # the third still pins the frame


def test_the_table_keeps_one_in_flight_for_plain_batches():
    table = PartitionTable(10 * MIB, MIB)
    pm = table.add(("t", 0))
    table.move(pm, PartitionState.MIRRORING)
    frame = table.charge_frame(1000)
    table.enqueue(pm, plain(0), frame)
    table.enqueue(pm, plain(2), frame)
    table.release(frame)
    assert table.produce_round() == [pm]
    table.start_produce(pm)
    assert table.produce_round() == []


def test_partitions_spread_over_the_configured_produce_lanes():
    """mirror.produce_lanes: partitions are pinned round-robin, each to one lane for good."""
    from linker.mirror.producer import Producer
    from linker.settings import MirrorSettings
    for lanes in (1, 2, 3):
        producer = Producer.__new__(Producer)   # only the pinning, no clusters
        producer.settings, producer._lanes = MirrorSettings(produce_lanes=lanes), {}
        pinned = [producer._lane_of(("t", p)) for p in range(7)]
        assert pinned == [p % lanes for p in range(7)]
        assert [producer._lane_of(("t", p)) for p in range(7)] == pinned
