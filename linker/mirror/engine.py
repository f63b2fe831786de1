"""The exact mirror engine (asyncio, one process).

Position is the destination's log end: on start and after every ambiguous
failure the engine asks the destination where each partition ends, checks the
destination's last batch against the source batch ending there (same offsets,
same CRC) and fetches from that offset (``locate.py``). Source batches are
produced verbatim (baseOffset zeroed) one per partition per request, with at
most one produce in flight per partition, and every response's base offset is
checked against the source offset (``producing.py``). This module holds the
state, the lifecycle, the fetch side and the lag/foreign-write watch.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable

from kproto.records.batch import BatchView
from kproto.records.reproducibility import classify
from kproto.records.walk import walk_batches
from linker.client.errors import ClientError
from linker.client.kafka_errors import STALE_METADATA_CODES, error_name
from linker.settings import LinkConfig
from linker.metrics import MirrorMetrics
from linker.mirror.audit import Auditing
from linker.mirror.budget import ByteBudget, RoundRobin, partition_share
from linker.mirror.checks import position_problem, timestamp_problem
from linker.mirror.fetcher import SourceFetcher
from linker.mirror.kafka_io import LATEST, LOG_END, TP, ClusterIO, PartitionError
from linker.mirror.locate import Locating
from linker.mirror.partition import Blocker, PartitionMirror
from linker.mirror.producing import Producing
from linker.mirror.state import TERMINAL, PartitionState
from linker.naming import MirrorNames
from linker.selection import TopicSelector

log = logging.getLogger("linker.mirror")

OFFSET_OUT_OF_RANGE = 1
LAG_INTERVAL_S = 2.0


class MirrorEngine(Locating, Producing, Auditing):
    def __init__(self, config: LinkConfig, metrics: MirrorMetrics | None = None) -> None:
        self.config = config
        self.m = config.mirror
        self.metrics = metrics or MirrorMetrics()
        self.source = ClusterIO(config.source, "source", f"{config.source.client_id}-{config.name}")
        self.dest = ClusterIO(config.destination, "destination", f"{config.destination.client_id}-{config.name}")
        self.selector = TopicSelector(config.topics)
        self.names = MirrorNames(config.topics.prefix)   # partitions are keyed by source name
        self.partitions: dict[TP, PartitionMirror] = {}
        self.budget = ByteBudget(self.m.max_in_flight_bytes)
        self._wake_producer = asyncio.Event()
        self._stopping = asyncio.Event()
        self._fetchers: dict[int, SourceFetcher] = {}
        self._requests_in_flight: dict[int, int] = {}
        self._produce_tasks: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[Any]] = []
        self._rr: RoundRobin[TP, None] = RoundRobin()
        self._align_slots = asyncio.Semaphore(4)
        self.started = asyncio.Event()
        self.crashed: BaseException | None = None
        # Awaited at shutdown while the clients are still open (the lifecycle's last state write).
        self.before_close: list[Callable[[], Awaitable[None]]] = []
        # Awaited with the source names of mirror topics about to be created (the lifecycle
        # makes them read-only first, so no client can write them before the first poll).
        self.before_create: list[Callable[[list[str]], Awaitable[None]]] = []
        # Set by fetch/produce paths, acted on by the resync loop.
        self.source_metadata_stale = False
        self.dest_metadata_stale = False
        self._adopted: dict[TP, tuple[int, int]] = {}
        # Lifecycle hooks (linker.lifecycle): topics never mirrored again, topics not fetched for now.
        self.stopped_topics: set[str] = set()
        self.paused_topics: set[str] = set()

    def status_doc(self) -> dict[str, Any]:
        parts = []
        for pm in self.partitions.values():
            d = pm.status.as_dict()
            d["acked_end"] = pm.acked_end
            d["avg_record_bytes"] = pm.avg_record_bytes()
            d["paused"] = pm.paused
            parts.append(d)
        return {"link": self.config.name, "partitions": parts}

    def _move(self, pm: PartitionMirror, state: PartitionState, reason: str = "",
              offset: int | None = None) -> None:
        if pm.status.state in TERMINAL and state is not PartitionState.STOPPED:
            return
        if pm.status.state is PartitionState.STOPPED:
            return   # a stopped (promoted) topic keeps its final state
        pm.status.move(state, reason, offset)
        for s in PartitionState:
            self.metrics.state.set(1 if s is state else 0, topic=pm.tp[0], partition=pm.tp[1], state=s.value)
        if state in TERMINAL:
            self._drop_queue(pm)

    # -- lifecycle hooks -------------------------------------------------------
    async def pause_topic(self, topic: str) -> None:
        """Stop fetching and producing ``topic``; returns once nothing of it is in flight."""
        self.paused_topics.add(topic)
        pms = [pm for pm in self.partitions.values() if pm.tp[0] == topic]
        for pm in pms:
            pm.paused = True
            self._drop_queue(pm)
        await self._settled(pms)

    def resume_topic(self, topic: str) -> None:
        """Mirror ``topic`` again from the destination log end (re-located, tail-checked)."""
        self.paused_topics.discard(topic)
        for pm in self.partitions.values():
            if pm.tp[0] == topic and pm.paused:
                pm.paused = False
                self._schedule_resync(pm, "resume")

    async def stop_topic(self, topic: str, reason: str) -> None:
        """Never write ``topic`` again (promote/failover); returns once its last produce settled."""
        self.stopped_topics.add(topic)
        pms = [pm for pm in self.partitions.values() if pm.tp[0] == topic]
        for pm in pms:
            pm.paused = True
            self._drop_queue(pm)
        await self._settled(pms)
        for pm in pms:   # no await from here on: no locate or produce can start in between
            pm.resync_needed = False
            self._drop_queue(pm)
            if pm.status.state is not PartitionState.STOPPED:
                pm.status.move(PartitionState.STOPPED, reason)

    async def _settled(self, pms: list[PartitionMirror]) -> None:
        deadline = time.monotonic() + self.m.stop_timeout_ms / 1000
        while any(pm.in_flight is not None or pm.locating for pm in pms) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    def _drop_queue(self, pm: PartitionMirror) -> None:
        """Forget fetched batches not yet sent (the one in flight settles on its response)."""
        dropped = sum(b.size for b in pm.queue)
        self.budget.give(dropped)
        pm.queued_bytes -= dropped
        self.metrics.in_flight_bytes.set(self.budget.used)
        pm.queue.clear()
        self._rr.drop(pm.tp)

    def _error(self, api: str, name: str) -> None:
        self.metrics.errors_total.inc(api=api, error=name)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Mirror until ``stop`` is set (or forever), then drain and return."""
        if stop is not None:
            self._tasks.append(asyncio.create_task(self._watch_stop(stop)))
        try:
            await self._setup()
            self.started.set()
            for coro in (self._produce_loop(), self._fetch_supervisor(), self._lag_loop(),
                         self._resync_loop(), self._check_adopted(), self._audit_loop()):
                self._tasks.append(self._supervised(coro))
            await self._stopping.wait()
        finally:
            await self._shutdown()
        if self.crashed is not None:
            raise self.crashed

    def _supervised(self, coro: Any) -> asyncio.Task[Any]:
        """A background task whose unexpected death stops the engine loudly."""
        task = asyncio.create_task(coro)

        def done(t: asyncio.Task[Any]) -> None:
            if t.cancelled() or t.exception() is None:
                return
            exc = t.exception()
            log.error("engine task %s died: %r; stopping", getattr(coro, "__name__", coro), exc, exc_info=exc)
            if self.crashed is None:
                self.crashed = exc
            self._stopping.set()
        task.add_done_callback(done)
        return task

    async def _watch_stop(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._stopping.set()

    def request_stop(self) -> None:
        self._stopping.set()

    async def _shutdown(self) -> None:
        self._stopping.set()
        self._wake_producer.set()
        for f in self._fetchers.values():
            f.stop()
        deadline = time.monotonic() + self.m.stop_timeout_ms / 1000
        if self._produce_tasks:
            await asyncio.wait(self._produce_tasks, timeout=max(0.0, deadline - time.monotonic()))
        for t in self._tasks + list(self._produce_tasks) + [f.task for f in self._fetchers.values() if f.task]:
            t.cancel()
        await asyncio.gather(*self._tasks, *self._produce_tasks,
                             *[f.task for f in self._fetchers.values() if f.task], return_exceptions=True)
        for pm in self.partitions.values():
            if pm.status.state not in TERMINAL:
                pm.status.move(PartitionState.STOPPED)
        for hook in self.before_close:
            try:
                await hook()
            except Exception as exc:  # a hook must not keep the connections open
                log.warning("shutdown hook %s failed: %r", getattr(hook, "__qualname__", hook), exc)
        await self.source.close()
        await self.dest.close()

    async def _fetch_supervisor(self) -> None:
        """Keep one fetcher per source broker that leads an active partition."""
        while not self._stopping.is_set():
            leaders = {self.source.leader(tp) for tp, pm in self.partitions.items() if pm.wants_fetch}
            leaders.discard(-1)
            for node in leaders:
                f = self._fetchers.get(node)
                if f is not None and f.task is not None and f.task.done() and not f.task.cancelled() \
                        and f.task.exception() is not None:
                    exc = f.task.exception()
                    log.error("fetcher for source broker %d died: %r; restarting it", node, exc, exc_info=exc)
                    self._error("Fetch", type(exc).__name__)
                if f is None or f.done:
                    f = self._fetchers[node] = SourceFetcher(self, node)
                    f.start()
            await asyncio.sleep(0.2)

    def fetch_targets(self, node: int) -> dict[TP, tuple[int, int, int]]:
        """Partitions this source broker should serve now: offset, epoch, max bytes."""
        out = {}
        active = sum(1 for pm in self.partitions.values() if pm.active) or 1
        share = partition_share(self.m.max_in_flight_bytes, active, self.m.partition_max_bytes)
        for tp, pm in self.partitions.items():
            if pm.wants_fetch and pm.queued_bytes < share and self.source.leader(tp) == node:
                out[tp] = (pm.next_fetch, pm.fetch_epoch, max(self.m.partition_max_bytes, pm.max_bytes_hint))
        return out

    def on_fetched(self, tp: TP, p: Any, sent_offset: int) -> None:
        """Handle one partition of a fetch response (called by fetchers)."""
        pm = self.partitions.get(tp)
        if pm is None or not pm.active or pm.next_fetch != sent_offset:
            return  # stale response for a partition that moved on
        code = p.error_code
        if code:
            name = error_name(code)
            self._error("Fetch", name)
            if code in STALE_METADATA_CODES:
                self.source_metadata_stale = True
            elif code == OFFSET_OUT_OF_RANGE:
                log.info("partition %s-%d: source says offset %d is out of range; re-locating",
                         tp[0], tp[1], sent_offset)
                self._schedule_resync(pm)
            else:
                self._move(pm, PartitionState.FAILED, f"source fetch error {name}", offset=sent_offset)
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
        added = 0
        walk = walk_batches(records)
        for b in walk:
            expected = pm.next_fetch if pm.first_base is None else pm.first_base
            if b.next_offset <= expected:
                continue
            if type(b) is not BatchView:
                self._enqueue(pm, Blocker(expected, classify(b).reason))
                break
            problem = position_problem(b.base_offset, b.next_offset, expected)
            if problem is not None:
                if problem[0] == "FAILED":
                    self._move(pm, PartitionState.FAILED, problem[1], offset=expected)
                else:
                    self._enqueue(pm, Blocker(expected, problem[1]))
                break
            verdict = classify(b)
            why = verdict.reason if not verdict.exact else timestamp_problem(b.attributes, b.base_offset)
            if not verdict.exact or why is not None:
                # Everything before it is still produced; the partition stops at this batch.
                self._enqueue(pm, Blocker(b.base_offset, why))
                break
            self._enqueue(pm, b)
            pm.first_base = None
            size = b.size
            pm.queued_bytes += size
            added += size
            pm.next_fetch = b.next_offset
            pm.fetch_epoch = b.partition_leader_epoch
        if not added and walk.truncated and walk.consumed == 0 and len(records) >= 12:
            # One batch bigger than the partition limit: ask for all of it next time.
            pm.max_bytes_hint = int.from_bytes(bytes(records[8:12]), "big") + 12
        elif added:
            pm.max_bytes_hint = 0
        if added:
            self.budget.take(added)
            self.metrics.in_flight_bytes.set(self.budget.used)
        if pm.queue:
            self._wake_producer.set()

    def _enqueue(self, pm: PartitionMirror, item: Any) -> None:
        if not pm.queue:
            self._rr.push(pm.tp, None)
        pm.queue.append(item)
        if isinstance(item, Blocker):
            pm.fetch_done = True

    def _on_diverging(self, pm: PartitionMirror, epoch: int, end_offset: int) -> None:
        tp = pm.tp
        if end_offset < pm.produced_end:
            self._move(pm, PartitionState.DIVERGED,
                       f"source log diverged (unclean leader election): epoch {epoch} ends at "
                       f"{end_offset} but the destination holds up to {pm.produced_end}",
                       offset=end_offset)
            return
        log.warning("partition %s-%d: source diverged at %d (epoch %d) above the destination end %d; "
                    "dropping fetched batches and re-fetching", tp[0], tp[1], end_offset, epoch, pm.produced_end)
        self._drop_queue(pm)
        pm.next_fetch = pm.produced_end
        pm.fetch_epoch = pm.produced_epoch

    async def _lag_loop(self) -> None:
        last_meta = time.monotonic()
        while not self._stopping.is_set():
            await asyncio.sleep(LAG_INTERVAL_S)
            try:
                if time.monotonic() - last_meta > self.m.metadata_refresh_ms / 1000:
                    last_meta = time.monotonic()
                    await self._discover()
                live = [pm for pm in self.partitions.values() if pm.status.state not in TERMINAL]
                tps = [pm.tp for pm in live]
                if not tps:
                    continue
                s_hw, d_end_m = await asyncio.gather(
                    self.source.list_offsets(tps, LATEST),
                    self.dest.list_offsets([self.names.mirror_tp(tp) for tp in tps], LOG_END))
                d_end = self.names.by_source(d_end_m, tps)
            except (ClientError, PartitionError) as exc:
                log.info("lag refresh failed: %s", exc)
                continue
            now_ms = time.time() * 1000
            for pm in live:
                hw, de = s_hw[pm.tp], d_end[pm.tp]
                st = pm.status
                st.source_high_watermark = hw
                if pm.active and pm.in_flight is None and de > pm.acked_end and de != pm.produced_end:
                    self._move(pm, PartitionState.FAILED,
                               f"foreign writes: destination log end is {de} but the linker wrote up to "
                               f"{pm.acked_end}", offset=pm.acked_end)
                    continue
                lag = max(0, hw - pm.acked_end)
                t, p = pm.tp
                self.metrics.lag_records.set(lag, topic=t, partition=p)
                self.metrics.lag_bytes.set(int(lag * pm.avg_record_bytes()), topic=t, partition=p)
                secs = 0.0
                if lag and pm.last_mirrored_ts is not None:
                    secs = max(0.0, (now_ms - pm.last_mirrored_ts) / 1000)
                self.metrics.lag_seconds.set(secs, topic=t, partition=p)
