"""The replayed-batch comparison (``compare.replayed_problem``) and ``replay_problem``, on built batches."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kproto.records import BatchView, ControlType, build_batch, build_control_batch, rewrite_header
from linker.mirror.compare import compare_batches
from linker.mirror.transactions import PartitionTxns, Slot, replay_problem
from linker.client import ProducerIdAndEpoch


def _txn(values: list[bytes], pid: int = 7, epoch: int = 0, seq: int = 0, base: int = 10) -> BatchView:
    return BatchView(build_batch(values, producer_id=pid, producer_epoch=epoch, base_sequence=seq,
                                 transactional=True, base_offset=base, base_timestamp=1000))


def _marker(ctype: ControlType, pid: int = 7, base: int = 12, ts: int = 2000, epoch: int = 0) -> BatchView:
    return BatchView(build_control_batch(ctype, coordinator_epoch=epoch, producer_id=pid, producer_epoch=0,
                                         base_offset=base, timestamp=ts))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=40), min_size=1, max_size=5), st.integers(0, 2**40), st.integers(0, 30000),
       st.integers(0, 2**30))
def test_a_restamped_batch_equals_its_source(values, pid, epoch, seq):
    src = _txn(values)
    header, payload = rewrite_header(src, producer_id=pid, producer_epoch=epoch, base_sequence=seq)
    raw = bytearray(header + bytes(payload))
    raw[0:8] = src.base_offset.to_bytes(8, "big")
    dst = BatchView(bytes(raw))
    assert dst.crc_valid() and dst.producer_id == pid
    assert compare_batches(src, dst) is None


def test_record_and_marker_differences_are_named():
    src = _txn([b"a", b"b"])
    assert "differ" in compare_batches(src, _txn([b"a", b"c"], pid=99))
    assert compare_batches(src, _txn([b"a", b"b"], pid=99, epoch=3, seq=40)) is None
    plain = BatchView(build_batch([b"a", b"b"], base_offset=10, base_timestamp=1000))
    assert "not" in compare_batches(src, plain)
    commit = _marker(ControlType.COMMIT)
    # Another producer, timestamp and coordinator epoch: the same marker for a reader.
    assert compare_batches(commit, _marker(ControlType.COMMIT, pid=99, ts=5000, epoch=4)) is None
    assert "COMMIT" in compare_batches(commit, _marker(ControlType.ABORT, pid=99))
    assert "marker" in compare_batches(commit, BatchView(build_batch([b"x"], base_offset=12)))


def test_replayable_batches_and_the_pool_order():
    assert replay_problem(_txn([b"a"])) is None and replay_problem(_marker(ControlType.ABORT)) is None
    pool = PartitionTxns()
    assert pool.free_index() == 0
    pool.slots[0] = Slot("id-0", ProducerIdAndEpoch(1, 0), source_pid=5)
    pool.skipped.add(1)
    assert pool.free_index() == 2 and pool.of_source(5) is pool.slots[0] and pool.open == 1
    pool.slots[0].source_pid = None
    assert pool.free_index() == 0
