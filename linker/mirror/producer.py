"""The produce side: one batch per partition per request, each partition pinned
to one of ``mirror.produce_lanes`` connections per destination broker, at most one
batch in flight per partition except in a pipelined run of one idempotent
producer (``pipeline.py``), every response judged against the source offset, ambiguity
handed to the locator (``PartitionTable.schedule_resync``) to re-read the
destination. Produce requests run as tasks of the producer's own TaskGroup:
one that fails unexpectedly stops the producer and so the engine.

A batch refused for a reason the mirror topic's config can cure
(MESSAGE_TOO_LARGE, INVALID_TIMESTAMP) gets the config fixed once
(IncrementalAlterConfigs) and is produced again; it stops the partition only
if it is refused again with the same error.

The produce timeout (``mirror.produce_timeout_ms``) is kept well below the
client request timeout: a broker that answers REQUEST_TIMED_OUT leaves the
connection, and the other requests pipelined on it, intact."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from kproto.records.batch import BatchView
from kproto.records.forward import produce_chunks
from kproto.records.layout import CONTROL_BIT, TRANSACTIONAL_BIT
from linker.client import STALE_METADATA_CODES, Admin, BrokerConnection, Client, ClientError
from linker.client.kafka_errors import error_name
from linker.settings import MirrorSettings
from linker.metrics import MirrorMetrics
from kproto.errors import ErrorCode
from linker.mirror.checks import Verdict, judge_produce, truncation_problem
from linker.mirror.topics import repair_configs
from linker.mirror.transactions import ReplayMismatch, TxnReplayer, mark_replayed
from linker.mirror.partition import TP, PartitionMirror
from linker.mirror.pipeline import MAX_DEPTH, mark_of
from linker.mirror.rebuild import RebuiltBatch, note_rebuilt
from linker.mirror.signals import StaleMetadata
from linker.mirror.state import PartitionState
from linker.mirror.table import PartitionTable
from linker.naming import MirrorNames

log = logging.getLogger("linker.mirror")

#: Requests in flight per lane (also the deepest pipelined run, ``pipeline.MAX_DEPTH``).
MAX_PRODUCE_REQUESTS_PER_LANE = MAX_DEPTH
#: Attempts of a one-off produce (fillers) across destination leader moves.
PRODUCE_ONE_ATTEMPTS = 10
_TXN_BITS = CONTROL_BIT | TRANSACTIONAL_BIT


class Producer:
    def __init__(self, table: PartitionTable, dest: Client, dest_admin: Admin, names: MirrorNames,
                 settings: MirrorSettings, metrics: MirrorMetrics, stale: StaleMetadata,
                 link: str = "link", source: Client | None = None) -> None:
        self.table = table
        self.replayer = TxnReplayer(link, dest, dest_admin, settings.acks, settings.produce_timeout_ms, source)
        self.dest = dest
        self.dest_admin = dest_admin
        self.names = names
        self.settings = settings
        self.metrics = metrics
        self.stale = stale
        #: Produce requests in flight per (destination broker, lane).
        self._requests_in_flight: dict[tuple[int, int], int] = {}
        self._lanes: dict[TP, int] = {}
        #: Partitions whose mirror topic config was repaired for (error, batch base offset).
        self._repaired: dict[TP, tuple[int, int]] = {}
        self._stopping = False

    def stop(self) -> None:
        """Send nothing new; ``run`` returns once the produces in flight are answered."""
        self._stopping = True
        self.table.produce_ready.set()

    async def run(self) -> None:
        ready = self.table.produce_ready
        async with asyncio.TaskGroup() as tasks:
            while True:
                await ready.wait()
                ready.clear()
                if self._stopping:
                    break
                self._dispatch(tasks)

    def _dispatch(self, tasks: asyncio.TaskGroup) -> None:
        """Send rounds until one sends nothing: a round takes one batch per partition, so a
        pipelined run (``pipeline.py``) gets one more batch in flight per round."""
        while self._dispatch_round(tasks):
            pass

    def _lane_of(self, tp: TP) -> int:
        lane = self._lanes.get(tp)
        if lane is None:
            lane = self._lanes[tp] = len(self._lanes) % self.settings.produce_lanes
        return lane

    def _dispatch_round(self, tasks: asyncio.TaskGroup) -> bool:
        by_lane: dict[tuple[int, int], list[PartitionMirror]] = {}
        for pm in self.table.produce_round():
            head = pm.queue[0][0]
            if isinstance(head, BatchView) and head.attributes & _TXN_BITS:
                # A replayed transaction's batch or marker: its own requests (transactions.py).
                self.table.start_produce(pm)
                tasks.create_task(self._send_txn(pm, tasks))
                continue
            node = self.dest.leader(self.names.mirror_tp(pm.tp))
            key = (node, self._lane_of(pm.tp))
            if node < 0 or self._requests_in_flight.get(key, 0) >= MAX_PRODUCE_REQUESTS_PER_LANE:
                self.table.defer(pm)
                if node < 0:
                    self.stale.mark_dest()
                continue
            if pm.flight and not self._may_pipeline(pm, *key):
                self.table.defer(pm)
                continue
            by_lane.setdefault(key, []).append(pm)
        sent = False
        for (node, lane), pms in by_lane.items():
            connection = self.dest.lane_connection(node, lane)
            limit, sending, size = self.settings.fetch_max_bytes, [], 0
            for pm in pms:
                head_size = pm.queue[0][0].size
                if sending and size + head_size > limit:
                    self.table.defer(pm)
                    continue
                if not pm.flight:
                    # Pipelining needs the run's first request on a known connection (None: the
                    # lane opens one for this request, and the partition waits for its answer).
                    pm.flight_connection = connection
                sending.append((pm, self.table.start_produce(pm)))
                size += head_size
            if sending:
                key = (node, lane)
                self._requests_in_flight[key] = self._requests_in_flight.get(key, 0) + 1
                tasks.create_task(self._send(node, lane, connection, sending, tasks))
                sent = True
        return sent

    def _may_pipeline(self, pm: PartitionMirror, node: int, lane: int) -> bool:
        """``pm`` has batches in flight (``ready_to_produce`` checked the run): one more may go only
        with acks=all and on the very connection the run's requests went on, still open."""
        if self.settings.acks != -1 or pm.flight_connection is None:
            return False
        return self.dest.lane_connection(node, lane) is pm.flight_connection

    async def _send(self, node: int, lane: int, connection: BrokerConnection | None,
                    sending: list[tuple[PartitionMirror, BatchView]], tasks: asyncio.TaskGroup) -> None:
        batches: dict[TP, list[Any]] = {self.names.mirror_tp(pm.tp): list(produce_chunks(b)) for pm, b in sending}
        results: dict[TP, tuple[int, int]] = {}
        failure: str | None = None
        try:
            if connection is None:
                connection = await self.dest.connection(node, lane)
            # On this connection only: a closed one fails the request, never moves it elsewhere.
            answers = await self.dest.produce(node, batches, acks=self.settings.acks,
                                              timeout_ms=self.settings.produce_timeout_ms, connection=connection)
            for (topic, partition), p in (answers or {}).items():
                results[(self.names.source_topic(topic) or topic, partition)] = (p.error_code, p.base_offset)
        except ClientError as exc:
            failure = str(exc)
            self.metrics.errors_total.inc(api="Produce", error=type(exc).__name__)
        finally:
            self._requests_in_flight[(node, lane)] -= 1
        stale = False
        for pm, b in sending:
            self.table.end_produce(pm, b)
            if failure is not None or pm.tp not in results:
                # Ambiguous: the batch may or may not be stored. Ask the destination.
                pm.flight_broken = True
                self.table.schedule_resync(pm, failure or "no response for the partition")
                continue
            code, base = results[pm.tp]
            stale = self._settle(pm, b, code, base, tasks) or stale
        if stale:
            self.stale.mark_dest()
        self.table.produce_settled()

    async def _send_txn(self, pm: PartitionMirror, tasks: asyncio.TaskGroup) -> None:
        """Replay one transactional batch or marker (``transactions.TxnReplayer``)."""
        b = pm.in_flight
        assert b is not None
        try:
            code, base = await self.replayer.replay(pm.tp, self.names.mirror_tp(pm.tp), b)
        except ClientError as exc:
            self.metrics.errors_total.inc(api="Produce", error=type(exc).__name__)
            self.table.end_produce(pm)
            self.table.schedule_resync(pm, f"transactional replay at {b.base_offset}: {exc}")
            self.table.produce_settled()
            return
        except ReplayMismatch as exc:
            self.table.end_produce(pm)
            self.table.move(pm, PartitionState.FAILED, str(exc), offset=b.base_offset)
            self.table.produce_settled()
            return
        self.table.end_produce(pm, b)
        if not code and base == b.base_offset:
            mark_replayed(pm)
        if self._settle(pm, b, code, base, tasks):
            self.stale.mark_dest()
        self.table.produce_settled()

    def _settle(self, pm: PartitionMirror, b: Any, code: int, base: int, tasks: asyncio.TaskGroup) -> bool:
        """Judge one partition's produce answer; True when destination metadata is stale."""
        stale = False
        verdict, reason = judge_produce(b.base_offset, code, base, error_name(code) if code else "")
        broken, pm.flight_broken = pm.flight_broken, pm.flight_broken or verdict is not Verdict.OK
        if verdict is Verdict.OK:
            pm.acked_end = b.next_offset
            pm.acked_mark = mark_of(b)
            if pm.pending_log_start is not None and pm.acked_end >= pm.pending_log_start:
                tasks.create_task(self._trim_to_source_start(pm, pm.pending_log_start))
                pm.pending_log_start = None
            pm.status.dest_log_end = pm.acked_end
            pm.last_mirrored_ts = b.max_timestamp
            n = b.record_count
            pm.mirrored_bytes += b.size
            pm.mirrored_records += n
            self.metrics.bytes_total.inc(b.size)
            self.metrics.batches_total.inc()
            self.metrics.records_total.inc(n)
            if isinstance(b, RebuiltBatch):
                note_rebuilt(pm, b, self.metrics)
        elif broken and code:
            # An earlier batch of this pipelined run was not acknowledged, so this one was refused
            # (OUT_OF_ORDER_SEQUENCE_NUMBER, or the same error): re-read the destination end.
            self.metrics.errors_total.inc(api="Produce", error=error_name(code))
            self.table.schedule_resync(pm, f"{error_name(code)} behind a failed pipelined produce")
        elif not code and base < b.base_offset:
            why = truncation_problem(b.base_offset, base) or ""
            self.table.move(pm, PartitionState.DEST_TRUNCATED,
                            f"{why}; the batch of source offset {b.base_offset} landed at {base}", offset=base)
        elif verdict is Verdict.FAILED and self._repairable(pm, code, b.base_offset):
            self.metrics.errors_total.inc(api="Produce", error=error_name(code))
            # Held like a partition being located (neither fetched nor produced) until fixed.
            self.table.drop_queue(pm)
            pm.locating = True
            tasks.create_task(self._repair(pm, ErrorCode(code), b.size, b.base_offset))
        elif verdict is Verdict.FAILED:
            if code and self._repaired.get(pm.tp) == (code, b.base_offset):
                reason += " again after the mirror topic config was fixed"
            if code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER and b.producer_id >= 0:
                reason += (f" (producer {b.producer_id}, epoch {b.producer_epoch}, base sequence "
                           f"{b.base_sequence}: the destination's sequence for it is not where the "
                           "mirror left it)")
            if code:
                self.metrics.errors_total.inc(api="Produce", error=error_name(code))
            self.table.move(pm, PartitionState.FAILED, reason, offset=b.base_offset)
        else:
            self.metrics.errors_total.inc(api="Produce", error=reason)
            if verdict is Verdict.RETRY:
                stale = True
            self.table.schedule_resync(pm, reason)
        return stale

    def _repairable(self, pm: PartitionMirror, code: int, base_offset: int) -> bool:
        """A config fix may cure ``code``, and was not tried yet for this batch."""
        return (code in (ErrorCode.MESSAGE_TOO_LARGE, ErrorCode.INVALID_TIMESTAMP)
                and self._repaired.get(pm.tp) != (code, base_offset))

    async def _repair(self, pm: PartitionMirror, code: ErrorCode, size: int, base_offset: int) -> None:
        """Fix the mirror topic config that made the destination refuse a batch, then
        re-locate the partition (which produces the batch again)."""
        self._repaired[pm.tp] = (code, base_offset)
        topic = self.names.mirror_tp(pm.tp)[0]
        configs = repair_configs(code, size, self.settings)
        try:
            if code is ErrorCode.MESSAGE_TOO_LARGE:
                have = (await self.dest_admin.topic_configs([topic])).get(topic, {}).get("max.message.bytes")
                if have is not None and have.isdigit() and int(have) >= size:
                    configs = {}
            if configs:
                log.warning("partition %s-%d: destination refused the batch at %d with %s; setting %s on %s",
                            pm.tp[0], pm.tp[1], base_offset, code.name, configs, topic)
                await self.dest_admin.alter_topic_configs(topic, configs)
        except ClientError as exc:
            self.table.move(pm, PartitionState.FAILED,
                            f"produce of source offset {base_offset} refused: {code.name}; fixing the "
                            f"mirror topic config {configs} failed: {exc}", offset=base_offset)
            return
        finally:
            pm.locating = False
        self.table.schedule_resync(pm, f"{code.name}, mirror topic config fixed")

    async def _trim_to_source_start(self, pm: PartitionMirror, offset: int) -> None:
        """Match a source log start that sits inside the first mirrored batch."""
        try:
            await self.dest_admin.delete_records({self.names.mirror_tp(pm.tp): offset})
        except ClientError as exc:
            log.warning("partition %s-%d: DeleteRecords(%d) to match the source log start failed: %s",
                        pm.tp[0], pm.tp[1], offset, exc)

    async def produce_one(self, tp: TP, records: list[Any]) -> tuple[int, int]:
        """One produce for one partition (fillers), retried across destination leader moves."""
        mirror_tp = self.names.mirror_tp(tp)
        for attempt in range(PRODUCE_ONE_ATTEMPTS):
            node = await self.dest.leader_for(*mirror_tp)
            answers = await self.dest.produce(node, {mirror_tp: records}, acks=self.settings.acks,
                                              timeout_ms=self.settings.produce_timeout_ms)
            p = (answers or {})[mirror_tp]
            if p.error_code in STALE_METADATA_CODES:
                await asyncio.sleep(0.1 * 2 ** attempt)
                await self.dest.refresh_metadata([mirror_tp[0]])
                continue
            return p.error_code, p.base_offset
        return p.error_code, p.base_offset
