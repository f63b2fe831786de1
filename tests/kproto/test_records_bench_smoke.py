"""The records benchmark still runs against the current API (no timing asserted)."""

from __future__ import annotations

from benchmarks import records_bench


def test_records_benchmark_smoke_run_produces_every_row():
    rows = records_bench.run(smoke=True)
    names = {r.what for r in rows}
    assert "header walk, 16 KiB batches" in names and "CRC validate, 16 KiB batches" in names
    assert {f"decode records, {c}" for c in ("none", "gzip", "snappy", "lz4", "zstd")} <= names
    assert all(r.ours > 0 for r in rows)
    assert "kproto" in records_bench.render(rows)
