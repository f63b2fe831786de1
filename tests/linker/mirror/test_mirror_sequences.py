"""Sequence gaps of idempotent producers on compacted partitions, without brokers (pure functions).

The destination is modelled here by its sequence rule alone (the broker's
``ProducerAppendInfo.checkSequence``, restated independently of the linker):
same epoch: base sequence = last + 1 (0 after Int32.MAX); a new epoch starts
at 0; an unknown producer starts anywhere.
"""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from kproto.records import BatchView, NewRecord, build_batch
from linker.mirror.compacted import plan_compacted
from linker.mirror.rebuild import RebuiltBatch
from linker.mirror.sequences import ahead, gap
from linker.mirror.state import PartitionState

INT32_MAX = (1 << 31) - 1


def idem(base: int, n: int, pid: int = -1, epoch: int = -1, seq: int = -1, key: bytes = b"k") -> BatchView:
    """An uncleaned batch of ``n`` records at ``base``, of producer ``pid`` from sequence ``seq``."""
    recs = [NewRecord(b"v%d" % (base + i), key=key + b"%d" % (base + i), timestamp=1000 + base + i, offset_delta=i)
            for i in range(n)]
    return BatchView(build_batch(recs, base_offset=base, base_timestamp=1000 + base, producer_id=pid,
                                 producer_epoch=epoch, base_sequence=seq))


class Destination:
    """The destination's sequence rule and offsets, as the broker applies them."""

    def __init__(self, end: int, producers: dict[int, tuple[int, int]]) -> None:
        self.end = end
        self.producers = dict(producers)

    def append(self, b: BatchView) -> None:
        assert b.record_count == b.last_offset_delta + 1, "a client batch must be complete"
        assert b.base_offset == self.end, (b.base_offset, self.end)
        if b.producer_id >= 0:
            known = self.producers.get(b.producer_id)
            if known is not None:
                epoch, last = known
                assert b.producer_epoch >= epoch, "fenced"
                if b.producer_epoch != epoch:
                    assert b.base_sequence == 0, f"new epoch of {b.producer_id} must start at 0"
                else:
                    assert b.base_sequence == last + 1 or (b.base_sequence == 0 and last == INT32_MAX), \
                        f"producer {b.producer_id}: sequence {b.base_sequence} after {last}"
            self.producers[b.producer_id] = (b.producer_epoch,
                                             (b.base_sequence + b.last_offset_delta) % (INT32_MAX + 1))
        self.end = b.next_offset


def test_gap_follows_the_brokers_rule():
    assert gap(None, 0, 17) == (0, 0)                     # unknown producer: any sequence
    assert gap((0, 4), 0, 5) == (5, 0)                    # in sequence
    assert gap((0, 4), 0, 10) == (5, 5)
    assert gap((0, 4), 1, 3) == (0, 3)                    # a new epoch starts at 0
    assert gap((0, 4), 1, 0) == (0, 0)
    assert gap((2, 4), 1, 9) == (0, 0)                    # an older epoch: fenced whatever we do
    assert gap((0, INT32_MAX - 1), 0, 2) == (INT32_MAX, 3)  # wraps: MAX, 0, 1
    assert gap((0, 10), 0, 3) == (11, 0)                  # behind: not a gap
    assert ahead((0, 9), (0, 4)) and not ahead((0, 4), (0, 4)) and ahead((1, 0), (0, 99))
    assert ahead((0, 1), (0, INT32_MAX)) and not ahead((0, 3), (0, 9))


def test_a_vanished_batch_gives_its_sequences_to_the_fillers_and_the_next_batch_goes_verbatim():
    nxt = idem(10, 3, pid=7, epoch=0, seq=10)             # offsets 5..9 (sequences 5..9) vanished
    plan = plan_compacted([nxt], 5, {7: (0, 4)})
    assert plan.stop is None and plan.end == 13 and plan.queue[-1] is nxt
    fills = plan.queue[:-1]
    assert all(isinstance(f, RebuiltBatch) for f in fills)
    assert [(f.base_offset, f.producer_id, f.producer_epoch, f.base_sequence) for f in fills] == [(5, 7, 0, 5)]
    assert fills[0].last_offset == 9
    dest = Destination(5, {7: (0, 4)})
    for b in plan.queue:
        dest.append(b)
    assert plan.producers == dest.producers == {7: (0, 12)}


