"""Runs every contender on every workload, one at a time, on one pair of clusters.

Throughput workloads: the source topic is written once, then each contender
copies it into its own fresh destination topic while the harness polls the
destination's end offsets (every ``POLL_S``). The copy rate is taken between
the first poll that sees data and the poll that sees all of it, so process
start-up (a JVM, a consumer group join) is reported apart from the rate; CPU
per GB is taken over the same window. Latency workloads: each contender gets
its own source topic, is warmed up until a first batch crosses, and then the
source receives a fixed rate while an observer process timestamps arrivals.

Compacted workloads are throughput workloads on a cleaned compacted topic
(``write_compacted_source``). A contender that keeps offsets (the linker:
retained records at their offsets, fillers at the holes) is done when its
destination ends where the source does; one that copies records (MM2, naive)
when it holds as many records as the source retains. Both are then measured
in source offsets covered per second and retained records per second (MB/s:
retained record values), mapped through the source's batch layout.
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafkabed import procs
from kproto.records.builder import NewRecord, build_batch

from benchmarks.replication import datagen, profile
from benchmarks.replication.contenders.base import Contender, RunContext
from benchmarks.replication.datagen import PartitionLayout
from benchmarks.replication.procstats import ProcessSampler
from benchmarks.replication.workloads import Workload
from linker.client import LATEST_TIMESTAMP, Client
from linker.connect import connect

log = logging.getLogger("bench")

POLL_S = 0.1
#: A compacted source topic the test bed's cleaner (1 s backoff) cleans within seconds.
COMPACTED_SOURCE_CONFIGS = {"cleanup.policy": "compact", "compression.type": "producer", "segment.ms": 100,
                            "segment.bytes": 1024 * 1024, "min.cleanable.dirty.ratio": 0.01,
                            "min.compaction.lag.ms": 0}
#: ... and once cleaned, nothing rolls or cleans again while the contenders read it.
COMPACTED_FREEZE = {"segment.ms": 3_600_000, "min.cleanable.dirty.ratio": 0.99}
GB = 1e9
MB = 1e6


class ContenderFailed(RuntimeError):
    """A contender exited, or did not move all the data in its time."""


@dataclass
class Result:
    workload: str
    contender: str
    status: str                      # "ok", "capped" (time cap hit, partial) or "failed: ..."
    records_source: int
    records_dest: int
    record_bytes: int
    startup_s: float | None = None   # launch (or go signal) -> first destination record
    moving_s: float | None = None    # first -> last destination record
    records_per_s: float | None = None
    mb_per_s: float | None = None    # logical (uncompressed value) MB/s, 1 MB = 10^6 bytes
    cpu_s_per_gb: float | None = None
    cpu_total_s: float | None = None
    peak_rss_mb: float | None = None
    source_broker_cpu_s_per_gb: float | None = None
    dest_broker_cpu_s_per_gb: float | None = None
    latency: dict[str, Any] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    # -- compacted workloads (None otherwise) --
    counted: str | None = None             # what records_source/records_dest count, and the rates
    source_offsets: int | None = None      # the source log ends, summed (offsets to cover)
    source_retained: int | None = None     # records the cleaned source still holds
    offsets_per_s: float | None = None     # source offsets covered per second
    fillers: int | None = None             # linker_compaction_fillers_total at the end
    contender_metrics: dict[str, float] | None = None
    round: int = 0                          # which interleaved round (run.py --rounds)
    #: Cores the whole machine kept busy over the window (psutil.cpu_times): near the core
    #: count, the run was CPU-bound and a rate is capped by the sum of everyone's CPU per GB.
    machine_busy_cores: float | None = None
    #: Contender + source broker + destination broker CPU seconds per GB.
    total_cpu_s_per_gb: float | None = None

    @property
    def moved_all(self) -> bool:
        return self.records_dest >= self.records_source > 0


def _tail(path: Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


class Runner:
    def __init__(self, ctx: RunContext, contenders: list[Contender], time_cap_s: float,
                 start_timeout_s: float = 180.0, profile_dir: Path | None = None) -> None:
        self.ctx = ctx
        self.profile_dir = profile_dir  # py-spy the linker on throughput workloads into this folder
        self.profiles: dict[str, str] = {}
        self.contenders = contenders
        self.time_cap_s = time_cap_s
        self.start_timeout_s = start_timeout_s
        self._seq = 0
        self.src_io = connect(datagen.cluster_settings(ctx.source.bootstrap), "bench-source", "bench")
        self.dst_io = connect(datagen.cluster_settings(ctx.destination.bootstrap), "bench-dest", "bench")
        self.timings: dict[str, float] = {}

    async def close(self) -> None:
        await self.src_io.close()
        await self.dst_io.close()

    # -- offsets -------------------------------------------------------------
    async def _ends(self, io: Client, topic: str, partitions: int) -> dict[int, int]:
        tps = [(topic, p) for p in range(partitions)]
        try:
            got = await io.offsets(tps, LATEST_TIMESTAMP, retry_for=0)
        except Exception:  # topic not created yet (MM2 creates its own): nothing there
            return {p: 0 for p in range(partitions)}
        return {p: got.get((topic, p), 0) for p in range(partitions)}

    async def _wait_ready(self, io: Client, topic: str, partitions: int, timeout: float = 120.0) -> None:
        """Until every partition of a just-created topic has a leader that answers ListOffsets."""
        deadline = time.monotonic() + timeout
        tps = [(topic, p) for p in range(partitions)]
        while True:
            try:
                got = await io.offsets(tps, LATEST_TIMESTAMP, retry_for=0)
                if len(got) == partitions:
                    return
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"topic {topic} not ready after {timeout:.0f}s: {exc}") from None
            await asyncio.sleep(0.2)

    # -- processes -------------------------------------------------------------
    def _spawn(self, cmd: list[str], log_path: Path) -> subprocess.Popen:
        return procs.spawn(cmd, log_path)

    async def _wait_line(self, proc: subprocess.Popen, log_path: Path, word: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ContenderFailed(f"exited with {proc.returncode} before {word}:\n{_tail(log_path)}")
            try:
                if word in log_path.read_text(errors="replace"):
                    return
            except OSError:
                pass
            await asyncio.sleep(0.05)
        raise ContenderFailed(f"no {word} within {timeout:.0f}s:\n{_tail(log_path)}")

    def _sampler(self, pid: int) -> ProcessSampler:
        return ProcessSampler(pid, [b.pid for b in self.ctx.source.brokers if b.pid],
                              [b.pid for b in self.ctx.destination.brokers if b.pid]).start()

    # -- throughput -------------------------------------------------------------
    async def write_source(self, w: Workload) -> tuple[str, int]:
        topic = f"b{self.ctx.run_id}-{w.name}"
        self.ctx.source.create_topic(topic, w.partitions, configs={"compression.type": "producer"})
        await self._wait_ready(self.src_io, topic, w.partitions)
        t0 = time.monotonic()
        pool = datagen.batch_pool(w)
        written = await datagen._write_bulk(self.ctx.source.bootstrap, topic, w, pool)
        self.timings[f"write {w.name}"] = time.monotonic() - t0
        ends = await self._ends(self.src_io, topic, w.partitions)
        if sum(ends.values()) != written:
            raise RuntimeError(f"source {topic}: wrote {written} records but the log ends at {sum(ends.values())}")
        log.info("wrote %s: %d records in %.1fs", topic, written, self.timings[f"write {w.name}"])
        return topic, written

    async def write_compacted_source(self, w: Workload, clean_timeout_s: float = 120.0
                                     ) -> tuple[str, dict[int, PartitionLayout]]:
        """Write a compacted workload, then wait until the source cleaner has cleaned all of it.

        The topic rolls a segment every 100 ms (and at 1 MiB) and is cleanable at once
        (dirty ratio 0.01, no compaction lag), so the test bed's cleaner (1 s backoff)
        cleans it while it is written. The active segment is never cleaned: after the
        write, one more record per partition (a key of that partition, written again)
        goes into a new segment. Cleaned means each partition holds exactly one record
        per key it was written with, plus that last record. Then the topic is frozen
        (no rolling, dirty ratio 0.99) so nothing changes while the contenders run."""
        topic = f"b{self.ctx.run_id}-{w.name}"
        self.ctx.source.create_topic(topic, w.partitions, configs=COMPACTED_SOURCE_CONFIGS)
        await self._wait_ready(self.src_io, topic, w.partitions)
        t0 = time.monotonic()
        batches, distinct = datagen.compacted_batches(w)
        self.timings[f"build {w.name}"] = time.monotonic() - t0
        t0 = time.monotonic()
        written = await datagen.write_batches(self.ctx.source.bootstrap, topic, batches)
        self.timings[f"write {w.name}"] = time.monotonic() - t0
        await asyncio.sleep(0.3)    # past segment.ms: the next append rolls the segment
        last = {p: [build_batch([NewRecord(b"last", key=datagen.compacted_key(w, p, 0))],
                                codec=datagen.CODEC[w.codec])] for p in range(w.partitions)}
        written += await datagen.write_batches(self.ctx.source.bootstrap, topic, last)
        ends = await self._ends(self.src_io, topic, w.partitions)
        if sum(ends.values()) != written:
            raise RuntimeError(f"source {topic}: wrote {written} records but the log ends at {sum(ends.values())}")
        want = {p: distinct[p] + 1 for p in range(w.partitions)}
        t0 = time.monotonic()
        while True:
            layouts = {p: await datagen.scan_partition(self.src_io, topic, p, ends[p]) for p in range(w.partitions)}
            held = {p: layouts[p].retained for p in layouts}
            if held == want:
                break
            if time.monotonic() - t0 > clean_timeout_s:
                raise RuntimeError(f"source {topic} not cleaned after {clean_timeout_s:.0f}s: "
                                   f"holds {held} records, cleaned would be {want}")
            await asyncio.sleep(1.0)
        self.ctx.source.set_topic_config(topic, COMPACTED_FREEZE)
        self.timings[f"clean {w.name}"] = time.monotonic() - t0
        log.info("wrote %s: %d records over %d keys, cleaned to %d records (%.1fs more) in %d batches",
                 topic, written, sum(distinct.values()), sum(held.values()), self.timings[f"clean {w.name}"],
                 sum(len(l.nexts) for l in layouts.values()))
        return topic, layouts

    async def run_throughput(self, w: Workload, topic: str, c: Contender,
                             layouts: dict[int, PartitionLayout] | None = None) -> Result:
        self._seq += 1
        seq = self._seq
        ctx = self.ctx
        source_ends = await self._ends(self.src_io, topic, w.partitions)
        # What "all the data" is: every offset, or (compacted, a contender that copies records)
        # as many records as the source holds.
        targets = dict(source_ends)
        if layouts is not None and not c.keeps_offsets:
            targets = {p: layouts[p].retained for p in source_ends}
        res = Result(w.name, c.name, "ok", sum(targets.values()), 0, w.record_bytes, settings=c.settings)
        if layouts is not None:
            res.source_offsets = sum(source_ends.values())
            res.source_retained = sum(l.retained for l in layouts.values())
            res.counted = ("records_source/records_dest: source/destination offsets (the destination's are "
                           "retained records + fillers)" if c.keeps_offsets else
                           "records_source/records_dest: records the source retains / records on the "
                           "destination (source offsets not kept)") + \
                "; records/s, MB/s and CPU per GB: retained source records; offsets/s: source offsets covered"
        dest = c.dest_topic(ctx, topic, seq)
        log_path = ctx.workdir / f"{seq:03d}-{c.name}-{w.name}.log"
        if c.prepare(ctx, topic, w, seq):
            await self._wait_ready(self.dst_io, dest, w.partitions)
        launch = c.launch(ctx, topic, w, seq)
        t_launch = time.monotonic()
        proc = self._spawn(launch.command, log_path)
        spy = raw = None
        if self.profile_dir is not None and c.name.startswith("linker"):   # every linker contender
            self.profile_dir.mkdir(parents=True, exist_ok=True)
            raw = self.profile_dir / f"{c.name}-{w.name}.txt"
            spy = profile.start(proc.pid, raw, ctx.workdir / f"{seq:03d}-py-spy.log")
            if spy is None:
                log.warning("py-spy not found (PATH or $PY_SPY): no profile")
        sampler = None
        try:
            if launch.gated:
                await self._wait_line(proc, log_path, "READY", self.start_timeout_s)
            sampler = self._sampler(proc.pid)
            if launch.gated:
                t_launch = time.monotonic()
                os.kill(proc.pid, signal.SIGUSR1)
            t_first = n_first = ends_first = None
            moving_cap = min(self.time_cap_s, c.time_cap_s or self.time_cap_s)
            cap = self.start_timeout_s + moving_cap
            while True:
                now = time.monotonic()
                ends = await self._ends(self.dst_io, dest, w.partitions)
                n = sum(ends.values())
                if n and t_first is None:
                    t_first, n_first, ends_first = now, n, ends
                if all(ends[p] >= targets[p] for p in targets):
                    break
                if t_first is None and now - t_launch > self.start_timeout_s:
                    raise ContenderFailed(f"no record reached {dest} in {self.start_timeout_s:.0f}s:\n{_tail(log_path)}")
                if t_first is not None and now - t_first > moving_cap or now - t_launch > cap:
                    res.status = "capped"
                    break
                if proc.poll() is not None and not launch.gated:
                    raise ContenderFailed(f"exited with {proc.returncode}:\n{_tail(log_path)}")
                await asyncio.sleep(POLL_S)
            t_done = time.monotonic()
            sampler.sample()
            res.records_dest = n
            assert t_first is not None and n_first is not None and ends_first is not None
            res.startup_s = round(t_first - t_launch, 2)
            if layouts is None:
                self._rates(res, sampler, t_first, t_done, n - n_first, t_launch)
            else:
                retained, offsets = self._compacted_progress(layouts, c.keeps_offsets, ends_first, ends)
                self._rates(res, sampler, t_first, t_done, round(retained), t_launch, offsets=offsets)
                fillers = sum(source_ends.values()) - sum(lay.retained for lay in layouts.values())
                stats = await c.final_stats(ctx, seq, expect_fillers=fillers)
                if stats:
                    res.contender_metrics = stats
                    res.fillers = int(stats["fillers"]) if "fillers" in stats else None
        except ContenderFailed as exc:
            res.status = f"failed: {exc}"
            log.error("%s on %s failed: %s", c.name, w.name, exc)
        finally:
            procs.stop(proc, timeout=10)
            if sampler is not None:
                sampler.stop()
                res.peak_rss_mb = round(sampler.peak_rss / 2**20, 1)
            if spy is not None and raw is not None:
                try:
                    spy.wait(60)
                except subprocess.TimeoutExpired:
                    pass
                procs.stop(spy, timeout=5)
                if raw.exists():
                    key = w.name if c.name == "linker" else f"{w.name} {c.name}"
                    self.profiles[key] = profile.summarize(raw)
                    raw.with_name(f"{raw.stem}-top.txt").write_text(self.profiles[key] + "\n")
            c.cleanup(ctx, topic, seq)
        log.info("%s %s: %s", w.name, c.name, _brief(res))
        return res

    @staticmethod
    def _compacted_progress(layouts: dict[int, PartitionLayout], keeps_offsets: bool,
                            first: dict[int, int], last: dict[int, int]) -> tuple[float, float]:
        """Retained source records and source offsets a contender moved between two polls of
        its destination ends: offsets map to retained records (keeps_offsets) or records to
        the offsets they cover, through the source's batch layout."""
        retained = offsets = 0.0
        for p, lay in layouts.items():
            if keeps_offsets:
                offsets += last[p] - first[p]
                retained += lay.retained_below(last[p]) - lay.retained_below(first[p])
            else:
                retained += last[p] - first[p]
                offsets += lay.offset_after(last[p]) - lay.offset_after(first[p])
        return retained, offsets

    def _rates(self, res: Result, s: ProcessSampler, t0: float, t1: float, records: int, t_launch: float,
               offsets: float | None = None) -> None:
        window = t1 - t0
        a, b = s.at(t0), s.at(t1)
        res.moving_s = round(window, 2)
        gb = records * res.record_bytes / GB
        res.cpu_total_s = round(b.contender_cpu - s.samples[0].contender_cpu, 2)
        if window <= 0 or records <= 0:
            return  # everything arrived between two polls: too small to time
        res.records_per_s = round(records / window, 1)
        if offsets is not None:
            res.offsets_per_s = round(offsets / window, 1)
        res.mb_per_s = round(records * res.record_bytes / MB / window, 2)
        res.cpu_s_per_gb = round((b.contender_cpu - a.contender_cpu) / gb, 2)
        res.source_broker_cpu_s_per_gb = round((b.source_broker_cpu - a.source_broker_cpu) / gb, 2)
        res.dest_broker_cpu_s_per_gb = round((b.dest_broker_cpu - a.dest_broker_cpu) / gb, 2)
        res.total_cpu_s_per_gb = round(res.cpu_s_per_gb + res.source_broker_cpu_s_per_gb
                                       + res.dest_broker_cpu_s_per_gb, 2)
        if b.t > a.t:
            res.machine_busy_cores = round((b.machine_busy - a.machine_busy) / (b.t - a.t), 2)

    # -- latency -------------------------------------------------------------------
    async def run_latency(self, w: Workload, c: Contender) -> Result:
        self._seq += 1
        seq = self._seq
        ctx = self.ctx
        topic = f"b{ctx.run_id}-{w.name}-{c.name}".replace("@", "-")   # linker@before: no @ in topic names
        ctx.source.create_topic(topic, w.partitions, configs={"compression.type": "producer"})
        await self._wait_ready(self.src_io, topic, w.partitions)
        res = Result(w.name, c.name, "ok", 0, 0, w.record_bytes, settings=c.settings)
        dest = c.dest_topic(ctx, topic, seq)
        log_path = ctx.workdir / f"{seq:03d}-{c.name}-{w.name}.log"
        obs_log = ctx.workdir / f"{seq:03d}-observer-{w.name}.log"
        obs_out = ctx.workdir / f"{seq:03d}-observer-{w.name}.json"
        if c.prepare(ctx, topic, w, seq):
            await self._wait_ready(self.dst_io, dest, w.partitions)
        launch = c.launch(ctx, topic, w, seq)
        if launch.gated:
            raise ValueError(f"{c.name} needs its data before it starts; it has no latency case")
        t_launch = time.monotonic()
        proc = self._spawn(launch.command, log_path)
        sampler = self._sampler(proc.pid)
        observer = None
        try:
            # Warm-up: one batch per partition must cross before the clock starts.
            warm = Workload(w.name, w.codec, w.partitions, w.partitions, batch_records=1)
            warm_n = await datagen._write_bulk(ctx.source.bootstrap, topic, warm, datagen.batch_pool(warm))
            while True:
                ends = await self._ends(self.dst_io, dest, w.partitions)
                if sum(ends.values()) >= warm_n:
                    break
                if proc.poll() is not None:
                    raise ContenderFailed(f"exited with {proc.returncode}:\n{_tail(log_path)}")
                if time.monotonic() - t_launch > self.start_timeout_s:
                    raise ContenderFailed(f"warm-up batch not in {dest} after {self.start_timeout_s:.0f}s:\n"
                                          f"{_tail(log_path)}")
                await asyncio.sleep(POLL_S)
            res.startup_s = round(time.monotonic() - t_launch, 2)
            starts = ",".join(f"{p}:{o}" for p, o in sorted(ends.items()))
            observer = self._spawn([ctx.python, "-m", "benchmarks.replication.latency_observer",
                                    ctx.destination.bootstrap, dest, starts, str(obs_out)], obs_log)
            await self._wait_line(observer, obs_log, "READY", 60)
            t0 = time.monotonic()
            sampler.sample()
            written = await datagen.write_at_rate(ctx.source.bootstrap, topic, w, w.seconds)
            res.records_source = written
            source_ends = await self._ends(self.src_io, topic, w.partitions)
            while True:
                ends = await self._ends(self.dst_io, dest, w.partitions)
                if all(ends[p] >= source_ends[p] for p in source_ends):
                    break
                if time.monotonic() - t0 > w.seconds + self.time_cap_s:
                    res.status = "capped"
                    break
                await asyncio.sleep(POLL_S)
            t1 = time.monotonic()
            sampler.sample()
            res.records_dest = sum(ends.values()) - warm_n
            await asyncio.sleep(0.5)  # let the observer read the last records
            procs.stop(observer, timeout=10)
            res.latency = json.loads(obs_out.read_text())
            if res.latency["records"] < written:
                res.status = f"failed: the observer saw {res.latency['records']} of {written} records"
            self._rates(res, sampler, t0, t1, res.records_dest, t_launch)
        except ContenderFailed as exc:
            res.status = f"failed: {exc}"
            log.error("%s on %s failed: %s", c.name, w.name, exc)
        finally:
            if observer is not None:
                procs.stop(observer, timeout=5)
            procs.stop(proc, timeout=10)
            sampler.stop()
            res.peak_rss_mb = round(sampler.peak_rss / 2**20, 1)
            c.cleanup(ctx, topic, seq)
            try:
                ctx.source.delete_topic(topic)
            except Exception:
                pass
        log.info("%s %s: %s", w.name, c.name, _brief(res))
        return res

    # -- all -------------------------------------------------------------------------
    async def run(self, workloads: list[Workload], rounds: int = 1) -> list[Result]:
        """Every contender on every workload, ``rounds`` times, interleaved (A B C, B C A, ...):
        each round starts with the next contender, so no one always runs first on a fresh
        source topic (the position alone moved rates by up to 2.5x, docs/benchmarks.md)."""
        results: list[Result] = []
        for w in workloads:
            contenders = [c for c in self.contenders
                          if w.contenders is None or c.name.split("@")[0] in w.contenders]
            if w.kind == "latency":
                contenders = [c for c in contenders if c.follows_live]
                for r in range(rounds):
                    for c in rotated(contenders, r):
                        results.append(dataclasses.replace(await self.run_latency(w, c), round=r))
                continue
            layouts = None
            if w.kind == "compacted":
                topic, layouts = await self.write_compacted_source(w)
            else:
                topic, _ = await self.write_source(w)
            for r in range(rounds):
                for c in rotated(contenders, r):
                    t0 = time.monotonic()
                    results.append(dataclasses.replace(await self.run_throughput(w, topic, c, layouts), round=r))
                    self.timings[f"{c.name} {w.name} round {r}"] = time.monotonic() - t0
            try:
                self.ctx.source.delete_topic(topic)
            except Exception:
                pass
        return results


def rotated(items: list[Contender], r: int) -> list[Contender]:
    """Round r's order: the list started at its (r mod n)-th item."""
    k = r % len(items) if items else 0
    return items[k:] + items[:k]


def _brief(r: Result) -> str:
    lat = f" p50 {r.latency['p50_ms']} ms p99 {r.latency['p99_ms']} ms" if r.latency else ""
    comp = f", {r.offsets_per_s} source offsets/s, {r.fillers} fillers" if r.source_offsets is not None else ""
    return (f"{r.status[:60]} {r.records_dest}/{r.records_source} records, {r.mb_per_s} MB/s, "
            f"{r.cpu_s_per_gb} CPU s/GB, start {r.startup_s}s, RSS {r.peak_rss_mb} MB{lat}{comp}")
