"""The lag watch: every ``LAG_INTERVAL_S``, both clusters' ends of every live
partition become lag metrics; a destination end beyond what the linker wrote
means foreign writes (the partition FAILS). Ends are read per leader: a
partition without a leader is skipped (and shown as waiting), the rest are
watched; when no partition's ends can be read the link shows as waiting. Every ``metadata_refresh_ms`` it
also asks the locator to pick up topics that started matching the link. Each round also feeds the
link's catch-up estimate (``progress``), logged at most every ``mirror.progress_log_interval_ms``."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from linker.client import LATEST_TIMESTAMP, LOG_END, Client, ClientError
from linker.settings import MirrorSettings
from linker.metrics import MirrorMetrics
from linker.mirror.locate import isolated_offsets
from linker.mirror.progress import Observation, Progress
from linker.mirror.state import TERMINAL, ClusterWait, PartitionState
from linker.mirror.table import PartitionTable
from linker.naming import MirrorNames

log = logging.getLogger("linker.mirror")

LAG_INTERVAL_S = 2.0


class LagWatch:
    def __init__(self, table: PartitionTable, source: Client, dest: Client, names: MirrorNames,
                 settings: MirrorSettings, metrics: MirrorMetrics, discover: Callable[[], Awaitable[None]],
                 wait: ClusterWait | None = None) -> None:
        self.wait = wait or ClusterWait()
        self.table = table
        self.source = source
        self.dest = dest
        self.names = names
        self.settings = settings
        self.metrics = metrics
        self._discover = discover
        self.progress = Progress()
        self._logged_at = 0.0

    async def run(self) -> None:
        last_meta = time.monotonic()
        while True:
            await asyncio.sleep(LAG_INTERVAL_S)
            try:
                if time.monotonic() - last_meta > self.settings.metadata_refresh_ms / 1000:
                    last_meta = time.monotonic()
                    await self._discover()
                live = [pm for pm in self.table.partitions.values()
                        if pm.status.state not in TERMINAL and not pm.unowned]
                tps = [pm.tp for pm in live]
                acked_before = {pm.tp: pm.acked_end for pm in live}
                if not tps:
                    self.wait.ready()
                    continue
                m_tps = [self.names.mirror_tp(tp) for tp in tps]
                # Per leader: a partition without one is skipped this round, the others are watched.
                (s_hw, s_failed), (d_end_m, d_failed) = await asyncio.gather(
                    isolated_offsets(self.source, tps, LATEST_TIMESTAMP), isolated_offsets(self.dest, m_tps, LOG_END))
            except ClientError as exc:
                log.info("lag refresh failed: %s", exc)
                self.wait.waiting(f"lag refresh: {exc}")
                continue
            d_end = {tp: d_end_m[m] for tp, m in zip(tps, m_tps) if m in d_end_m}
            failed = {**{tp: d_failed[m] for tp, m in zip(tps, m_tps) if m in d_failed}, **s_failed}
            self.metrics.partitions_waiting.set(len(failed))
            if failed and len(failed) == len(tps):
                self.wait.waiting(f"no partition's ends could be read: {next(iter(failed.values()))}")
            else:
                self.wait.ready()
            now_ms = time.time() * 1000
            behind = [0, 0]
            for pm in live:
                self.table.show_fidelity(pm)   # record-exact is set outside a state move (rebuild.py)
                if pm.tp in failed:
                    pm.status.waiting = str(failed[pm.tp])
                    continue
                hw, de = s_hw[pm.tp], d_end[pm.tp]
                if not pm.resync_needed:
                    pm.status.waiting = None
                pm.status.source_high_watermark = hw
                if pm.active and pm.in_flight is None and de > pm.acked_end and de != pm.produced_end:
                    self.table.move(pm, PartitionState.FAILED,
                                    f"foreign writes: destination log end is {de} but the linker wrote up to "
                                    f"{pm.acked_end}", offset=pm.acked_end)
                    continue
                if pm.active and de < min(acked_before[pm.tp], pm.acked_end):
                    # Lost acknowledged offsets? The locator re-reads the end and names it (DEST_TRUNCATED).
                    self.table.schedule_resync(pm, f"destination log end {de} below the acknowledged end")
                    continue
                lag = max(0, hw - pm.acked_end)
                t, p = pm.tp
                self.metrics.lag_records.set(lag, topic=t, partition=p)
                self.metrics.lag_bytes.set(int(lag * pm.avg_record_bytes()), topic=t, partition=p)
                secs = 0.0
                if lag and pm.last_mirrored_ts is not None:
                    secs = max(0.0, (now_ms - pm.last_mirrored_ts) / 1000)
                self.metrics.lag_seconds.set(secs, topic=t, partition=p)
                behind[0] += lag
                behind[1] += int(lag * pm.avg_record_bytes())
            self._note_progress(behind[0], behind[1])

    def _note_progress(self, lag_records: int, lag_bytes: int) -> None:
        """Feed the catch-up estimate; log it at most every ``progress_log_interval_ms``."""
        now = time.monotonic()
        self.progress.observe(Observation(now, lag_records, lag_bytes, self.metrics.records_total.get() or 0,
                                          self.metrics.bytes_total.get() or 0))
        eta = self.progress.eta_seconds()
        if eta is None:
            self.metrics.catchup_eta_seconds.remove()
        else:
            self.metrics.catchup_eta_seconds.set(eta)
        self.metrics.link_lag_records.set(lag_records)
        self.metrics.link_lag_bytes.set(lag_bytes)
        if now - self._logged_at >= self.settings.progress_log_interval_ms / 1000:
            self._logged_at = now
            log.info("%s", self.progress.line())