def test_several_producers_share_a_hole_earliest_next_batch_first_the_rest_stays_producerless():
    # Destination knows P=1 up to 4 and Q=2 up to 9; the hole 20..39 held 6 of P's and 3 of Q's
    # records and 11 of a non-idempotent client's.
    q_next = idem(40, 2, pid=2, epoch=0, seq=13)
    other = idem(42, 1)
    p_next = idem(43, 2, pid=1, epoch=3, seq=11)
    plan = plan_compacted([q_next, other, p_next], 20, {1: (3, 4), 2: (0, 9)})
    assert plan.stop is None and plan.end == 45
    assert [b for b in plan.queue if not isinstance(b, RebuiltBatch)] == [q_next, other, p_next]
    fills = [(f.base_offset, f.last_offset, f.producer_id, f.base_sequence) for f in plan.queue
             if isinstance(f, RebuiltBatch)]
    assert fills == [(20, 22, 2, 10), (23, 28, 1, 5), (29, 39, -1, -1)]
    dest = Destination(20, {1: (3, 4), 2: (0, 9)})
    for b in plan.queue:
        dest.append(b)


def test_a_new_epoch_fills_from_zero_and_the_wrap_fills_across_int32_max():
    bumped = idem(10, 1, pid=5, epoch=1, seq=2)
    wrapped = idem(20, 1, pid=6, epoch=0, seq=1)
    plan = plan_compacted([bumped, wrapped], 0, {5: (0, 40), 6: (0, INT32_MAX - 2)})
    dest = Destination(0, {5: (0, 40), 6: (0, INT32_MAX - 2)})
    for b in plan.queue:
        dest.append(b)
    assert plan.queue[-1] is wrapped and bumped in plan.queue
    assert dest.producers == {5: (1, 2), 6: (0, 1)}


def test_an_unknown_producer_needs_no_filler_sequences():
    nxt = idem(10, 1, pid=5, epoch=0, seq=99)
    plan = plan_compacted([nxt], 0, {})
    assert all(b.producer_id == -1 for b in plan.queue[:-1]) and plan.queue[-1] is nxt


def test_a_gap_with_no_hole_left_blocks_naming_the_producer_and_never_rebuilds_the_batch():
    first = idem(0, 2, pid=-1)
    nxt = idem(4, 2, pid=9, epoch=0, seq=20)              # 15 sequences vanished, 2 hole offsets
    plan = plan_compacted([first, nxt], 0, {9: (0, 4)})
    assert plan.queue == [first] and plan.end == 2
    assert plan.stop is not None and plan.stop.state is PartitionState.BLOCKED and plan.stop.offset == 2
    assert "producer 9" in plan.stop.reason and "sequence 20" in plan.stop.reason
    no_hole = plan_compacted([idem(2, 1, pid=9, epoch=0, seq=7)], 2, {9: (0, 4)})
    assert not no_hole.queue and no_hole.stop is not None and "producer 9" in no_hole.stop.reason


def test_a_hole_waits_for_a_known_producers_next_batch_until_the_look_ahead_is_full():
    other = idem(10, 1)                                   # hole 5..9 before a non-idempotent batch
    plan = plan_compacted([other], 5, {7: (0, 4)}, {7: (0, 12)})
    assert not plan.queue and plan.held == [other] and plan.end == 5
    nxt = idem(11, 3, pid=7, epoch=0, seq=10)             # the next fetch brings P's batch
    plan = plan_compacted([other, nxt], 5, {7: (0, 4)}, {7: (0, 12)})
    assert plan.stop is None and plan.end == 14 and plan.queue[-1] is nxt
    assert plan.queue[0].producer_id == 7 and plan.queue[0].base_sequence == 5
    gone = plan_compacted([other], 5, {7: (0, 4)}, {7: (0, 4)})   # the source has nothing later of P
    assert gone.end == 11 and not gone.held
    full = plan_compacted([other], 5, {7: (0, 4)}, {7: (0, 12)}, look_ahead_full=True)
    assert full.end == 11 and full.unresolved == {7}


