"""Scale-out: aggregate throughput and CPU per GB with N `linker run` processes of one link,
and the assignment balance of 3-5 members on 1,000 partitions.

Two local 1-node clusters (kafkabed), incompressible 1,000-byte values (as in
mirror_throughput.py). For each N in --processes, a fresh topic of --partitions
partitions is filled with --mb MB, then N processes of one link file with a
[group] table mirror it; the rate runs from the first mirrored offset to the
last, CPU is the processes' user+system seconds (psutil), per GB mirrored.
The balance part runs N members on a --balance-partitions topic, waits until
the group record in the state topic assigns every partition, and reports the
partitions per member (min, max) and the time to a full assignment.

    python -m benchmarks.scale_out [--mb 500] [--processes 1,2] [--partitions 16] [--rounds 3]
                                   [--balance 3,4,5] [--balance-partitions 1000]

Projection: with R MB/s per process measured here, a 1 GB/s link needs about
1000 / R processes (more if one partition alone exceeds R: a partition is never
split between members).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from benchmarks.mirror_throughput import offsets, produce_bulk
from kafkabed import KafkaCluster
from linker.client import LATEST_TIMESTAMP
from linker.connect import connect
from linker.settings import parse_config


def _link(workdir: Path, src: KafkaCluster, dst: KafkaCluster, topic: str, name: str) -> Path:
    path = workdir / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\n[source]\nbootstrap_servers = {json.dumps(src.bootstrap.split(","))}\n'
        f'[destination]\nbootstrap_servers = {json.dumps(dst.bootstrap.split(","))}\n'
        f'[topics]\nnames = ["{topic}"]\n[mirror]\nfetch_max_wait_ms = 100\n'
        f'[group]\nsession_timeout_ms = 6000\nheartbeat_interval_ms = 1000\n')
    return path


def _start(path: Path, n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-m", "linker.app.cli", "run", "--config", str(path),
                              "--log-level", "WARNING"]) for _ in range(n)]


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(30)


def throughput(src: KafkaCluster, dst: KafkaCluster, n: int, mb: int, partitions: int, workdir: Path,
               run: int = 0) -> dict:
    topic = f"scale-{n}p-{partitions}-r{run}"
    src.create_topic(topic, partitions)
    produce_bulk(src, topic, mb * 10**6)
    cfg = parse_config({"source": {"bootstrap_servers": src.bootstrap.split(",")},
                        "destination": {"bootstrap_servers": dst.bootstrap.split(",")}, "topics": {"names": [topic]}})
    tps = [(topic, i) for i in range(partitions)]
    target = offsets(cfg.source, tps, LATEST_TIMESTAMP)
    procs = _start(_link(workdir, src, dst, topic, f"scale-{n}-r{run}"), n)
    ps = [psutil.Process(p.pid) for p in procs]
    first = None
    cpu: dict[int, float] = {}
    try:
        while True:
            for p in ps:
                try:
                    t = p.cpu_times()
                    cpu[p.pid] = t.user + t.system
                except psutil.Error:
                    pass
            try:
                ends = offsets(cfg.destination, tps, LATEST_TIMESTAMP)
            except Exception:
                time.sleep(0.1)
                continue
            if first is None and any(ends[tp] > 0 for tp in tps):
                first = time.perf_counter()
            if all(ends[tp] >= target[tp] for tp in tps):
                break
            time.sleep(0.1)
        took = time.perf_counter() - (first or time.perf_counter())
    finally:
        _stop(procs)
    cpu_s = sum(cpu.values())
    return {"processes": n, "MB": mb, "partitions": partitions, "MBps": round(mb / took, 1) if took else None,
            "MBps_per_process": round(mb / took / n, 1) if took else None,
            "cpu_s_per_GB": round(cpu_s / (mb / 1000), 1)}


def balance(src: KafkaCluster, dst: KafkaCluster, n: int, partitions: int, workdir: Path) -> dict:
    from linker.lifecycle.state_store import StateStore
    from linker.lifecycle.store_view import LinkState
    topic = f"balance-{n}-{partitions}"
    src.create_topic(topic, partitions)
    name = f"bal-{n}"
    path = _link(workdir, src, dst, topic, name)
    cfg = parse_config({"source": {"bootstrap_servers": src.bootstrap.split(",")},
                        "destination": {"bootstrap_servers": dst.bootstrap.split(",")}, "topics": {"names": [topic]}})
    t0 = time.perf_counter()
    procs = _start(path, n)

    async def group_record():
        client = connect(cfg.destination, "bench")
        try:
            await client.refresh_metadata()
            return LinkState.from_records(await StateStore(client, f"__linker-{name}-state").read_all()).group
        finally:
            await client.close()
    try:
        while True:
            try:
                g = asyncio.run(group_record())
            except Exception:
                g = None
            if g is not None and len(g.members) == n and \
                    sum(len(ps) for ps in g.owners.values()) == partitions:
                break
            assert time.perf_counter() - t0 < 300, "no full assignment within 300 s"
            time.sleep(0.5)
        took = time.perf_counter() - t0
    finally:
        _stop(procs)
    counts: dict[str, int] = {}
    for ps in g.owners.values():
        for m in ps.values():
            counts[m] = counts.get(m, 0) + 1
    return {"members": n, "partitions": partitions, "min": min(counts.values()), "max": max(counts.values()),
            "seconds_to_full_assignment": round(took, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=500, help="MB per run")
    ap.add_argument("--processes", default="1,2", help="comma-separated process counts")
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the process counts, interleaved")
    ap.add_argument("--balance", default="3,4,5", help="member counts for the balance part ('' to skip)")
    ap.add_argument("--balance-partitions", type=int, default=1000)
    args = ap.parse_args()
    results: dict[str, list[dict]] = {"throughput": [], "balance": []}
    with KafkaCluster(name="scale-src") as src, KafkaCluster(name="scale-dst") as dst:
        with tempfile.TemporaryDirectory() as tmp:
            counts = [int(x) for x in args.processes.split(",") if x]
            for run in range(args.rounds):            # 1 2 1 2 ...: both see the same drift
                for n in counts:
                    r = throughput(src, dst, n, args.mb, args.partitions, Path(tmp), run)
                    results["throughput"].append(r)
                    print(r, flush=True)
            for n in (int(x) for x in args.balance.split(",") if x):
                r = balance(src, dst, n, args.balance_partitions, Path(tmp))
                results["balance"].append(r)
                print(r, flush=True)
    summary = {}
    for n in sorted({r["processes"] for r in results["throughput"]}):
        rates = [r["MBps"] for r in results["throughput"] if r["processes"] == n and r["MBps"]]
        cpus = [r["cpu_s_per_GB"] for r in results["throughput"] if r["processes"] == n]
        if rates:
            summary[n] = {"MBps_min_median_max": [min(rates), statistics.median(rates), max(rates)],
                          "cpu_s_per_GB_median": statistics.median(cpus)}
    results["summary"] = summary                                  # type: ignore[assignment]
    per = [v["MBps_min_median_max"][1] / n for n, v in summary.items()]
    if per:
        results["projection"] = {"MBps_per_process": min(per),   # type: ignore[assignment]
                                 "processes_for_1GBps": round(1000 / min(per) + 0.5)}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
