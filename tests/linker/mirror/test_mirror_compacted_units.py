"""Planning and rebuilding compacted ranges, without brokers (pure functions)."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from kproto.records import BatchView, Codec, ControlType, NewRecord, build_batch, build_control_batch, iter_records
from linker.mirror.compacted import plan_compacted
from linker.mirror.rebuild import RebuiltBatch, rebuild_range
from linker.mirror.recordwise import compare_window
from linker.mirror.compare import compare_batches
from linker.mirror.state import PartitionState


def batch(base: int, span: int, kept: dict[int, tuple[bytes, bytes | None]], codec=Codec.NONE,
          **kw) -> BatchView:
    """A batch of offsets base..base+span-1 holding only ``kept`` {offset: (key, value)}."""
    recs = [NewRecord(v, key=k, timestamp=1000 + o, offset_delta=o - base, headers=[("h", str(o).encode())])
            for o, (k, v) in sorted(kept.items())]
    return BatchView(build_batch(recs, codec=codec, base_offset=base, base_timestamp=1000 + base,
                                 last_offset_delta=span - 1, record_count=len(recs), **kw))


def full(base: int, n: int) -> BatchView:
    return batch(base, n, {o: (b"k%d" % o, b"v%d" % o) for o in range(base, base + n)})


def records_of(batches) -> dict[int, tuple]:
    out = {}
    for b in batches:
        for r in iter_records(b):
            out[r.offset] = (r.key, r.value, r.headers, r.timestamp)
    return out


def state(records: dict[int, tuple], start: int = 0) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    for off in sorted(records):
        if off < start:
            continue
        k, v = records[off][:2]
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def test_uncleaned_batches_go_verbatim_and_a_gap_gets_copies_of_the_next_record():
    a, b = full(0, 3), full(10, 2)          # offsets 3..9 were compacted away with their batches
    plan = plan_compacted([a, b], 0)
    assert plan.stop is None and plan.end == 12 and not plan.held
    assert plan.queue[0] is a and plan.queue[-1] is b   # never rebuilt: the source's own bytes
    gap = plan.queue[1:-1]
    assert all(isinstance(g, RebuiltBatch) for g in gap)
    assert (gap[0].base_offset, gap[-1].next_offset) == (3, 10)
    assert all(g.record_count == g.last_offset_delta + 1 and g.producer_id == -1 for g in gap)
    copies = records_of(gap)
    assert set(copies) == set(range(3, 10))
    assert all(c == records_of([b])[10] for c in copies.values())


def test_a_cleaned_batch_is_rebuilt_with_its_bounds_codec_and_retained_records():
    src = batch(5, 6, {6: (b"a", b"1"), 8: (b"b", None)}, codec=Codec.ZSTD)
    nxt = full(11, 1)
    plan = plan_compacted([src, nxt], 5)
    rebuilt = plan.queue[0]
    assert isinstance(rebuilt, RebuiltBatch) and rebuilt.codec is Codec.ZSTD
    assert (rebuilt.base_offset, rebuilt.last_offset, rebuilt.record_count) == (5, 10, 6)
    assert rebuilt.fillers == 4 and rebuilt.crc == BatchView(bytes(rebuilt.buffer)).crc
    got, kept = records_of([rebuilt]), records_of([src])
    for off, rec in kept.items():
        assert got[off] == rec                                  # offset, key, value, headers, timestamp
    assert got[5] == kept[6] and got[7] == kept[8]              # a hole copies the next retained record
    assert got[9] == got[10] == records_of([nxt])[11]           # the tail copies the next batch's first record
    assert plan.queue[1] is nxt


def test_trailing_holes_wait_for_the_next_record():
    src = batch(0, 4, {1: (b"a", b"1")})
    plan = plan_compacted([src], 0)
    assert plan.queue == [] and plan.held == [src] and plan.end == 0 and plan.stop is None
    empty = batch(4, 2, {})                      # kept empty (last batch of its producer)
    plan = plan_compacted([src, empty, full(6, 1)], 0)
    assert plan.end == 7 and not plan.held and sum(b.record_count for b in plan.queue) == 7


def test_resuming_inside_a_cleaned_batch_rebuilds_only_the_rest():
    src = batch(0, 10, {2: (b"a", b"1"), 9: (b"b", b"2")})
    plan = plan_compacted([src], 4)
    assert (plan.queue[0].base_offset, plan.end) == (4, 10)
    assert records_of(plan.queue)[9] == records_of([src])[9]


def test_a_partial_uncleaned_batch_fails():
    plan = plan_compacted([full(0, 5)], 2)
    assert plan.stop.state is PartitionState.FAILED


def txn_batch(base: int, span: int, kept: dict[int, tuple[bytes, bytes | None]], pid: int = 7) -> BatchView:
    return batch(base, span, kept, producer_id=pid, producer_epoch=3, base_sequence=0, transactional=True)


def marker(base: int, pid: int = 7, ctype: ControlType = ControlType.COMMIT) -> BatchView:
    return BatchView(build_control_batch(ctype, coordinator_epoch=0, producer_id=pid, producer_epoch=3,
                                         base_offset=base))


def empty_marker(base: int, pid: int = 7) -> BatchView:
    """A marker the cleaner discarded but kept empty (its producer's last batch, RETAIN_EMPTY)."""
    return BatchView(build_batch([], base_offset=base, producer_id=pid, producer_epoch=3, transactional=True,
                                 control=True, last_offset_delta=0, record_count=0, base_timestamp=1000))


def membership(plan) -> list[tuple[int, int, bool, int]]:
    """(base, next, transactional, producer id) of each planned batch."""
    return [(b.base_offset, b.next_offset, b.is_transactional, b.producer_id) for b in plan.queue]


def test_uncleaned_transactional_batches_and_markers_go_as_they_are_and_fillers_join_the_copied_transaction():
    """Holes before a transactional batch copy its first record inside its transaction (so they are
    hidden from read_committed readers if it aborts); the batch and the marker go verbatim."""
    t = txn_batch(3, 2, {3: (b"a", b"1"), 4: (b"b", b"2")})
    m = marker(5)
    plan = plan_compacted([full(0, 2), t, m], 0)
    assert plan.stop is None and plan.end == 6
    assert membership(plan) == [(0, 2, False, -1), (2, 3, True, 7), (3, 5, True, 7), (5, 6, True, 7)]
    assert plan.queue[2] is t and plan.queue[3] is m
    assert records_of(plan.queue[1:2])[2][:2] == (b"a", b"1")
    assert plan.producers == {}        # the source's transactional producer is never the destination's


def test_holes_before_a_marker_copy_the_next_data_record_and_its_transaction():
    m = marker(4, pid=7, ctype=ControlType.ABORT)
    t = txn_batch(5, 1, {5: (b"k", b"v")}, pid=8)
    plan = plan_compacted([full(0, 2), m, t], 0)
    assert membership(plan) == [(0, 2, False, -1), (2, 4, True, 8), (4, 5, True, 7), (5, 6, True, 8)]
    plain = full(5, 1)
    plan = plan_compacted([full(0, 2), m, plain], 0)
    assert membership(plan)[1] == (2, 4, False, -1)
    assert plan_compacted([full(0, 2), m], 0).held      # the record to copy is not fetched yet


def test_a_cleaned_transactional_batch_is_rebuilt_in_its_transaction_and_its_tail_in_the_next_one():
    cleaned = txn_batch(0, 5, {1: (b"a", b"1"), 2: (b"b", b"2")}, pid=7)
    nxt = txn_batch(6, 1, {6: (b"c", b"3")}, pid=8)
    plan = plan_compacted([cleaned, marker(5, pid=7), nxt], 0)
    assert plan.stop is None
    assert membership(plan) == [(0, 3, True, 7), (3, 5, True, 8), (5, 6, True, 7), (6, 7, True, 8)]
    got = records_of(plan.queue)
    assert [got[o][:2] for o in range(5)] == [(b"a", b"1"), (b"a", b"1"), (b"b", b"2"), (b"c", b"3"), (b"c", b"3")]


def test_batches_the_cleaner_emptied_are_holes():
    """An empty marker and an empty transactional batch (kept as their producer's last) become
    fillers; a cleaned plain batch before a transactional record keeps its records plain."""
    empty_txn = txn_batch(2, 2, {}, pid=9)
    plain_cleaned = batch(0, 2, {0: (b"x", b"0")})
    t = txn_batch(6, 1, {6: (b"k", b"v")})
    plan = plan_compacted([plain_cleaned, empty_txn, empty_marker(4, pid=9), t], 0)
    assert plan.stop is None and plan.end == 7
    assert membership(plan) == [(0, 1, False, -1), (1, 2, True, 7), (2, 4, True, 7), (4, 5, True, 7),
                                (5, 6, True, 7), (6, 7, True, 7)]


def test_large_fillers_are_cut_into_batches():
    big = full(100, 1)
    out = rebuild_range(0, 100, [], next(iter(iter_records(big))), Codec.NONE, chunk_bytes=1000)
    assert len(out) > 1 and out[0].base_offset == 0 and out[-1].next_offset == 100
    assert all(a.next_offset == b.base_offset for a, b in zip(out, out[1:]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=1, max_size=40), st.data())
def test_any_cleaning_rebuilds_to_the_same_state_from_every_offset(writes, data):
    """Clean a log like the broker (keep each key's last record; the last record always stays),
    then rebuild: every retained record is in place, and from every start offset the
    rebuilt log gives the same key->value state as the cleaned one."""
    log = {o: (b"k%d" % k, None if tomb else b"v%d" % o) for o, (k, tomb) in enumerate(writes)}
    last = {k: o for o, (k, _) in log.items()}
    kept = {o: kv for o, kv in log.items() if last[kv[0]] == o}
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(log) - 1), max_size=4)) if len(log) > 1 else []))
    bounds = list(zip([0, *cuts], [*cuts, len(log)]))
    batches = [batch(lo, hi - lo, {o: kv for o, kv in kept.items() if lo <= o < hi}) for lo, hi in bounds]
    fetched = [b for b in batches if b.record_count]          # emptied batches vanish
    plan = plan_compacted(fetched, 0)
    assert plan.stop is None and plan.end == len(log) and not plan.held
    got = records_of(plan.queue)
    assert set(got) == set(range(len(log)))
    source = records_of(fetched)
    assert all(got[o] == r for o, r in source.items())
    for start in range(len(log)):
        assert state(got, start) == state(source, start)
    assert compare_window(fetched, plan.queue, 0, len(log), compare_batches)[0] is None


