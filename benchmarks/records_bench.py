"""kproto.records speed, as ratios against kafka-python 3's record reader in the same run.

Measures, on one machine in one process:
- header walk of a 64 MiB blob of 16 KiB batches (and 1 KiB / 256 KiB to show
  the walk does not depend on batch size): batches/s and GB/s;
- CRC32C validation of every batch: GB/s;
- produce-ready forwarding (walk + classify + produce_chunks): batches/s;
- record decoding per codec: records/s.

Run: ``python -m benchmarks.records_bench`` (``--smoke`` for a quick pass).
Each figure is the best CPU time of several repetitions (least disturbed by
other processes on a shared machine).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from crc32c import crc32c
from kafka import codec as kafka_codec
from kafka.record import MemoryRecords

from kproto.records import (
    Codec,
    NewRecord,
    build_batch,
    classify,
    produce_chunks,
    walk_batches,
)

MIB = 1 << 20


@dataclass
class Row:
    what: str
    unit: str
    ours: float
    baseline: float | None

    @property
    def ratio(self) -> float | None:
        return None if not self.baseline else self.ours / self.baseline


def best_seconds(fn: Callable[[], object], repeat: int) -> float:
    """Smallest CPU time of ``repeat`` runs of ``fn``.

    CPU time of this process, not wall time: on a shared machine wall time
    mostly measures the neighbours; both sides of a ratio are timed the same way.
    """
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def make_blob(total: int, batch_size: int) -> tuple[bytes, int]:
    """``total`` bytes of uncompressed batches of about ``batch_size`` bytes each."""
    value_size = 200
    per_batch = max(1, (batch_size - 61) // (value_size + 12))
    recs = [NewRecord(b"v" * value_size, key=b"key", timestamp=1_700_000_000_000 + i) for i in range(per_batch)]
    template = build_batch(recs)
    count = max(1, total // len(template))
    parts = []
    for i in range(count):
        parts.append(build_batch(recs, base_offset=i * per_batch))
    return b"".join(parts), count


# --- workloads: ours ------------------------------------------------------------
def ours_walk(blob: bytes) -> int:
    n = 0
    for view in walk_batches(blob):
        n += view.record_count  # touch a header field
    return n


def ours_crc(blob: bytes) -> bool:
    ok = True
    for view in walk_batches(blob):
        ok &= view.crc_valid()
    return ok


def ours_forward(blob: bytes) -> int:
    n = 0
    for view in walk_batches(blob):
        if classify(view).exact:
            n += len(produce_chunks(view)[1])
    return n


# --- workloads: kafka-python 3 ----------------------------------------------------
def kp_walk(blob: bytes) -> int:
    n = 0
    records = MemoryRecords(blob)
    while True:
        batch = records.next_batch()
        if batch is None:
            return n
        n += batch.records_count if hasattr(batch, "records_count") else batch._header_data[12]


def kp_crc(blob: bytes) -> bool:
    ok = True
    records = MemoryRecords(blob)
    while True:
        batch = records.next_batch()
        if batch is None:
            return ok
        ok &= batch.validate_crc()


def kp_decode(raw: bytes) -> int:
    n = 0
    for rec in MemoryRecords(raw).next_batch():
        n += rec.value is not None
    return n


def ours_decode(raw: bytes) -> int:
    from kproto.records import BatchView

    n = 0
    for rec in BatchView(raw).records():
        n += rec.value is not None
    return n


def run(smoke: bool = False) -> list[Row]:
    repeat = 2 if smoke else 9
    total = 4 * MIB if smoke else 64 * MIB
    rows: list[Row] = []
    for batch_size in (16 * 1024, 1024, 256 * 1024):
        blob, count = make_blob(total, batch_size)
        assert ours_walk(blob) == kp_walk(blob)
        label = f"{batch_size // 1024} KiB batches"
        t_ours = best_seconds(lambda: ours_walk(blob), repeat)
        t_kp = best_seconds(lambda: kp_walk(blob), repeat)
        rows.append(Row(f"header walk, {label}", "Mbatch/s", count / t_ours / 1e6, count / t_kp / 1e6))
        rows.append(Row(f"header walk, {label}", "GB/s", len(blob) / t_ours / 1e9, len(blob) / t_kp / 1e9))
        if batch_size != 1024:
            assert ours_crc(blob) and kp_crc(blob)
            t_ours = best_seconds(lambda: ours_crc(blob), repeat)
            t_kp = best_seconds(lambda: kp_crc(blob), repeat)
            rows.append(Row(f"CRC validate, {label}", "GB/s", len(blob) / t_ours / 1e9, len(blob) / t_kp / 1e9))
        if batch_size == 16 * 1024:
            whole = memoryview(blob)
            t_one = best_seconds(lambda: crc32c(whole), repeat)
            rows.append(Row("crc32c ceiling: one call over the blob", "GB/s", len(blob) / t_one / 1e9, None))
            t_ours = best_seconds(lambda: ours_forward(blob), repeat)
            rows.append(Row(f"walk+classify+produce_chunks, {label}", "Mbatch/s", count / t_ours / 1e6, None))
    n_records = 2_000 if smoke else 20_000
    recs = [
        NewRecord(b"value-%08d-" % i + b"x" * 90, key=b"key-%d" % (i % 100), headers=[("h", b"1")], timestamp=1_700_000_000_000 + i)
        for i in range(n_records)
    ]
    for codec in Codec:
        raw = build_batch(recs, codec=codec)
        assert ours_decode(raw) == n_records
        t_ours = best_seconds(lambda: ours_decode(raw), repeat)
        baseline = None
        if codec is not Codec.SNAPPY or kafka_codec.has_snappy():  # kafka-python needs python-snappy
            assert kp_decode(raw) == n_records
            baseline = n_records / best_seconds(lambda: kp_decode(raw), repeat) / 1e6
        rows.append(Row(f"decode records, {codec.name.lower()}", "Mrec/s", n_records / t_ours / 1e6, baseline))
    return rows


def render(rows: list[Row]) -> str:
    lines = [f"{'measurement':46} {'unit':9} {'kproto':>9} {'kafka-py':>9} {'ratio':>7}"]
    for r in rows:
        base = f"{r.baseline:9.3f}" if r.baseline is not None else f"{'-':>9}"
        ratio = f"{r.ratio:6.1f}x" if r.ratio is not None else f"{'-':>7}"
        lines.append(f"{r.what:46} {r.unit:9} {r.ours:9.3f} {base} {ratio}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes, few repetitions")
    args = parser.parse_args(argv)
    print(render(run(smoke=args.smoke)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
