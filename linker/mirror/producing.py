"""Producing to the destination: one batch per partition per request, at most
one in flight per partition, every response judged, ambiguity resolved by
re-reading the destination. Part of MirrorEngine (a mixin split by concern;
the state lives in MirrorEngine.__init__)."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from kproto import messages
from kproto.records.forward import produce_chunks
from linker.client.errors import ClientError
from linker.client.kafka_errors import error_name
from linker.mirror.checks import Verdict, judge_produce
from linker.mirror.kafka_io import TP, PartitionError
from linker.mirror.partition import Blocker, PartitionMirror
from linker.mirror.state import TERMINAL, PartitionState

log = logging.getLogger("linker.mirror")

MAX_PRODUCE_REQUESTS_PER_BROKER = 8


class Producing:
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
            if isinstance(head, Blocker):
                pm.queue.popleft()
                self._move(pm, PartitionState.BLOCKED, head.reason, offset=head.offset)
                continue
            node = self.dest.leader(self.names.mirror_tp(tp))
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
                topic_data=[P.TopicProduceData(name=self.names.mirror_topic(t), partition_data=ps) for t, ps in by_topic.items()])
        results: dict[TP, tuple[int, int]] = {}
        failure: str | None = None
        try:
            conn = await self.dest.connection(node)
            resp = await conn.request(req)
            for t in resp.responses:
                for p in t.partition_responses:
                    results[(self.names.source_topic(t.name) or t.name, p.index)] = (p.error_code, p.base_offset)
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
            self.budget.give(size)
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
            await self.dest.delete_records(self.names.mirror_tp(pm.tp), offset)
        except (ClientError, PartitionError) as exc:
            log.warning("partition %s-%d: DeleteRecords(%d) to match the source log start failed: %s",
                        pm.tp[0], pm.tp[1], offset, exc)

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
                    await self.dest.refresh(list({self.names.mirror_topic(tp[0]) for tp in self.partitions}))
                todo = [pm for pm in self.partitions.values()
                        if pm.resync_needed and pm.in_flight is None and pm.status.state not in TERMINAL]
                if todo:
                    await self._locate_all(todo)
            except (ClientError, PartitionError) as exc:
                log.info("resync attempt failed (%s); retrying", exc)
                self._error("Resync", type(exc).__name__)
                self.source_metadata_stale = self.dest_metadata_stale = True
                await asyncio.sleep(1.0)