def test_record_comparison_allows_cleaner_holes_only_and_keeps_uncleaned_batches_byte_exact():
    src = [batch(0, 4, {1: (b"a", b"1"), 3: (b"b", b"2")})]
    same = [batch(0, 4, {0: (b"a", b"1"), 1: (b"a", b"1"), 2: (b"b", b"2"), 3: (b"b", b"2")})]
    assert compare_window(src, same, 0, 4, compare_batches)[0] is None
    changed = [batch(0, 4, {0: (b"a", b"1"), 1: (b"a", b"X"), 2: (b"b", b"2"), 3: (b"b", b"2")})]
    assert "value differs" in compare_window(src, changed, 0, 4, compare_batches)[0]
    lost = [batch(0, 4, {0: (b"a", b"1"), 1: (b"a", b"1"), 2: (b"b", b"2")})]
    assert compare_window(src, lost, 0, 4, compare_batches)[0] is None     # destination cleaned: a hole there
    kv = {o: (b"k%d" % o, b"v%d" % o) for o in range(4)}
    same_records_other_bytes = [batch(0, 4, kv, codec=Codec.GZIP)]
    assert "CRC" in compare_window([batch(0, 4, kv)], same_records_other_bytes, 0, 4, compare_batches)[0]


def test_held_batches_wait_for_the_next_fetch_without_pinning_its_frame():
    from linker.mirror.compacted import queue_compacted
    from linker.mirror.table import PartitionTable
    table = PartitionTable(1 << 20, 1 << 20)
    pm = table.add(("t", 0))
    pm.compacted = True
    first = table.charge_frame(100)
    assert not queue_compacted(table, pm, [batch(0, 4, {1: (b"a", b"1")})], first)
    table.release(first)
    # the held copy no longer pins the frame; its own bytes are charged to the budget instead
    assert len(pm.held) == 1 and pm.next_fetch == 4 and table.budget.used == pm.held_bytes == pm.held[0].size
    nxt = full(4, 2)
    second = table.charge_frame(100)
    assert queue_compacted(table, pm, [nxt], second)
    queued = [item for item, _ in pm.queue]
    assert [q.base_offset for q in queued] == [0, 4] and queued[1] is nxt and not pm.held
    assert records_of(queued[:1])[3] == records_of([nxt])[4]
    table.release(second)
    assert table.budget.used == 100            # resolved: the held copy's charge went back (the second
    table.keep_held(pm, [queued[0]])           # frame stays charged while its batch is queued)
    assert table.budget.used == 100 + queued[0].size
    table.drop_queue(pm)                       # a resync forgets held batches too
    assert not pm.held and table.budget.used == 0


def test_a_rebuilt_idempotent_batch_keeps_its_producer_and_last_sequence_gap_fillers_none():
    src = batch(10, 50, {12: (b"a", b"1" * 200), 40: (b"b", b"2")}, producer_id=9, producer_epoch=3,
                base_sequence=2_147_483_640)                 # the sequence wraps inside the batch
    plan = plan_compacted([src, full(60, 1)], 0)
    gap = [b for b in plan.queue if b.base_offset < 10]
    rebuilt = [b for b in plan.queue if 10 <= b.base_offset < 60]
    assert all(g.producer_id == -1 and g.base_sequence == -1 for g in gap)
    assert all((b.producer_id, b.producer_epoch) == (9, 3) for b in rebuilt)
    last = rebuilt[-1]
    assert (last.base_sequence + last.last_offset_delta) % (1 << 31) == (src.base_sequence + 49) % (1 << 31)
    chunks = rebuild_range(10, 60, list(iter_records(src)), next(iter(iter_records(src))), Codec.NONE,
                           producer=(9, 3, 5), chunk_bytes=300)
    assert len(chunks) > 1
    assert [c.base_sequence for c in chunks] == [5 + c.base_offset - 10 for c in chunks]
