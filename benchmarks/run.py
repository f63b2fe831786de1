"""`make bench` / `make bench-smoke`: the replication benchmark of issue #9.

Starts a source and a destination cluster (kafkabed, the pinned Kafka release), writes the
workloads and runs linker, MirrorMaker 2, a naive kafka-python replicator and
the broker ceiling in turn on each (a cleaned compacted topic: linker, MM2, naive). Full run: JSON per workload, a Markdown
table and a PNG chart in benchmarks/results/. Smoke run: tiny workloads,
checks only that every contender moved all the data (exit 1 otherwise).

    python -m benchmarks.run [--smoke] [--only 8p-lz4,latency-lz4] [--contenders linker,mm2] [--rounds 3] [--out DIR]
                             [--linker-tree DIR]   # a before/after comparison of two linker commits

BENCH_WORKDIR=<dir> keeps the contenders' logs and config files (default: a temporary directory).
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from kafkabed import KafkaCluster

from benchmarks.replication import report
from benchmarks.replication.contenders.base import Contender, RunContext
from benchmarks.replication.contenders.ceiling import CeilingContender
from benchmarks.replication.contenders.linker_run import LinkerContender
from benchmarks.replication.contenders.mirrormaker2 import MirrorMaker2Contender, mm2_classpath
from benchmarks.replication.contenders.naive import NaiveContender
from benchmarks.replication.runner import Result, Runner
from benchmarks.replication.workloads import Workload, extra_workloads, full_workloads, smoke_workloads

RESULTS = Path(__file__).parent / "results"
#: Brokers for measuring: full JIT and G1 (the test bed's C1-only default starts faster, runs slower).
BROKER_JVM = ("-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError")
BROKER_HEAP = "512m"
FULL_TIME_CAP_S = 150.0
SMOKE_TIME_CAP_S = 60.0


def all_contenders(linker_tree: Path | None = None) -> list[Contender]:
    before = [LinkerContender(linker_tree.resolve(), linker_tree.name)] if linker_tree else []
    return [*before, LinkerContender(), MirrorMaker2Contender(), NaiveContender(), CeilingContender()]


def extra_contenders() -> list[Contender]:
    """Run only when named in --contenders: variants of the linker's own settings."""
    return [*(LinkerContender(name=f"linker-{n}lane{'s' if n > 1 else ''}", mirror={"produce_lanes": n})
              for n in (1, 4, 8)),
            CeilingContender(in_flight=1, name="ceiling-1inflight")]


def pick(items: list, names: str | None, what: str, extra: list | None = None) -> list:
    if not names:
        return items
    wanted = names.split(",")
    known = {i.name: i for i in [*items, *(extra or [])]}
    bad = [n for n in wanted if n not in known]
    if bad:
        raise SystemExit(f"unknown {what} {bad}; choose from {sorted(known)}")
    return [known[n] for n in wanted]   # in the order asked: rounds can swap contenders


