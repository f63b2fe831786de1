"""The partition table: every mirrored partition's state, its queue of fetched
batches, the byte budget those batches are charged to and the round-robin
order they are produced in.

Pure: no I/O and no tasks. The components (fetcher, producer, locator,
auditor) change partitions through these methods and wait on the table's
signals, so the rules (a terminal state drops the queue, every byte charged is
given back exactly once, at most one batch in flight per partition unless a
pipelined run allows more, ``pipeline.py``) live in one
place and are unit-tested without brokers.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from kproto.records.batch import BatchView
from linker.metrics import MirrorMetrics
from linker.mirror.budget import ByteBudget, RoundRobin, partition_share
from linker.mirror.partition import TP, Blocker, FrameCharge, PartitionMirror
from linker.mirror.signals import Signal
from linker.mirror.state import TERMINAL, Fidelity, PartitionState, PartitionStatus

log = logging.getLogger("linker.mirror")

#: fetch offset, last fetched epoch, partition max bytes
FetchParams = tuple[int, int, int]


class PartitionTable:
    def __init__(self, budget_bytes: int, partition_max_bytes: int,
                 metrics: MirrorMetrics | None = None) -> None:
        self.partitions: dict[TP, PartitionMirror] = {}
        self.budget = ByteBudget(budget_bytes)
        self.partition_max_bytes = partition_max_bytes
        self.metrics = metrics or MirrorMetrics()
        # Lifecycle: topics never mirrored again, topics not fetched for now.
        self.stopped_topics: set[str] = set()
        self.paused_topics: set[str] = set()
        # Topics whose source or mirror id changed: every partition, present or added later, is
        # TOPIC_RECREATED with this reason.
        self.recreated: dict[str, str] = {}
        # Scale-out: the partitions this member of the link's group may write (None: every one, a
        # linker alone). A partition outside it is neither located, fetched nor produced.
        self.assigned: set[TP] | None = None
        self._order: RoundRobin[TP, None] = RoundRobin()
        #: The producer's wake-up: a batch was queued or a produce settled (one waiter).
        self.produce_ready = asyncio.Event()
        #: Fetchers' wake-up: a partition has room for more fetched bytes again.
        self.fetch_ready = Signal()
        #: The fetcher supervisor's wake-up: partitions became fetchable or leaders moved (one waiter).
        self.fetchers_needed = asyncio.Event()
        #: The locator's wake-up: a partition needs re-locating or metadata went stale (one waiter).
        self.resync_wanted = asyncio.Event()
        #: A produce or a locate finished (pause/stop wait for their partitions to settle).
        self.settled = Signal()

    # -- rows and states -------------------------------------------------------
    def add(self, tp: TP) -> PartitionMirror:
        pm = self.partitions[tp] = PartitionMirror(tp, PartitionStatus(tp[0], tp[1]))
        pm.paused = tp[0] in self.paused_topics
        pm.unowned = self.assigned is not None and tp not in self.assigned
        pm.first_locate = True
        if tp[0] in self.recreated:
            self.move(pm, PartitionState.TOPIC_RECREATED, self.recreated[tp[0]])
        return pm

    def mark_recreated(self, topic: str, reason: str) -> None:
        """``topic`` was deleted and recreated (source or mirror): never write its mirror again."""
        self.recreated.setdefault(topic, reason)
        for pm in self.of_topic(topic):
            self.move(pm, PartitionState.TOPIC_RECREATED, self.recreated[topic])

    def of_topic(self, topic: str) -> list[PartitionMirror]:
        return [pm for pm in self.partitions.values() if pm.tp[0] == topic]

    def move(self, pm: PartitionMirror, state: PartitionState, reason: str = "",
             offset: int | None = None) -> None:
        """Change a partition's state; a terminal state drops what is queued."""
        if pm.status.state in TERMINAL and state is not PartitionState.STOPPED:
            return
        if pm.status.state is PartitionState.STOPPED:
            return   # a stopped (promoted) topic keeps its final state
        pm.status.move(state, reason, offset)
        for s in PartitionState:
            self.metrics.state.set(1 if s is state else 0, topic=pm.tp[0], partition=pm.tp[1], state=s.value)
        self.show_fidelity(pm)
        if state in TERMINAL:
            self.drop_queue(pm)
        elif state is PartitionState.MIRRORING:
            self.fetchers_needed.set()

    def show_fidelity(self, pm: PartitionMirror) -> None:
        """``linker_partition_fidelity``: 1 for the partition's fidelity now, 0 for the others."""
        for f in Fidelity:
            self.metrics.fidelity.set(1 if f is pm.status.fidelity else 0, topic=pm.tp[0], partition=pm.tp[1],
                                      fidelity=f.value)

    def schedule_resync(self, pm: PartitionMirror, why: str = "") -> None:
        """Stop mirroring ``pm`` until the locator re-reads the destination end."""
        if pm.status.state in TERMINAL or pm.status.state is PartitionState.STOPPED:
            return
        if not pm.resync_needed:
            log.info("partition %s-%d: re-reading the destination log end%s", pm.tp[0], pm.tp[1],
                     f" after {why}" if why else "")
        pm.resync_needed = True
        self.drop_queue(pm)
        self.resync_wanted.set()

    def needs_resync(self) -> tuple[list[PartitionMirror], bool]:
        """Partitions to re-locate now, and whether others wait for their produce to settle first."""
        ready, waiting = [], False
        for pm in self.partitions.values():
            if pm.resync_needed and pm.status.state not in TERMINAL and not pm.unowned:
                if pm.in_flight is None:
                    ready.append(pm)
                else:
                    waiting = True
        return ready, waiting

    def begin_locate(self, pms: list[PartitionMirror]) -> None:
        for pm in pms:
            pm.locating = True

    def end_locate(self, pms: list[PartitionMirror]) -> None:
        for pm in pms:
            pm.locating = False
        self.settled.notify()
        self.fetchers_needed.set()
        self.fetch_ready.notify()
        self.produce_ready.set()

    def leaders_changed(self) -> None:
        """Source metadata was refreshed: fetchers may be needed on other brokers."""
        self.fetchers_needed.set()
        self.fetch_ready.notify()

    # -- lifecycle ---------------------------------------------------------------
    def pause(self, topic: str) -> list[PartitionMirror]:
        """Neither fetch nor produce ``topic`` until ``resume``; returns its partitions."""
        self.paused_topics.add(topic)
        return self.hold(topic)

    def hold(self, topic: str) -> list[PartitionMirror]:
        """Start nothing new for ``topic`` (what is in flight settles); returns its partitions."""
        pms = self.of_topic(topic)
        for pm in pms:
            pm.paused = True
            self.drop_queue(pm)
        return pms

    def resume(self, topic: str) -> list[PartitionMirror]:
        """Unpause ``topic``; returns its partitions, each to be re-located."""
        self.paused_topics.discard(topic)
        resumed = [pm for pm in self.of_topic(topic) if pm.paused]
        for pm in resumed:
            pm.paused = False
            self.schedule_resync(pm, "resume")
        return resumed

    def stop(self, topic: str, reason: str) -> None:
        """Never write ``topic`` again; call once its partitions have settled (``hold``)."""
        self.stopped_topics.add(topic)
        for pm in self.of_topic(topic):
            pm.resync_needed = False
            self.drop_queue(pm)
            if pm.status.state is not PartitionState.STOPPED:
                pm.status.move(PartitionState.STOPPED, reason)

    # -- scale-out ownership -----------------------------------------------------------
    def assign(self, tps: set[TP]) -> list[PartitionMirror]:
        """These partitions became ours: each is located again (the destination end is the position)."""
        if self.assigned is None:
            self.assigned = set()
        self.assigned |= tps
        got = []
        for tp in sorted(tps):
            pm = self.partitions.get(tp)
            if pm is not None and pm.unowned:
                pm.unowned = False
                got.append(pm)
                self.schedule_resync(pm, "assigned to this member")
        return got

    def revoke(self, tps: set[TP]) -> list[PartitionMirror]:
        """Start nothing new for these partitions (what is in flight settles); returns them."""
        if self.assigned is None:
            self.assigned = {tp for tp in self.partitions}
        self.assigned -= tps
        out = []
        for tp in sorted(tps):
            pm = self.partitions.get(tp)
            if pm is None:
                continue
            pm.unowned = True
            pm.resync_needed = False
            self.drop_queue(pm)
            self.forget_gauges(pm)
            out.append(pm)
        return out

    def forget_gauges(self, pm: PartitionMirror) -> None:
        """A partition another member writes: its per-partition gauges are that member's to show
        (summed over members, a dashboard counts each partition once)."""
        t, p = pm.tp
        m = self.metrics
        for g in (m.lag_records, m.lag_bytes, m.lag_seconds):
            g.remove(topic=t, partition=p)
        for s in PartitionState:
            m.state.remove(topic=t, partition=p, state=s.value)
        for f in Fidelity:
            m.fidelity.remove(topic=t, partition=p, fidelity=f.value)

    def owned(self) -> set[TP]:
        return {tp for tp, pm in self.partitions.items() if not pm.unowned}

    @staticmethod
    def busy(pms: list[PartitionMirror]) -> bool:
        """A produce or a locate of one of ``pms`` is still running."""
        return any(pm.in_flight is not None or pm.locating for pm in pms)

    def stop_all(self) -> None:
        """Engine shutdown: every partition still live becomes STOPPED (one another member of a
        scale-out group writes is not this engine's to stop)."""
        for pm in self.partitions.values():
            if pm.status.state not in TERMINAL and not pm.unowned:
                pm.status.move(PartitionState.STOPPED)

    # -- the fetch side ------------------------------------------------------------
    def fetch_targets(self, node: int, leader_of: Callable[[TP], int]) -> tuple[dict[TP, FetchParams], bool]:
        """What source broker ``node`` should fetch now, and whether it leads any
        fetchable partition at all (some may be waiting for room in their share)."""
        out: dict[TP, FetchParams] = {}
        share = self.share()
        leads = False
        for tp, pm in self.partitions.items():
            if pm.wants_fetch and leader_of(tp) == node:
                leads = True
                if pm.queued_bytes < share:
                    out[tp] = (pm.next_fetch, pm.fetch_epoch, max(self.partition_max_bytes, pm.max_bytes_hint))
        return out, leads

    def share(self) -> int:
        """Bytes one active partition may hold (queued, or held by a compacted hole)."""
        active = sum(1 for pm in self.partitions.values() if pm.active) or 1
        return partition_share(self.budget.limit, active, self.partition_max_bytes)

    def fetch_leaders(self, leader_of: Callable[[TP], int]) -> set[int]:
        """Source brokers that lead a partition wanting a fetch."""
        leaders = {leader_of(tp) for tp, pm in self.partitions.items() if pm.wants_fetch}
        leaders.discard(-1)
        return leaders

    def charge_frame(self, size: int) -> FrameCharge:
        """Charge a fetch response frame to the budget while it is being read.

        The reader holds it until ``release``; every batch queued from it holds
        it too, so the frame's bytes are given back when the last one goes.
        """
        charge = FrameCharge(size)
        charge.holders = 1
        self.budget.take(size)
        return charge

    def release(self, charge: FrameCharge | None) -> None:
        if charge is None:
            return
        charge.holders -= 1
        if charge.holders == 0:
            self.budget.give(charge.size)
            self.metrics.in_flight_bytes.set(self.budget.used)

    def enqueue(self, pm: PartitionMirror, batch: BatchView, charge: FrameCharge) -> None:
        if not pm.queue:
            self._order.push(pm.tp, None)
        pm.queue.append((batch, charge))
        charge.holders += 1
        pm.queued_bytes += batch.size
        self.produce_ready.set()

    def block_after_queue(self, pm: PartitionMirror, offset: int, reason: str) -> None:
        """Produce what is queued, then move ``pm`` to BLOCKED; fetch no more."""
        if not pm.queue:
            self._order.push(pm.tp, None)
        pm.queue.append((Blocker(offset, reason), None))
        pm.fetch_done = True
        self.produce_ready.set()

    def keep_held(self, pm: PartitionMirror, batches: list[BatchView]) -> None:
        """Keep ``batches`` (own copies) for the partition's next plan: they are charged to the byte
        budget like fetched frames, so holes waiting on many compacted partitions stay bounded."""
        size = sum(b.size for b in batches)
        if size > pm.held_bytes:
            self.budget.take(size - pm.held_bytes)
        elif size < pm.held_bytes:
            self.budget.give(pm.held_bytes - size)
        pm.held, pm.held_bytes = batches, size
        self.metrics.in_flight_bytes.set(self.budget.used)

    def drop_queue(self, pm: PartitionMirror) -> None:
        """Forget fetched batches not yet sent (the one in flight settles on its response)."""
        self.keep_held(pm, [])
        while pm.queue:
            item, charge = pm.queue.popleft()
            pm.queued_bytes -= item.size
            self.release(charge)
        self._order.drop(pm.tp)
        self.metrics.in_flight_bytes.set(self.budget.used)
        self.fetch_ready.notify()

    # -- the produce side ----------------------------------------------------------
    def produce_round(self) -> list[PartitionMirror]:
        """Partitions with a batch to produce now, one each, in rotating order.

        A Blocker at a queue head is applied here (the partition moves to
        BLOCKED). Partitions not sent after all go back with ``defer``.
        """
        blocked = {tp for tp, pm in self.partitions.items() if not pm.ready_to_produce}
        out = []
        for tp, _ in self._order.take_round(1 << 62, lambda _: 0, blocked):
            pm = self.partitions[tp]
            head = pm.queue[0][0]
            if isinstance(head, Blocker):
                pm.queue.popleft()
                self.move(pm, PartitionState.BLOCKED, head.reason, offset=head.offset)
                continue
            out.append(pm)
        return out

    def defer(self, pm: PartitionMirror) -> None:
        self._order.push(pm.tp, None)

    def start_produce(self, pm: PartitionMirror) -> BatchView:
        """Take ``pm``'s head batch into flight; it must land at ``produced_end``."""
        batch, charge = pm.queue.popleft()
        assert isinstance(batch, BatchView)
        if not pm.flight:
            pm.flight_broken = False
        pm.flight.append((batch, charge))
        pm.produced_end = batch.next_offset
        pm.produced_epoch = batch.partition_leader_epoch
        if pm.queue:
            self._order.push(pm.tp, None)
        return batch

    def end_produce(self, pm: PartitionMirror, batch: BatchView | None = None) -> BatchView:
        """A batch of ``pm`` in flight (the oldest by default) got its answer, whatever it was:
        release it."""
        index = 0
        if batch is not None:
            index = next(i for i, (b, _) in enumerate(pm.flight) if b is batch)
        b, charge = pm.flight[index]
        del pm.flight[index]
        if not pm.flight:
            pm.flight_connection = None
        pm.queued_bytes -= b.size
        self.release(charge)
        return b  # type: ignore[return-value]

    def produce_settled(self) -> None:
        """A produce response was handled: wake whoever waits for room or quiet."""
        self.metrics.in_flight_bytes.set(self.budget.used)
        self.settled.notify()
        self.fetch_ready.notify()
        self.produce_ready.set()