@st.composite
def logs(draw):
    """A source log of interleaved producers (some epochs bumped), a mirrored prefix, whole
    batches vanished after it (never a producer's last batch, never the log's last batch),
    and the fetches that bring the rest."""
    n = draw(st.integers(2, 14))
    seqs: dict[int, tuple[int, int]] = {}
    batches: list[BatchView] = []
    off = 0
    for _ in range(n):
        pid = draw(st.sampled_from([-1, 1, 2, 3]))
        size = draw(st.integers(1, 4))
        if pid < 0:
            batches.append(idem(off, size))
        else:
            epoch, nxt = seqs.get(pid, (0, draw(st.sampled_from([0, INT32_MAX - 3]))))
            if pid in seqs and draw(st.booleans()) and draw(st.booleans()):
                epoch, nxt = epoch + 1, 0
            batches.append(idem(off, size, pid=pid, epoch=epoch, seq=nxt))
            seqs[pid] = (epoch, (nxt + size) % (INT32_MAX + 1))
        off += size
    mirrored = draw(st.integers(0, n - 1))
    last_of = {b.producer_id: i for i, b in enumerate(batches)}
    keep = {i for i in range(n) if i < mirrored or i == n - 1 or last_of.get(batches[i].producer_id) == i
            or batches[i].producer_id < 0 and draw(st.booleans()) or draw(st.booleans())}
    retained = [b for i, b in enumerate(batches) if i in keep and i >= mirrored]
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(retained) - 1)), max_size=3)))
    return batches, mirrored, retained, cuts


def _state_of(batches: list[BatchView]) -> dict[int, tuple[int, int]]:
    out: dict[int, tuple[int, int]] = {}
    for b in batches:
        if b.producer_id >= 0:
            out[b.producer_id] = (b.producer_epoch, (b.base_sequence + b.last_offset_delta) % (INT32_MAX + 1))
    return out


@settings(max_examples=300, deadline=None)
@given(logs())
def test_vanished_batches_of_interleaved_producers_never_make_an_uncleaned_batch_rebuilt(case):
    batches, mirrored, retained, cuts = case
    start = batches[mirrored - 1].next_offset if mirrored else 0
    dest_state = _state_of(batches[:mirrored])
    dest = Destination(start, dest_state)
    source_state = _state_of(batches)
    known, expected, held = dict(dest_state), start, []
    fetches = [retained[a:b] for a, b in zip([0] + cuts, cuts + [len(retained)])]
    queued: list[BatchView] = []
    for k, fetch in enumerate(fetches):
        entries = held + fetch
        plan = plan_compacted(entries, expected, known, source_state, look_ahead_full=k == len(fetches) - 1)
        assert plan.stop is None, plan.stop
        assert not plan.unresolved
        queued += plan.queue
        known, expected, held = plan.producers, plan.end, plan.held
    assert not held and expected == batches[-1].next_offset
    for b in queued:
        dest.append(b)
    assert dest.producers == known
    by_id = {id(b) for b in queued}
    assert all(id(b) in by_id for b in retained)                            # verbatim: the source's own bytes
    assert not any(isinstance(b, RebuiltBatch) and b.fillers != b.record_count for b in queued)


def test_queueing_holds_a_hole_until_the_next_batch_or_the_source_high_watermark():
    from linker.mirror.compacted import queue_compacted
    from linker.mirror.table import PartitionTable
    table = PartitionTable(1 << 20, 1 << 20)
    pm = table.add(("t", 0))
    pm.compacted, pm.next_fetch = True, 5
    pm.dest_producers, pm.source_producers = {7: (0, 4)}, {7: (0, 12)}
    pm.status.source_high_watermark = 20
    frame = table.charge_frame(100)
    assert not queue_compacted(table, pm, [idem(10, 1)], frame)          # P's next batch not fetched yet
    assert [b.base_offset for b in pm.held] == [10] and pm.held_from == 5 and pm.next_fetch == 11
    held = pm.held[0]
    assert queue_compacted(table, pm, [idem(11, 3, pid=7, epoch=0, seq=10)], frame)
    queued = [item for item, _ in pm.queue]
    assert [(q.base_offset, q.producer_id, q.base_sequence) for q in queued] == \
        [(5, 7, 5), (10, -1, -1), (11, 7, 10)] and queued[1] is held
    assert pm.dest_producers == {7: (0, 12)} and not pm.held
    table.drop_queue(pm)
    pm.dest_producers, pm.next_fetch, pm.held_from = {7: (0, 4)}, 5, 5
    pm.status.source_high_watermark = 11                                 # nothing more to look at
    assert queue_compacted(table, pm, [idem(10, 1)], frame)
    assert not pm.held and [item.base_offset for item, _ in pm.queue] == [5, 10]
    table.release(frame)