def run_bench(source: KafkaCluster, destination: KafkaCluster, workloads: list[Workload],
              contenders: list[Contender], workdir: Path, time_cap_s: float,
              profile_dir: Path | None = None, rounds: int = 1) -> tuple[list[Result], dict[str, Any]]:
    """Every contender on every workload, ``rounds`` times interleaved, on clusters that are already running.
    Returns the results and {"timings": ..., "profiles": ...}."""
    ctx = RunContext(source, destination, workdir, uuid.uuid4().hex[:6])

    async def go() -> tuple[list[Result], dict[str, Any]]:
        runner = Runner(ctx, contenders, time_cap_s, profile_dir=profile_dir)
        try:
            results = await runner.run(workloads, rounds)
            return results, {"timings": runner.timings, "profiles": runner.profiles}
        finally:
            await runner.close()
    return asyncio.run(go())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny workloads; check that all data moved")
    ap.add_argument("--only", help="comma-separated workload names")
    ap.add_argument("--contenders", help="comma-separated: linker,mm2,naive,ceiling (also: linker-1lane, "
                                             "linker-4lanes, linker-8lanes: the linker with that mirror.produce_lanes; "
                                             "ceiling-1inflight, the ceiling with one request in flight)")
    ap.add_argument("--out", type=Path, help="results directory (default benchmarks/results; smoke: a temp dir)")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply the throughput workloads' record counts (compacted: and keys; exploratory runs)")
    ap.add_argument("--seconds", type=float, help="override the latency workloads' duration (exploratory runs)")
    ap.add_argument("--profile", type=Path, help="py-spy every linker contender on throughput workloads into this folder")
    ap.add_argument("--rounds", type=int,
                    help="rounds per workload, contenders interleaved and the first one rotated each round "
                         "(default: 3; smoke: 1)")
    ap.add_argument("--time-cap", type=float, help="seconds a contender may take on one workload")
    ap.add_argument("--linker-tree", type=Path,
                    help="also run the linker of this checkout (e.g. a git worktree of an earlier commit) "
                         "as contender linker@<folder name>, before this one on each workload")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("kafka").setLevel(logging.WARNING)
    workloads = pick(smoke_workloads() if args.smoke else
                     full_workloads() + (extra_workloads() if args.only else []), args.only, "workload")
    if args.scale != 1.0:
        workloads = [dataclasses.replace(w, records=max(w.partitions * w.batch_records, int(w.records * args.scale)))
                     if w.kind == "throughput" else
                     dataclasses.replace(w, records=max(w.partitions * w.batch_records, int(w.records * args.scale)),
                                         keys=max(w.partitions, int(w.keys * args.scale)))
                     if w.kind == "compacted" else w for w in workloads]
    if args.seconds:
        workloads = [dataclasses.replace(w, seconds=args.seconds) if w.kind == "latency" else w for w in workloads]
    contenders = pick(all_contenders(args.linker_tree), args.contenders, "contender", extra_contenders())
    rounds = args.rounds or (1 if args.smoke else 3)
    if rounds < 1:
        raise SystemExit(f"--rounds must be at least 1, got {rounds}")
    cap = args.time_cap or (SMOKE_TIME_CAP_S if args.smoke else FULL_TIME_CAP_S)
    meta = {"machine": report.machine(), "code": report.code_version(), "settings": {c.name: c.settings for c in contenders},
            "brokers": {"jvm": list(BROKER_JVM), "heap": BROKER_HEAP, "nodes": 1},
            "workloads": [w.__dict__ for w in workloads], "scale": args.scale,
            "latency_seconds_override": args.seconds, "rounds": rounds}
    t0 = time.monotonic()
    if any(c.name == "mm2" for c in contenders):
        mm2_classpath()  # fetch before the clock and the clusters start
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp_dir, \
            KafkaCluster("bench-src", heap=BROKER_HEAP, jvm_options=BROKER_JVM) as src, \
            KafkaCluster("bench-dst", heap=BROKER_HEAP, jvm_options=BROKER_JVM) as dst:
        workdir = Path(os.environ.get("BENCH_WORKDIR") or tmp_dir)
        workdir.mkdir(parents=True, exist_ok=True)
        results, extra = run_bench(src, dst, workloads, contenders, workdir, cap, args.profile, rounds)
    meta["timings_s"] = {k: round(v, 1) for k, v in extra["timings"].items()}
    meta["linker_profiles"] = extra["profiles"]
    meta["total_s"] = round(time.monotonic() - t0, 1)
    table = report.markdown(results, meta)
    print(table)
    failed = [r for r in results if not r.moved_all or r.status.startswith("failed")]
    if args.smoke:
        for r in failed:
            print(f"SMOKE FAIL {r.workload} {r.contender}: {r.status} ({r.records_dest}/{r.records_source})")
        print(f"smoke run: {len(results) - len(failed)}/{len(results)} contender runs moved all the data "
              f"in {meta['total_s']}s")
        if args.out is None:
            return 1 if failed else 0
    out = args.out or RESULTS
    date = time.strftime("%Y-%m-%d")
    paths = report.write_json(results, out, date, meta)
    (out / f"{date}-table.md").write_text(table)
    report.chart(results, out / f"{date}-chart.png")
    print(f"wrote {', '.join(str(p) for p in paths)}, the table and the chart ({meta['total_s']}s in all)")
    return 1 if failed and args.smoke else 0


if __name__ == "__main__":
    raise SystemExit(main())
