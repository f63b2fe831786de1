"""The auditor: the engine's running safety net, two checks built on ``compare``.

- Every ``audit_interval_ms``, compare the destination's last batch of a few
  partitions with the source's. The produce response proves offsets, not
  bytes; this catches a broker that stored a batch differently (as it does for
  LogAppendTime batches) soon after it happens.
- Destination data found when a partition is first located (adopted) is
  compared with the source batch by batch: the locator's tail check proves the
  last batch, this proves the whole prefix, so a destination topic written by
  something else is never adopted silently.
"""
from __future__ import annotations

import asyncio
import logging

from linker.client import EARLIEST_TIMESTAMP, Client, ClientError
from linker.settings import MirrorSettings
from linker.mirror.compare import batch_containing, compare_batches, compare_partition, tail_problem
from linker.mirror.partition import TP, PartitionMirror
from linker.mirror.rebuild import mark_record_exact
from linker.mirror.state import PartitionState
from linker.mirror.table import PartitionTable
from linker.naming import MirrorNames

log = logging.getLogger("linker.mirror")

AUDIT_PARTITIONS_PER_ROUND = 16
#: Prefix checks running at once, attempts per check and the pause between attempts.
PREFIX_CHECK_CONCURRENCY = 2
PREFIX_CHECK_ATTEMPTS = 5
PREFIX_CHECK_RETRY_S = 2.0


class Auditor:
    def __init__(self, table: PartitionTable, source: Client, dest: Client, names: MirrorNames,
                 settings: MirrorSettings) -> None:
        self.table = table
        self.source = source
        self.dest = dest
        self.names = names
        self.settings = settings
        self._adopted: asyncio.Queue[tuple[TP, int, int]] = asyncio.Queue()

    # -- the running tail audit ------------------------------------------------------
    async def run_tail_audit(self) -> None:
        """Every ``audit_interval_ms``: the last batch of the next few MIRRORING partitions."""
        cursor = 0
        while True:
            await asyncio.sleep(self.settings.audit_interval_ms / 1000)
            pms = [pm for pm in self.table.partitions.values()
                   if pm.status.state is PartitionState.MIRRORING and pm.acked_end > 0]
            if not pms:
                continue
            batch = [pms[(cursor + i) % len(pms)] for i in range(min(AUDIT_PARTITIONS_PER_ROUND, len(pms)))]
            cursor = (cursor + len(batch)) % len(pms)
            for pm in batch:
                end = pm.acked_end
                if pm.compacted:
                    await self._audit_compacted(pm, end)
                    continue
                try:
                    src_p, dst_p = await asyncio.gather(
                        self.source.fetch_partition(pm.tp, end - 1, self.settings.partition_max_bytes),
                        self.dest.fetch_partition(self.names.mirror_tp(pm.tp), end - 1,
                                                  self.settings.partition_max_bytes))
                except ClientError as exc:
                    log.debug("audit of %s-%d skipped: %s", pm.tp[0], pm.tp[1], exc)
                    continue
                src_b = batch_containing(src_p.records, end - 1) if not src_p.error_code else None
                dst_b = batch_containing(dst_p.records, end - 1) if not dst_p.error_code else None
                if src_b is None or dst_b is None or dst_b.next_offset != end:
                    continue  # not readable yet (high watermark) or already moved on
                why = compare_batches(src_b, dst_b)
                if why is not None and pm.status.state is PartitionState.MIRRORING:
                    self.table.move(pm, PartitionState.FAILED, f"audit: destination stored the batch ending at "
                                                               f"{end - 1} differently: {why}",
                                    offset=dst_b.base_offset)

    async def _audit_compacted(self, pm: PartitionMirror, end: int) -> None:
        """The last mirrored offset of a compacted partition, by bytes or by records where cleaned."""
        try:
            why = await tail_problem(self.source, self.dest, pm.tp, self.names.mirror_tp(pm.tp), end)
        except (ClientError, RuntimeError) as exc:
            log.debug("audit of %s-%d skipped: %s", pm.tp[0], pm.tp[1], exc)
            return
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
        async with slots:
            for _ in range(PREFIX_CHECK_ATTEMPTS):
                try:
                    s_start = (await self.source.offsets([tp], EARLIEST_TIMESTAMP))[tp]
                    pm = self.table.partitions[tp]
                    rep = await compare_partition(self.source, self.dest, tp, s_start, d_end, d_start, d_end,
                                                  dest_tp=self.names.mirror_tp(tp), compacted=pm.compacted)
                    if rep.records_compared:
                        mark_record_exact(pm)
                    break
                except (ClientError, RuntimeError) as exc:
                    log.info("prefix check of %s-%d failed (%s); retrying", tp[0], tp[1], exc)
                    await asyncio.sleep(PREFIX_CHECK_RETRY_S)
            else:
                log.warning("prefix check of %s-%d could not complete; run `linker verify`", tp[0], tp[1])
                return
        if rep.divergence is not None:
            self.table.move(self.table.partitions[tp], PartitionState.FAILED,
                            f"destination data found at start is not an exact prefix of the source: "
                            f"{rep.divergence}", offset=rep.checked_to)
        else:
            log.info("partition %s-%d: destination offsets %d..%d found at start match the source "
                     "(%d batches)", tp[0], tp[1], rep.checked_from, d_end, rep.checked_batches)
