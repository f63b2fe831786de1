"""The fetch side: one long-polling fetch loop per source broker that leads a
fetchable partition, each with the client's incremental fetch session
(KIP-227) on its own connection: after the first full request only partitions
whose fetch position changed are sent, and partitions held back by their
budget share are dropped from the session (``forgotten``) until they have
room again.

Every fetched batch is judged here before it is queued in the partition
table: it must start where the destination expects the next offset, and it
must be storable exactly (``kproto.records.classify``, ``checks``). The
response frame is charged to the byte budget (``PartitionTable.charge_frame``).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from kproto.errors import ErrorCode
from kproto.records.batch import BatchView
from kproto.records.layout import LOG_OVERHEAD
from kproto.records.reproducibility import classify
from kproto.records.walk import BatchWalk, walk_batches
from linker.client import STALE_METADATA_CODES, Client, ClientError, FetchPosition
from linker.client.kafka_errors import error_name
from linker.settings import MirrorSettings
from linker.metrics import MirrorMetrics
from linker.mirror.partition import TP, FrameCharge, PartitionMirror
from linker.mirror.signals import StaleMetadata
from linker.mirror.checks import blocking_reason, position_problem
from linker.mirror.compacted import queue_compacted
from linker.mirror.state import PartitionState
from linker.mirror.table import FetchParams, PartitionTable

log = logging.getLogger("linker.fetch")

#: Pause after a failed fetch request before the next one (the connection or broker is gone).
FETCH_RETRY_DELAY_S = 0.5


class Fetcher:
    """Runs and supervises the per-broker fetch loops; judges what they fetch."""

    def __init__(self, table: PartitionTable, source: Client, settings: MirrorSettings,
                 metrics: MirrorMetrics, stale: StaleMetadata,
                 topic_ids: Callable[[set[str]], dict[str, Any]] = lambda _: {}) -> None:
        self.table = table
        # The pinned source topic ids to fetch by (a recreated topic then answers UNKNOWN_TOPIC_ID).
        self.topic_ids = topic_ids
        self.source = source
        self.settings = settings
        self.metrics = metrics
        self.stale = stale

    async def run(self) -> None:
        """Keep one fetch loop per source broker leading a fetchable partition.

        A loop that dies unexpectedly is logged, counted and started again when
        still needed; a loop with nothing left to fetch ends on its own.
        """
        loops: dict[int, asyncio.Task[None]] = {}
        try:
            while True:
                self.table.fetchers_needed.clear()
                for node in self.table.fetch_leaders(self.source.leader):
                    if node not in loops:
                        loops[node] = asyncio.create_task(self._fetch_loop(node), name=f"fetch-{node}")
                wake = asyncio.ensure_future(self.table.fetchers_needed.wait())
                try:
                    done, _ = await asyncio.wait([wake, *loops.values()], return_when=asyncio.FIRST_COMPLETED)
                finally:
                    wake.cancel()
                died = False
                for node, task in list(loops.items()):
                    if not task.done():
                        continue
                    del loops[node]
                    exc = task.exception()
                    if exc is not None:
                        log.error("fetcher for source broker %d died: %r; restarting it", node, exc, exc_info=exc)
                        self.metrics.errors_total.inc(api="Fetch", error=type(exc).__name__)
                        died = True
                if died:
                    await asyncio.sleep(FETCH_RETRY_DELAY_S)   # no tight restart loop
        finally:
            for task in loops.values():
                task.cancel()
            await asyncio.gather(*loops.values(), return_exceptions=True)

    async def _fetch_loop(self, node: int) -> None:
        table = self.table
        session = self.source.fetch_session(node, dedicated=True)   # long polls get their own connection
        try:
            while True:
                if table.budget.full:
                    await table.budget.wait_for_room()
                wanted, leads = table.fetch_targets(node, self.source.leader)
                if not wanted:
                    if not leads:
                        return   # no partition led here any more; the supervisor restarts us when needed
                    await table.fetch_ready.wait()
                    continue
                # The current leader epoch too: a demoted leader (still serving consumer fetches
                # as a follower, Fetch v11+) answers FENCED_LEADER_EPOCH, which refreshes metadata.
                leader_epoch = self.source.leader_epoch
                positions = {tp: FetchPosition(off, last_fetched_epoch=epoch, current_leader_epoch=leader_epoch(tp),
                                               max_bytes=max_bytes)
                             for tp, (off, epoch, max_bytes) in wanted.items()}
                try:
                    result = await session.fetch(positions, max_wait_ms=self.settings.fetch_max_wait_ms,
                                                 max_bytes=self.settings.fetch_max_bytes,
                                                 topic_ids=self.topic_ids({tp[0] for tp in positions}))
                except ClientError as exc:
                    log.info("fetch from source broker %d failed: %s", node, exc)
                    self.metrics.errors_total.inc(api="Fetch", error=getattr(exc, "name", type(exc).__name__))
                    self.stale.mark_source()
                    await asyncio.sleep(FETCH_RETRY_DELAY_S)
                    continue
                self.on_response(result.partitions, wanted)
        finally:
            await session.close()

    def on_response(self, partitions: dict[TP, Any], sent: dict[TP, FetchParams]) -> None:
        """Judge every partition of one fetch response, charging its frame once."""
        frame: FrameCharge | None = None
        try:
            for tp, p in partitions.items():
                params = sent.get(tp)
                if params is None:
                    continue
                if frame is None and p.records:
                    # Every records field is a view over the one response frame.
                    frame = self.table.charge_frame(len(getattr(p.records, "obj", p.records)))
                self.on_partition(tp, p, params[0], frame)
        finally:
            self.table.release(frame)
            self.metrics.in_flight_bytes.set(self.table.budget.used)

    def on_partition(self, tp: TP, p: Any, sent_offset: int, frame: FrameCharge | None) -> None:
        """Handle one partition of a fetch response (``frame``: the charge of its records)."""
        table = self.table
        pm = table.partitions.get(tp)
        if pm is None or not pm.active or pm.next_fetch != sent_offset:
            return  # stale response for a partition that moved on
        code = p.error_code
        if code:
            name = error_name(code)
            self.metrics.errors_total.inc(api="Fetch", error=name)
            if code in STALE_METADATA_CODES:
                self.stale.mark_source()
            elif code == ErrorCode.OFFSET_OUT_OF_RANGE:
                log.info("partition %s-%d: source says offset %d is out of range; re-locating",
                         tp[0], tp[1], sent_offset)
                table.schedule_resync(pm)
            else:
                table.move(pm, PartitionState.FAILED, f"source fetch error {name}", offset=sent_offset)
            return
        pm.status.source_high_watermark = p.high_watermark
        pm.status.source_log_start = p.log_start_offset
        de = p.diverging_epoch
        if de is not None and (de.epoch >= 0 or de.end_offset >= 0):
            self._on_diverging(pm, de.epoch, de.end_offset)
            return
        records = p.records
        if not records:
            return
        assert frame is not None
        walk = walk_batches(records)
        if pm.compacted:
            added = queue_compacted(table, pm, list(walk), frame)
        else:
            added = self._queue_exact(pm, walk, frame)
        if not added and walk.truncated and walk.consumed == 0 and len(records) >= LOG_OVERHEAD:
            # One batch bigger than the partition limit: ask for all of it next time.
            pm.max_bytes_hint = int.from_bytes(bytes(records[8:12]), "big") + LOG_OVERHEAD
        elif added:
            pm.max_bytes_hint = 0

    def _queue_exact(self, pm: PartitionMirror, walk: BatchWalk, frame: FrameCharge) -> bool:
        """Queue fetched batches that can be stored byte-exact; stop the partition at the first that cannot."""
        table = self.table
        added = False
        for b in walk:
            expected = pm.next_fetch if pm.first_base is None else pm.first_base
            if b.next_offset <= expected:
                continue
            if type(b) is not BatchView:
                table.block_after_queue(pm, expected, classify(b).reason)
                break
            problem = position_problem(b.base_offset, b.next_offset, expected)
            if problem is not None:
                if problem[0] == "FAILED":
                    table.move(pm, PartitionState.FAILED, problem[1], offset=expected)
                else:
                    table.block_after_queue(pm, expected, problem[1])
                break
            why = blocking_reason(b, compacted=False)
            if why is not None:
                # Everything before it is still produced; the partition stops at this batch.
                table.block_after_queue(pm, b.base_offset, why)
                break
            table.enqueue(pm, b, frame)
            pm.first_base = None
            added = True
            pm.next_fetch = b.next_offset
            pm.fetch_epoch = b.partition_leader_epoch
        return added

    def _on_diverging(self, pm: PartitionMirror, epoch: int, end_offset: int) -> None:
        tp = pm.tp
        if end_offset < pm.produced_end:
            self.table.move(pm, PartitionState.DIVERGED,
                            f"source log diverged (unclean leader election): epoch {epoch} ends at "
                            f"{end_offset} but the destination holds up to {pm.produced_end}",
                            offset=end_offset)
            return
        if pm.compacted:
            # The producer sequences planned with the dropped batches are gone too: the locator
            # re-reads them (DescribeProducers) with the destination end.
            self.table.schedule_resync(pm, f"source divergence at {end_offset} (epoch {epoch}) above the "
                                           f"destination end {pm.produced_end}")
            return
        log.warning("partition %s-%d: source diverged at %d (epoch %d) above the destination end %d; "
                    "dropping fetched batches and re-fetching", tp[0], tp[1], end_offset, epoch, pm.produced_end)
        self.table.drop_queue(pm)
        pm.next_fetch = pm.produced_end
        pm.fetch_epoch = pm.produced_epoch
