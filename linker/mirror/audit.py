"""The auditor: the engine's running safety net, two checks built on ``compare``.

- The running tail audit compares the destination's last batch of each
  MIRRORING partition with the source's. The produce response proves offsets,
  not bytes; this catches a broker that stored a batch differently (as it does
  for LogAppendTime batches). Coverage is a bound, not a rate: every
  ``audit_interval_ms`` it audits the partitions audited longest ago, as many
  as it takes for every partition to be audited within ``audit_cycle_ms``
  (``audit_quota``), each with two small fetches (``AUDIT_FETCH_BYTES``).
- Destination data found when a partition is first located (adopted) is
  compared with the source within a byte bound: the first
  ``PREFIX_HEAD_BYTES`` of it batch by batch, then ``PREFIX_SAMPLES`` batches
  at random offsets after that (the locator's tail check proved the last
  batch). A destination topic written by something else differs at its start,
  so it is never adopted silently, and a restart no longer re-reads the whole
  retained history of both clusters.
"""
from __future__ import annotations

import asyncio
import heapq
import logging
import math
import random
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from linker.client import EARLIEST_TIMESTAMP, Client, ClientError
from linker.metrics import MirrorMetrics
from linker.settings import MirrorSettings
from linker.mirror.compare import PartitionReport, batch_containing, compare_batches, compare_range, tail_problem
from linker.mirror.partition import TP, PartitionMirror
from linker.mirror.rebuild import mark_record_exact
from linker.mirror.state import PartitionState
from linker.mirror.table import PartitionTable
from linker.naming import MirrorNames

log = logging.getLogger("linker.mirror")

#: Bytes asked per audit fetch: the batch holding the offset comes whole even if larger.
AUDIT_FETCH_BYTES = 64 * 1024
#: Partitions audited at once within a round.
AUDIT_CONCURRENCY = 4
#: The start-up prefix check: bytes compared from the start of the adopted range (per
#: cluster), then this many single batches at random offsets after it.
PREFIX_HEAD_BYTES = 1024 * 1024
PREFIX_SAMPLES = 8
#: Prefix checks running at once, attempts per check and the pause between attempts.
PREFIX_CHECK_CONCURRENCY = 2
PREFIX_CHECK_ATTEMPTS = 5
PREFIX_CHECK_RETRY_S = 2.0


def audit_quota(partitions: int, tick_s: float, cycle_s: float) -> int:
    """Partitions to audit per tick so that each of ``partitions`` is audited within
    ``cycle_s`` + one tick, when each tick audits the ones audited longest ago."""
    return math.ceil(partitions * tick_s / cycle_s) if partitions else 0


def due(audited_at: Mapping[TP, float], candidates: list[TP], count: int) -> list[TP]:
    """The ``count`` candidates audited longest ago."""
    return heapq.nsmallest(count, candidates, key=audited_at.__getitem__)


def sample_offsets(lo: int, hi: int, count: int, rng: random.Random) -> list[int]:
    """Up to ``count`` distinct offsets in ``lo..hi`` (inclusive), ascending."""
    if hi < lo:
        return []
    return sorted(rng.sample(range(lo, hi + 1), min(count, hi - lo + 1)))


