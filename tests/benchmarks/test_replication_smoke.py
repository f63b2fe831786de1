"""`make bench-smoke` inside `make test`: every contender of the replication
benchmark moves all the data of a tiny workload on the session clusters, and
the report (JSON, Markdown table, PNG) is written. Never asserts a speed."""
from __future__ import annotations

import json
import time

from benchmarks.replication import report
from benchmarks.run import SMOKE_TIME_CAP_S, all_contenders, run_bench
from benchmarks.replication.workloads import smoke_workloads


def test_every_contender_moves_all_the_data(source, destination, tmp_path, testbed_report):
    workloads = smoke_workloads()
    t0 = time.monotonic()
    results, _ = run_bench(source, destination, workloads, all_contenders(), tmp_path, SMOKE_TIME_CAP_S)
    took = time.monotonic() - t0
    expected = {(w.name, c.name) for w in workloads for c in all_contenders()
                if (w.contenders is None or c.name in w.contenders) and not (w.kind == "latency" and c.name == "ceiling")}
    assert {(r.workload, r.contender) for r in results} == expected
    for r in results:
        assert r.status == "ok", f"{r.contender} on {r.workload}: {r.status}"
        assert r.records_source > 0
        assert r.records_dest >= r.records_source, f"{r.contender} on {r.workload}: {r.records_dest}/{r.records_source}"
        assert r.peak_rss_mb and r.peak_rss_mb > 0
        if r.workload.startswith("smoke-latency"):
            assert r.latency is not None and r.latency["records"] >= r.records_source
    testbed_report(f"bench-smoke: {len(results)} contender runs moved all their data in {took:.0f}s")

    meta = {"machine": report.machine()}
    paths = report.write_json(results, tmp_path / "out", "smoke", meta)
    assert sorted(p.name for p in paths) == sorted(f"smoke-{w.name}.json" for w in workloads)
    doc = json.loads(paths[0].read_text())
    assert {r["contender"] for r in doc["results"]} == {c for w, c in expected if w == doc["workload"]}
    table = report.markdown(results, meta)
    for r in results:
        assert f"| {r.workload} | {r.contender} |" in table
    report.chart(results, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
