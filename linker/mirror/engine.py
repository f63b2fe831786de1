"""The exact mirror engine (asyncio, one process).

Position is the destination's log end: on start and after every ambiguous
failure the engine asks the destination where each partition ends, checks the
destination's last batch against the source batch ending there (same offsets,
same CRC) and fetches from that offset. Source batches are produced verbatim
(baseOffset zeroed) one per partition per request, with at most one produce in
flight per partition, and every response's base offset is checked against
the source offset.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from kproto import messages
from kproto.records.batch import BatchView
from kproto.records.forward import produce_chunks
from kproto.records.reproducibility import classify
from kproto.records.walk import walk_batches
from linker.client.errors import ClientError, KafkaError
from linker.client.kafka_errors import STALE_METADATA_CODES, error_name
from linker.config import LinkConfig
from linker.metrics import MirrorMetrics
from linker.mirror.alignment import DeleteBefore, WriteFillers, plan_alignment
from linker.mirror.budget import ByteBudget, RoundRobin, partition_share
from linker.mirror.checks import Verdict, judge_produce, position_problem
from linker.mirror.fetcher import SourceFetcher
from linker.mirror.filler import filler_batch
from linker.mirror.kafka_io import EARLIEST, LATEST, LOG_END, TP, ClusterIO, PartitionError
from linker.mirror.partition import PartitionMirror
from linker.mirror.state import TERMINAL, PartitionState, PartitionStatus
from linker.mirror.topics import TOPIC_ALREADY_EXISTS, plan_topics
from linker.selection import TopicSelector

log = logging.getLogger("linker.mirror")

OFFSET_OUT_OF_RANGE = 1
MAX_PRODUCE_REQUESTS_PER_BROKER = 8
LAG_INTERVAL_S = 2.0


class MirrorEngine:
    def __init__(self, config: LinkConfig, metrics: MirrorMetrics | None = None) -> None:
        self.config = config
        self.m = config.mirror
        self.metrics = metrics or MirrorMetrics()
        self.source = ClusterIO(config.source, "source", f"{config.source.client_id}-{config.name}")
        self.dest = ClusterIO(config.destination, "destination", f"{config.destination.client_id}-{config.name}")
        self.selector = TopicSelector(config.topics)
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
        self._adopted: dict[TP, tuple[int, int]] = {}

    # -- status ---------------------------------------------------------------
    def status_doc(self) -> dict[str, Any]:
        parts = []
        for pm in self.partitions.values():
            d = pm.status.as_dict()
            d["acked_end"] = pm.acked_end
            d["avg_record_bytes"] = pm.avg_record_bytes()
            parts.append(d)
        return {"link": self.config.name, "partitions": parts}

    def _move(self, pm: PartitionMirror, state: PartitionState, reason: str = "",
              offset: int | None = None) -> None:
        if pm.status.state in TERMINAL and state is not PartitionState.STOPPED:
            return
        pm.status.move(state, reason, offset)
        for s in PartitionState:
            self.metrics.state.set(1 if s is state else 0, topic=pm.tp[0], partition=pm.tp[1], state=s.value)
        if state in TERMINAL:
            self._drop_queue(pm)

    def _drop_queue(self, pm: PartitionMirror) -> None:
        """Forget fetched batches not yet sent (the one in flight settles on its response)."""
        dropped = sum(b.size for b in pm.queue)
        self.budget.used -= dropped
        pm.queued_bytes -= dropped
        self.metrics.in_flight_bytes.set(self.budget.used)
        pm.queue.clear()
        self._rr.drop(pm.tp)

    def _error(self, api: str, name: str) -> None:
        self.metrics.errors_total.inc(api=api, error=name)

    # -- lifecycle ------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Mirror until ``stop`` is set (or forever), then drain and return."""
        if stop is not None:
            self._tasks.append(asyncio.create_task(self._watch_stop(stop)))
        try:
            await self._setup()
            self.started.set()
            for coro in (self._produce_loop(), self._fetch_supervisor(), self._lag_loop(),
                         self._resync_loop(), self._check_adopted()):
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
        await self.source.close()
        await self.dest.close()

    # -- setup: topics, positions -----------------------------------------------------
    async def _setup(self) -> None:
        src = await self.source.refresh()
        await self.dest.refresh()
        selected, missing = self.selector.select(t for t, info in src.topics.items() if not info.error_code)
        for name in missing:
            log.warning("topic %s is named in the link but does not exist on the source", name)
        await self._add_topics(selected)

    async def _add_topics(self, topics: list[str]) -> None:
        """Create or adopt the mirror topics of ``topics`` and start their partitions."""
        if not topics:
            return
        src, dst = self.source.snapshot, self.dest.snapshot
        src_parts = {t: len(src.topics[t].partitions) for t in topics}
        dst_parts = {t: len(info.partitions) for t, info in dst.topics.items() if t in src_parts and not info.error_code}
        src_cfg = await self.source.describe_topic_configs(topics)
        dst_cfg = await self.dest.describe_topic_configs([t for t in topics if t in dst_parts])
        plans = plan_topics(src_parts, dst_parts, src_cfg, dst_cfg, self.m)
        creates = [(p.topic, p.partitions, self.m.replication_factor, p.configs) for p in plans if p.create]
        results = await self.dest.create_topics(creates)
        for topic, (code, msg) in results.items():
            if code and code != TOPIC_ALREADY_EXISTS:
                raise PartitionError((topic, -1), code, f"CreateTopics ({msg})")
            if not code:
                log.info("created mirror topic %s", topic)
        for p in plans:
            if not p.create and not p.problem and p.configs:
                log.info("setting mirror configs on existing topic %s: %s", p.topic, p.configs)
                await self.dest.alter_topic_configs(p.topic, p.configs)
            if p.grow_from:
                log.info("growing mirror topic %s from %d to %d partitions", p.topic, p.grow_from, p.partitions)
                await self.dest.create_partitions(p.topic, p.partitions)
        added = []
        for p in plans:
            for i in range(p.partitions):
                tp = (p.topic, i)
                if tp in self.partitions:
                    continue
                pm = self.partitions[tp] = PartitionMirror(tp, PartitionStatus(p.topic, i))
                pm.first_locate = True
                added.append(pm)
                if p.problem:
                    self._move(pm, PartitionState.FAILED, p.problem)
        await self._wait_dest_metadata([p.topic for p in plans if p.create or p.grow_from],
                                       {p.topic: p.partitions for p in plans})
        await self._locate_all(added)

    async def _discover(self) -> None:
        """Pick up source topics that started matching the link after start."""
        src = await self.source.refresh()
        await self.dest.refresh()
        selected, _ = self.selector.select(t for t, info in src.topics.items() if not info.error_code)
        have: dict[str, int] = {}
        for t, _ in self.partitions:
            have[t] = have.get(t, 0) + 1
        new = [t for t in selected if t not in have]
        grown = [t for t in selected if t in have and len(src.topics[t].partitions) > have[t]]
        if new:
            log.info("new source topics match the link: %s", ", ".join(new))
        for t in grown:
            log.info("source topic %s grew from %d to %d partitions", t, have[t], len(src.topics[t].partitions))
        if new or grown:
            await self._add_topics(new + grown)

    async def _wait_dest_metadata(self, topics: list[str], counts: dict[str, int]) -> None:
        for _ in range(100):
            snap = await self.dest.refresh()
            if all(t in snap.topics and len(snap.topics[t].partitions) >= counts[t]
                   and all(pi.leader >= 0 for pi in snap.topics[t].partitions.values()) for t in topics):
                return
            await asyncio.sleep(0.1)
        raise ClientError(f"destination topics {topics} have no leaders after creation")

    async def _locate_all(self, pms: list[PartitionMirror]) -> None:
        pms = [pm for pm in pms if pm.status.state not in TERMINAL]
        if not pms:
            return
        tps = [pm.tp for pm in pms]
        for pm in pms:
            pm.locating = True
        try:
            d_end, d_start, s_start, s_hw = await asyncio.gather(
                self.dest.list_offsets(tps, LOG_END), self.dest.list_offsets(tps, EARLIEST),
                self.source.list_offsets(tps, EARLIEST), self.source.list_offsets(tps, LATEST))
            sem = asyncio.Semaphore(16)

            async def one(pm: PartitionMirror) -> None:
                async with sem:
                    try:
                        await self._locate(pm, d_end[pm.tp], d_start[pm.tp], s_start[pm.tp], s_hw[pm.tp])
                        pm.first_locate = False
                    except (ClientError, PartitionError) as exc:
                        log.info("partition %s-%d: locating failed (%s); will retry", pm.tp[0], pm.tp[1], exc)
                        self._error("Locate", type(exc).__name__)
                        pm.resync_needed = True
            await asyncio.gather(*(one(pm) for pm in pms))
        finally:
            for pm in pms:
                pm.locating = False
        self._wake_producer.set()

    async def _locate(self, pm: PartitionMirror, d_end: int, d_start: int, s_start: int, s_hw: int) -> None:
        """Find where ``pm`` resumes; align or refuse loudly when it cannot."""
        tp = pm.tp
        st = pm.status
        st.dest_log_end, st.source_log_start, st.source_high_watermark = d_end, s_start, s_hw
        pm.acked_end = pm.produced_end = d_end
        pm.fetch_epoch = pm.produced_epoch = -1
        pm.resync_needed = False
        pm.first_base = None
        pm.fetch_done = False
        pm.max_bytes_hint = 0
        if d_end > s_hw:
            # Give a just-elected source leader a moment to settle its high watermark.
            await asyncio.sleep(1.0)
            s_hw = (await self.source.list_offsets([tp], LATEST))[tp]
            st.source_high_watermark = s_hw
            if d_end > s_hw:
                self._move(pm, PartitionState.DIVERGED,
                           f"destination ends at {d_end} but the source high watermark is {s_hw}: "
                           "the source lost offsets the destination holds", offset=s_hw)
                return
        if s_start >= d_end:
            # The source log start may sit inside a batch (DeleteRecords): the whole batch is
            # still stored and fetched, so the destination must end at that batch's base.
            target = s_start
            if s_start > d_end and s_start < s_hw:
                part = await self.source.fetch_once(tp, s_start, self.m.partition_max_bytes)
                first = _batch_containing(part.records, s_start) if not part.error_code else None
                if first is None:
                    pm.resync_needed = True
                    return
                target = max(d_end, first.base_offset)
            if target > d_end:
                if d_end > d_start:
                    log.warning("partition %s-%d: source log start %d passed destination end %d "
                                "(retention overtook the mirror): filling the gap", tp[0], tp[1], s_start, d_end)
                if not await self._align(pm, d_end, d_start, target):
                    return
            elif d_start < target and d_end > d_start:
                await self.dest.delete_records(tp, target)
            pm.pending_log_start = s_start if s_start > target else None
            # Fetch from the source log start; the batch containing it must start at target.
            pm.next_fetch = s_start if s_start < s_hw else target
            pm.first_base = target
            self._start_mirroring(pm)
            return
        if d_end == 0 or d_end == d_start:
            pm.next_fetch = d_end
            self._start_mirroring(pm)
            return
        # The destination holds data: its last batch must equal the source batch ending at d_end.
        src_p = await self.source.fetch_once(tp, d_end - 1, self.m.partition_max_bytes)
        dst_p = await self.dest.fetch_once(tp, d_end - 1, self.m.partition_max_bytes)
        src_b = _batch_containing(src_p.records, d_end - 1)
        dst_b = _batch_containing(dst_p.records, d_end - 1)
        if src_p.error_code or dst_p.error_code or src_b is None or dst_b is None:
            pm.resync_needed = True
            why = error_name(src_p.error_code or dst_p.error_code) if (src_p.error_code or dst_p.error_code) else "no batch"
            log.info("partition %s-%d: cannot read the batches at %d yet (%s); will retry", tp[0], tp[1], d_end - 1, why)
            return
        if src_b.next_offset != d_end:
            self._move(pm, PartitionState.FAILED,
                       f"destination log end {d_end} falls inside source batch "
                       f"{src_b.base_offset}..{src_b.last_offset}: foreign or partial writes", offset=d_end)
            return
        if (dst_b.base_offset, dst_b.last_offset_delta, dst_b.record_count, dst_b.crc) != \
                (src_b.base_offset, src_b.last_offset_delta, src_b.record_count, src_b.crc):
            self._move(pm, PartitionState.DIVERGED,
                       f"destination batch {dst_b.base_offset}..{dst_b.last_offset} (crc {dst_b.crc:#010x}) "
                       f"differs from source batch {src_b.base_offset}..{src_b.last_offset} "
                       f"(crc {src_b.crc:#010x})", offset=dst_b.base_offset)
            return
        pm.next_fetch = d_end
        pm.fetch_epoch = pm.produced_epoch = src_b.partition_leader_epoch
        if pm.first_locate and self.m.verify_on_start:
            self._adopted[tp] = (d_start, d_end)
        self._start_mirroring(pm)

    def _start_mirroring(self, pm: PartitionMirror) -> None:
        if pm.status.state is not PartitionState.MIRRORING:
            self._move(pm, PartitionState.MIRRORING, offset=pm.next_fetch)
        else:
            log.info("partition %s-%d resumes at offset %d", pm.tp[0], pm.tp[1], pm.next_fetch)

    # -- alignment -------------------------------------------------------------------------
    async def _align(self, pm: PartitionMirror, d_end: int, d_start: int, target: int) -> bool:
        tp = pm.tp
        cfg = (await self.dest.describe_topic_configs([tp[0]])).get(tp[0], {})
        if "delete" not in (cfg.get("cleanup.policy") or ""):
            self._move(pm, PartitionState.BLOCKED,
                       f"source starts at {target} but the destination topic's cleanup.policy is "
                       f"{cfg.get('cleanup.policy')!r}: DeleteRecords needs delete", offset=d_end)
            return False
        self._move(pm, PartitionState.ALIGNING, f"writing {target - d_end} filler offsets", offset=d_end)
        steps = plan_alignment(d_end, d_start, target, self.m.filler_batch_records, self.m.filler_delete_every)
        ts = int(time.time() * 1000)
        async with self._align_slots:
            for step in steps:
                if self._stopping.is_set():
                    return False
                if isinstance(step, WriteFillers):
                    raw = filler_batch(step.count, ts)
                    code, base = await self._produce_one(tp, [raw])
                    verdict, reason = judge_produce(step.base_offset, code, base, error_name(code) if code else "")
                    if verdict in (Verdict.RETRY, Verdict.AMBIGUOUS):
                        self._error("Produce", reason)
                        pm.resync_needed = True   # re-read the destination end, re-plan from there
                        return False
                    if verdict is not Verdict.OK:
                        self._move(pm, PartitionState.FAILED, f"filler write: {reason}", offset=step.base_offset)
                        return False
                    self.metrics.filler_offsets_total.inc(step.count)
                else:
                    await self.dest.delete_records(tp, step.offset)
        pm.acked_end = pm.produced_end = target
        pm.status.dest_log_end = target
        return True

    async def _produce_one(self, tp: TP, records: list[Any]) -> tuple[int, int]:
        """One produce for one partition, retried across destination leader moves."""
        P = messages.ProduceRequest
        for attempt in range(10):
            node = next(iter(await self.dest.by_leader([tp])))
            conn = await self.dest.connection(node)
            resp = await conn.request(P(acks=self.m.acks, timeout_ms=30_000, transactional_id=None,
                                        topic_data=[P.TopicProduceData(name=tp[0], partition_data=[
                                            P.PartitionProduceData(index=tp[1], records=records)])]))
            p = resp.responses[0].partition_responses[0]
            if p.error_code in STALE_METADATA_CODES:
                await asyncio.sleep(0.1 * 2 ** attempt)
                await self.dest.refresh([tp[0]])
                continue
            return p.error_code, p.base_offset
        return p.error_code, p.base_offset

    # -- fetching --------------------------------------------------------------------------
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
                self._enqueue(pm, _Blocker(expected, classify(b).reason))
                break
            problem = position_problem(b.base_offset, b.next_offset, expected)
            if problem is not None:
                if problem[0] == "FAILED":
                    self._move(pm, PartitionState.FAILED, problem[1], offset=expected)
                else:
                    self._enqueue(pm, _Blocker(expected, problem[1]))
                break
            verdict = classify(b)
            if not verdict.exact:
                # Everything before it is still produced; the partition stops at this batch.
                self._enqueue(pm, _Blocker(b.base_offset, verdict.reason))
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
            self.budget.used += added
            self.metrics.in_flight_bytes.set(self.budget.used)
        if pm.queue:
            self._wake_producer.set()

    def _enqueue(self, pm: PartitionMirror, item: Any) -> None:
        if not pm.queue:
            self._rr.push(pm.tp, None)
        pm.queue.append(item)
        if isinstance(item, _Blocker):
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

    # -- producing -------------------------------------------------------------------------
    async def _produce_loop(self) -> None:
        while not self._stopping.is_set():
            await self._wake_producer.wait()
            self._wake_producer.clear()
            if self._stopping.is_set():
                break
            await self._dispatch()

    async def _dispatch(self) -> None:
        blocked = {tp for tp, pm in self.partitions.items() if not pm.ready_to_produce}
        items = self._rr.take_round(1 << 62, lambda _: 0, blocked)
        by_node: dict[int, list[PartitionMirror]] = {}
        for tp, _ in items:
            pm = self.partitions[tp]
            head = pm.queue[0]
            if isinstance(head, _Blocker):
                pm.queue.popleft()
                self._move(pm, PartitionState.BLOCKED, head.reason, offset=head.offset)
                continue
            node = self.dest.leader(tp)
            if node < 0 or self._requests_in_flight.get(node, 0) >= MAX_PRODUCE_REQUESTS_PER_BROKER:
                self._rr.push(tp, None)
                if node < 0:
                    self.dest_metadata_stale = True
                continue
            by_node.setdefault(node, []).append(pm)
        for node, pms in by_node.items():
            limit, batch, size = self.m.fetch_max_bytes, [], 0
            for pm in pms:
                b = pm.queue[0]
                if batch and size + b.size > limit:
                    self._rr.push(pm.tp, None)
                    continue
                pm.queue.popleft()
                pm.in_flight = b
                pm.produced_end = b.next_offset
                pm.produced_epoch = b.partition_leader_epoch
                batch.append(pm)
                size += b.size
                if pm.queue:
                    self._rr.push(pm.tp, None)
            if batch:
                self._requests_in_flight[node] = self._requests_in_flight.get(node, 0) + 1
                t = asyncio.create_task(self._send_produce(node, batch))
                self._produce_tasks.add(t)
                t.add_done_callback(self._produce_tasks.discard)

    async def _send_produce(self, node: int, pms: list[PartitionMirror]) -> None:
        P = messages.ProduceRequest
        by_topic: dict[str, list[Any]] = {}
        for pm in pms:
            by_topic.setdefault(pm.tp[0], []).append(
                P.PartitionProduceData(index=pm.tp[1], records=list(produce_chunks(pm.in_flight))))
        req = P(acks=self.m.acks, timeout_ms=30_000, transactional_id=None,
                topic_data=[P.TopicProduceData(name=t, partition_data=ps) for t, ps in by_topic.items()])
        results: dict[TP, tuple[int, int]] = {}
        failure: str | None = None
        try:
            conn = await self.dest.connection(node)
            resp = await conn.request(req)
            for t in resp.responses:
                for p in t.partition_responses:
                    results[(t.name, p.index)] = (p.error_code, p.base_offset)
        except ClientError as exc:
            failure = str(exc)
            self._error("Produce", type(exc).__name__)
        finally:
            self._requests_in_flight[node] -= 1
        stale = False
        for pm in pms:
            b = pm.in_flight
            assert b is not None
            pm.in_flight = None
            size = b.size
            pm.queued_bytes -= size
            self.budget.used -= size
            if failure is not None or pm.tp not in results:
                # Ambiguous: the batch may or may not be stored. Ask the destination.
                self._schedule_resync(pm, failure or "no response for the partition")
                continue
            code, base = results[pm.tp]
            verdict, reason = judge_produce(b.base_offset, code, base, error_name(code) if code else "")
            if verdict is Verdict.OK:
                pm.acked_end = b.next_offset
                if pm.pending_log_start is not None and pm.acked_end >= pm.pending_log_start:
                    self._spawn(self._trim_to_source_start(pm, pm.pending_log_start))
                    pm.pending_log_start = None
                pm.status.dest_log_end = pm.acked_end
                pm.last_mirrored_ts = b.max_timestamp
                n = b.record_count
                pm.mirrored_bytes += size
                pm.mirrored_records += n
                self.metrics.bytes_total.inc(size)
                self.metrics.batches_total.inc()
                self.metrics.records_total.inc(n)
            elif verdict is Verdict.FAILED:
                if code:
                    self._error("Produce", error_name(code))
                self._move(pm, PartitionState.FAILED, reason, offset=b.base_offset)
            else:
                self._error("Produce", reason)
                if verdict is Verdict.RETRY:
                    stale = True
                self._schedule_resync(pm, reason)
        self.metrics.in_flight_bytes.set(self.budget.used)
        if stale:
            self.dest_metadata_stale = True
        self._wake_producer.set()

    def _spawn(self, coro: Any) -> None:
        t = asyncio.create_task(coro)
        self._produce_tasks.add(t)
        t.add_done_callback(self._produce_tasks.discard)

    async def _trim_to_source_start(self, pm: PartitionMirror, offset: int) -> None:
        """Match a source log start that sits inside the first mirrored batch."""
        try:
            await self.dest.delete_records(pm.tp, offset)
        except (ClientError, PartitionError) as exc:
            log.warning("partition %s-%d: DeleteRecords(%d) to match the source log start failed: %s",
                        pm.tp[0], pm.tp[1], offset, exc)

    # -- resync after ambiguity -------------------------------------------------------------
    source_metadata_stale = False
    dest_metadata_stale = False

    def _schedule_resync(self, pm: PartitionMirror, why: str = "") -> None:
        if pm.status.state in TERMINAL:
            return
        if not pm.resync_needed:
            log.info("partition %s-%d: re-reading the destination log end%s", pm.tp[0], pm.tp[1],
                     f" after {why}" if why else "")
        pm.resync_needed = True
        self._drop_queue(pm)

    async def _resync_loop(self) -> None:
        while not self._stopping.is_set():
            await asyncio.sleep(0.5)
            try:
                if self.source_metadata_stale:
                    self.source_metadata_stale = False
                    await self.source.refresh(list({tp[0] for tp in self.partitions}))
                if self.dest_metadata_stale:
                    self.dest_metadata_stale = False
                    await self.dest.refresh(list({tp[0] for tp in self.partitions}))
                todo = [pm for pm in self.partitions.values()
                        if pm.resync_needed and pm.in_flight is None and pm.status.state not in TERMINAL]
                if todo:
                    await self._locate_all(todo)
            except (ClientError, PartitionError) as exc:
                log.info("resync attempt failed (%s); retrying", exc)
                self._error("Resync", type(exc).__name__)
                self.source_metadata_stale = self.dest_metadata_stale = True
                await asyncio.sleep(1.0)

    async def _check_adopted(self) -> None:
        """Compare destination data found when a partition is first located with the source.

        Runs in the background. The tail check proves the last batch; this proves
        the whole prefix, so a destination topic written by something else is
        never adopted silently.
        """
        from linker.verify import verify_partition
        sem = asyncio.Semaphore(2)

        async def one(tp: TP, d_start: int, d_end: int) -> None:
            async with sem:
                for attempt in range(5):
                    try:
                        s_start = (await self.source.list_offsets([tp], EARLIEST))[tp]
                        rep = await verify_partition(self.source, self.dest, tp, s_start, d_end, d_start, d_end)
                        break
                    except (ClientError, PartitionError, RuntimeError) as exc:
                        log.info("prefix check of %s-%d failed (%s); retrying", tp[0], tp[1], exc)
                        await asyncio.sleep(2.0)
                else:
                    log.warning("prefix check of %s-%d could not complete; run `linker verify`", tp[0], tp[1])
                    return
                if rep.divergence is not None:
                    self._move(self.partitions[tp], PartitionState.FAILED,
                               f"destination data found at start is not an exact prefix of the source: "
                               f"{rep.divergence}", offset=rep.checked_to)
                else:
                    log.info("partition %s-%d: destination offsets %d..%d found at start match the source "
                             "(%d batches)", tp[0], tp[1], rep.checked_from, d_end, rep.checked_batches)
        while not self._stopping.is_set():
            if self._adopted:
                todo, self._adopted = self._adopted, {}
                await asyncio.gather(*(one(tp, a, b) for tp, (a, b) in todo.items()))
            await asyncio.sleep(1.0)

    # -- lag, foreign writes, metadata -------------------------------------------------------
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
                s_hw, d_end = await asyncio.gather(self.source.list_offsets(tps, LATEST),
                                                   self.dest.list_offsets(tps, LOG_END))
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


class _Blocker:
    """A queue marker: everything before it is produced, then the partition is BLOCKED."""

    size = 0
    next_offset = -1

    def __init__(self, offset: int, reason: str) -> None:
        self.offset, self.reason = offset, reason


def _batch_containing(records: Any, offset: int) -> BatchView | None:
    if not records:
        return None
    for b in walk_batches(records):
        if type(b) is BatchView and b.base_offset <= offset <= b.last_offset:
            return b
    return None