class Auditor:
    def __init__(self, table: PartitionTable, source: Client, dest: Client, names: MirrorNames,
                 settings: MirrorSettings, metrics: MirrorMetrics) -> None:
        self.table = table
        self.source = source
        self.dest = dest
        self.names = names
        self.settings = settings
        self.metrics = metrics
        self._adopted: asyncio.Queue[tuple[TP, int, int]] = asyncio.Queue()
        # When each MIRRORING partition was last audited (or joined the audit), monotonic.
        self._audited_at: dict[TP, float] = {}
        self._recent: deque[float] = deque()   # audit times within the last minute
        self._rng = random.Random()
        self._prefix_running = 0
        self._prefix_done = 0

    # -- the running tail audit ------------------------------------------------------
    def _candidates(self, now: float) -> list[TP]:
        live = [pm.tp for pm in self.table.partitions.values()
                if pm.status.state is PartitionState.MIRRORING and pm.acked_end > 0 and not pm.unowned]
        audited = {tp: self._audited_at.get(tp, now) for tp in live}   # a newcomer's clock starts now
        self._audited_at = audited
        return live

    def coverage(self) -> dict[str, Any]:
        """What ``/status`` shows: the bound, the oldest audit and the recent rate."""
        now = time.monotonic()
        while self._recent and self._recent[0] < now - 60:
            self._recent.popleft()
        oldest = now - min(self._audited_at.values()) if self._audited_at else 0.0
        return {"cycle_s": self.settings.audit_cycle_ms / 1000, "partitions": len(self._audited_at),
                "oldest_audit_age_s": round(oldest, 1), "audited_last_minute": len(self._recent),
                "prefix_checks": {"pending": self._adopted.qsize(), "running": self._prefix_running,
                                  "done": self._prefix_done}}

    async def run_tail_audit(self) -> None:
        """Every ``audit_interval_ms``: the last batch of the partitions audited longest ago,
        enough of them for every partition to be audited within ``audit_cycle_ms``."""
        tick = self.settings.audit_interval_ms / 1000
        slots = asyncio.Semaphore(AUDIT_CONCURRENCY)
        next_round = time.monotonic() + tick
        while True:
            await asyncio.sleep(max(0.0, next_round - time.monotonic()))
            next_round += tick
            now = time.monotonic()
            live = self._candidates(now)
            count = audit_quota(len(live), tick, self.settings.audit_cycle_ms / 1000)
            async with asyncio.TaskGroup() as tasks:
                for tp in due(self._audited_at, live, count):
                    tasks.create_task(self._audit(slots, self.table.partitions[tp]))
            cov = self.coverage()
            self.metrics.audit_oldest_age.set(cov["oldest_audit_age_s"])
            self.metrics.audit_partitions_recent.set(cov["audited_last_minute"])

    async def _audit(self, slots: asyncio.Semaphore, pm: PartitionMirror) -> None:
        """Compare the destination's last batch of ``pm`` with the source's."""
        async with slots:
            end = pm.acked_end
            self._audited_at[pm.tp] = now = time.monotonic()
            self._recent.append(now)
            if pm.compacted:
                await self._audit_compacted(pm, end)
                return
            try:
                src_p, dst_p = await asyncio.gather(
                    self.source.fetch_partition(pm.tp, end - 1, AUDIT_FETCH_BYTES),
                    self.dest.fetch_partition(self.names.mirror_tp(pm.tp), end - 1, AUDIT_FETCH_BYTES))
            except ClientError as exc:
                log.debug("audit of %s-%d skipped: %s", pm.tp[0], pm.tp[1], exc)
                self.metrics.audit_partitions_total.inc(result="skipped")
                return
            self.metrics.audit_bytes_total.inc(len(src_p.records or b"") + len(dst_p.records or b""))
            src_b = batch_containing(src_p.records, end - 1) if not src_p.error_code else None
            dst_b = batch_containing(dst_p.records, end - 1) if not dst_p.error_code else None
            if src_b is None or dst_b is None or dst_b.next_offset != end:
                self.metrics.audit_partitions_total.inc(result="skipped")
                return  # not readable yet (high watermark, a moved leader): audited again soon
            why = compare_batches(src_b, dst_b)
            self.metrics.audit_partitions_total.inc(result="ok" if why is None else "differs")
            if why is not None and pm.status.state is PartitionState.MIRRORING:
                self.table.move(pm, PartitionState.FAILED, f"audit: destination stored the batch ending at "
                                                           f"{end - 1} differently: {why}",
                                offset=dst_b.base_offset)

    async def _audit_compacted(self, pm: PartitionMirror, end: int) -> None:
        """The last mirrored offset of a compacted partition, by bytes or by records where cleaned."""
        try:
            why = await tail_problem(self.source, self.dest, pm.tp, self.names.mirror_tp(pm.tp), end,
                                     budget=AUDIT_FETCH_BYTES)
        except (ClientError, RuntimeError) as exc:
            log.debug("audit of %s-%d skipped: %s", pm.tp[0], pm.tp[1], exc)
            self.metrics.audit_partitions_total.inc(result="skipped")
            return
        self.metrics.audit_partitions_total.inc(result="ok" if why is None else "differs")
        if why is not None and pm.status.state is PartitionState.MIRRORING and pm.acked_end == end:
            self.table.move(pm, PartitionState.FAILED, f"audit: destination offset {end - 1} differs: {why}",
                            offset=end - 1)

    # -- the prefix check of adopted data ----------------------------------------------
    def check_prefix(self, tp: TP, d_start: int, d_end: int) -> None:
        """Queue a prefix check of destination offsets ``d_start..d_end`` found at start."""
        self._adopted.put_nowait((tp, d_start, d_end))

    async def run_prefix_checks(self) -> None:
        slots = asyncio.Semaphore(PREFIX_CHECK_CONCURRENCY)
        async with asyncio.TaskGroup() as tasks:
            while True:
                item = await self._adopted.get()
                tasks.create_task(self._check_prefix(slots, *item))

    async def _check_prefix(self, slots: asyncio.Semaphore, tp: TP, d_start: int, d_end: int) -> None:
        """One start-up prefix check; counted as running, then done, in ``coverage``."""
        async with slots:
            self._prefix_running += 1
            try:
                await self._check_prefix_once(tp, d_start, d_end)
            finally:
                self._prefix_running -= 1
                self._prefix_done += 1

    async def _check_prefix_once(self, tp: TP, d_start: int, d_end: int) -> None:
        for _ in range(PREFIX_CHECK_ATTEMPTS):
            try:
                s_start = (await self.source.offsets([tp], EARLIEST_TIMESTAMP))[tp]
                rep = await self._bounded_prefix(tp, max(s_start, d_start), d_end)
                break
            except (ClientError, RuntimeError) as exc:
                log.info("prefix check of %s-%d failed (%s); retrying", tp[0], tp[1], exc)
                await asyncio.sleep(PREFIX_CHECK_RETRY_S)
        else:
            log.warning("prefix check of %s-%d could not complete; run `linker verify`", tp[0], tp[1])
            self.metrics.prefix_checks_total.inc(result="incomplete")
            return
        if rep.divergence is not None:
            self.metrics.prefix_checks_total.inc(result="differs")
            self.table.move(self.table.partitions[tp], PartitionState.FAILED,
                            f"destination data found at start is not an exact prefix of the source: "
                            f"{rep.divergence}", offset=rep.checked_to)
        else:
            self.metrics.prefix_checks_total.inc(result="ok")
            log.info("partition %s-%d: destination data found at start matches the source: %d batches compared "
                     "(offsets %d..%d in full, samples up to %d), %d bytes read", tp[0], tp[1],
                     rep.checked_batches, rep.checked_from, rep.checked_to, d_end, rep.bytes_read)

    async def _bounded_prefix(self, tp: TP, start: int, d_end: int) -> PartitionReport:
        """The head of ``start..d_end`` within ``PREFIX_HEAD_BYTES`` per cluster, then
        ``PREFIX_SAMPLES`` single batches at random offsets after it; ``checked_batches``
        counts both, ``checked_to`` is where the head comparison stopped."""
        mirror_tp = self.names.mirror_tp(tp)
        pm = self.table.partitions[tp]
        rep = await compare_range(self.source, self.dest, tp, mirror_tp, start, d_end, budget=PREFIX_HEAD_BYTES,
                                  compacted=pm.compacted)
        for offset in sample_offsets(rep.checked_to, d_end - 2, PREFIX_SAMPLES if rep.ok else 0, self._rng):
            one = await compare_range(self.source, self.dest, tp, mirror_tp, offset, offset + 1,
                                      budget=AUDIT_FETCH_BYTES, compacted=pm.compacted)
            rep.bytes_read += one.bytes_read
            rep.checked_batches += one.checked_batches
            rep.records_compared += one.records_compared
            if not one.ok:
                rep.divergence, rep.checked_to = one.divergence, offset
                break
        self.metrics.audit_bytes_total.inc(rep.bytes_read)
        if rep.records_compared:
            mark_record_exact(pm)
        return rep
