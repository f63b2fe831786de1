"""The compacted workload's bookkeeping, without brokers: the key plan and the mapping
between source offsets and retained records that the runner's rates go through."""
from __future__ import annotations

from kproto.records.batch import BatchView
from kproto.records.decode import iter_records

from benchmarks.replication import datagen
from benchmarks.replication.datagen import PartitionLayout
from benchmarks.replication.runner import Runner
from benchmarks.replication.workloads import Workload


def _cleaned_layout(batches: list[bytes]) -> PartitionLayout:
    """What a cleaner leaves of ``batches``: each key's last record; empty batches vanish."""
    recs = [r.key for b in batches for r in iter_records(BatchView(b))]
    last = {k: i for i, k in enumerate(recs)}
    kept = set(last.values())
    lay, total, pos = PartitionLayout(), 0, 0
    for b in batches:
        n = BatchView(b).record_count
        count = sum(1 for i in range(pos, pos + n) if i in kept)
        if count:
            total += count
            lay.bases.append(pos)
            lay.nexts.append(pos + n)
            lay.counts.append(total)
        pos += n
    return lay


def test_keys_spread_the_retained_records_over_each_partition():
    w = Workload("t", "lz4", 2, 20_000, record_bytes=100, batch_records=128, kind="compacted", keys=2_000)
    batches, distinct = datagen.compacted_batches(w)
    assert sum(BatchView(b).record_count for bs in batches.values() for b in bs) == 20_000
    for p, bs in batches.items():
        keys = {r.key for b in bs for r in iter_records(BatchView(b))}
        assert len(keys) == distinct[p] <= datagen.partition_keys(w, p)
        assert all(int(k[4:]) % w.partitions == p for k in keys)       # a key lives in one partition
        lay = _cleaned_layout(bs)
        assert lay.retained == distinct[p]
        # spread: every tenth of the partition holds about a tenth of the retained records
        n = datagen.partition_records(w, p)
        for i in range(10):
            share = lay.retained_below((i + 1) * n // 10) - lay.retained_below(i * n // 10)
            assert 0.05 * lay.retained < share < 0.15 * lay.retained, (p, i, share)


def test_offsets_and_records_map_both_ways():
    lay = PartitionLayout(bases=[0, 100, 300], nexts=[100, 200, 301], counts=[0, 10, 11])
    assert lay.retained == 11 and lay.end == 301
    assert lay.retained_below(100) == 0 and lay.retained_below(150) == 5 and lay.retained_below(250) == 10
    assert lay.retained_below(301) == 11
    assert lay.offset_after(5) == 150 and lay.offset_after(10) == 200 and lay.offset_after(11) == 301
    # a contender keeping offsets at 150 -> 301 moved 6 retained records; one copying records 5 -> 11, 151 offsets
    assert Runner._compacted_progress({0: lay}, True, {0: 150}, {0: 301}) == (6, 151)
    assert Runner._compacted_progress({0: lay}, False, {0: 5}, {0: 11}) == (6, 151)
