"""The exact mirror engine: the composition root.

Position is the destination's log end: on start and after every ambiguous
failure the locator asks the destination where each partition ends, checks
the destination's last batch against the source batch ending there and
fetches from that offset. The fetcher queues source batches in the partition
table; the producer sends them verbatim (baseOffset zeroed), one per
partition per request, at most one in flight per partition (several only in a
pipelined run of one idempotent producer, ``pipeline.py``), and checks every
response's base offset against the source offset. The auditor re-compares
stored batches, the lag watch reports lag and foreign writes.

The engine builds these components around one ``PartitionTable`` and runs
them in one ``asyncio.TaskGroup``: a component that fails unexpectedly stops
the engine (``run`` raises it), never silently. The clients are the caller's:
it builds them, and closes them after ``run`` returns.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from linker.client import Admin, Client, ClientError
from linker.settings import MirrorSettings, TopicSettings
from linker.metrics import MirrorMetrics
from linker.mirror.audit import Auditor
from linker.mirror.budget import ByteBudget
from linker.mirror.fetcher import Fetcher
from linker.mirror.identity import SOURCE_MISSING, LinkGuard, TopicIds
from linker.mirror.lag import LagWatch
from linker.mirror.locate import Locator
from linker.mirror.partition import TP, PartitionMirror
from linker.mirror.producer import Producer
from linker.mirror.signals import StaleMetadata
from linker.mirror.state import ClusterWait, until_ready
from linker.mirror.table import PartitionTable
from linker.mirror.transactions import ReplayMismatch
from linker.naming import MirrorNames
from linker.selection import TopicSelector

log = logging.getLogger("linker.mirror")


class MirrorEngine:
    def __init__(self, name: str, mirror: MirrorSettings, topics: TopicSettings, source: Client,
                 dest: Client, metrics: MirrorMetrics | None = None) -> None:
        self.name = name
        self.settings = mirror
        self.metrics = metrics or MirrorMetrics()
        self.source = source
        self.dest = dest
        self.names = MirrorNames(topics.prefix)   # partitions are keyed by source name
        self.table = PartitionTable(mirror.max_in_flight_bytes, mirror.partition_max_bytes, self.metrics)
        self.started = asyncio.Event()
        self.crashed: BaseException | None = None
        # Awaited at shutdown, before ``run`` returns (the lifecycle's last state write).
        self.before_close: list[Callable[[], Awaitable[None]]] = []
        # Awaited with the source names of mirror topics about to be created (the lifecycle
        # makes them read-only first, so no client can write them before the first poll).
        self.before_create: list[Callable[[list[str]], Awaitable[None]]] = []
        self._stopping = asyncio.Event()
        # What time heals and the linker waits for (a broker down, leaders not elected yet).
        self.wait = ClusterWait(on_change=[self._show_wait])
        self._loops: list[asyncio.Task[None]] = []
        self._producing: asyncio.Task[None] | None = None
        self._dropped: list[PartitionMirror] = []   # scale-out: dropped at once, maybe still in flight
        stale = StaleMetadata(self.table.resync_wanted.set)
        self.ids = TopicIds(self.table, self.names, source, dest)
        self.guard = LinkGuard(source, dest)
        self.fetcher = Fetcher(self.table, source, mirror, self.metrics, stale, self.ids.fetch_ids)
        # Whoever refreshed the source metadata (the locator, the client's own refresh after any
        # fenced request, a retried lag lookup), moved leaders need fetch loops: the old leader's
        # loop, still leading other partitions, only drops a moved partition.
        source.on_snapshot.append(lambda _: self.table.leaders_changed())
        source_admin, dest_admin = Admin(source), Admin(dest)
        self.producer = Producer(self.table, dest, dest_admin, self.names, mirror, self.metrics, stale, link=name,
                                 source=source)
        self.auditor = Auditor(self.table, source, dest, self.names, mirror, self.metrics)
        self.locator = Locator(self.table, source, dest, source_admin, dest_admin, self.names,
                               TopicSelector(topics, self._refusal),
                               mirror, self.metrics, stale, self.producer.produce_one, self.auditor.check_prefix,
                               self.before_create)
        self.lag = LagWatch(self.table, source, dest, self.names, mirror, self.metrics, self._discover,
                            self.wait)

    async def _setup(self) -> None:
        await self.guard.check_link()
        await self.guard.refresh_foreign()
        await self.locator.setup()

    async def _discover(self) -> None:
        await self.guard.refresh_foreign()
        await self.locator.discover()

    def _refusal(self, topic: str) -> str | None:
        """Why a source topic must not be selected; an admitted one gets its id pinned."""
        why = self.guard.refusal(topic)
        if why is None:
            self.ids.pin(topic)
        return why

    def _show_wait(self, wait: ClusterWait) -> None:
        self.metrics.waiting.set(1 if wait.reason is not None else 0)
        if wait.reason is not None:
            self.metrics.wait_retries_total.inc()

    # -- what callers read ---------------------------------------------------------
    @property
    def partitions(self) -> dict[TP, PartitionMirror]:
        return self.table.partitions

    @property
    def budget(self) -> ByteBudget:
        return self.table.budget

    @property
    def stopped_topics(self) -> set[str]:
        return self.table.stopped_topics

    @property
    def paused_topics(self) -> set[str]:
        return self.table.paused_topics

    def status_doc(self) -> dict[str, Any]:
        parts = []
        for pm in self.table.partitions.values():
            d = pm.status.as_dict()
            d["acked_end"] = pm.acked_end
            d["avg_record_bytes"] = pm.avg_record_bytes()
            d["paused"] = pm.paused
            d["compacted"] = pm.compacted
            d["rebuilt_batches"] = pm.rebuilt_batches
            if self.table.assigned is not None:
                d["owned"] = not pm.unowned   # scale-out: another member writes it
            if pm.tp[0] in self.ids.missing:
                d["waiting"] = SOURCE_MISSING
            parts.append(d)
        return {"link": self.name, "waiting": self.wait.as_dict(), "audit": self.auditor.coverage(),
                "progress": self.lag.progress.as_dict(), "partitions": parts, "source_missing": sorted(self.ids.missing)}

    # -- lifecycle hooks -------------------------------------------------------------
    async def pause_topic(self, topic: str) -> None:
        """Stop fetching and producing ``topic``; returns once nothing of it is in flight."""
        await self._settled(self.table.pause(topic))

    def resume_topic(self, topic: str) -> None:
        """Mirror ``topic`` again from the destination log end (re-located, tail-checked)."""
        self.table.resume(topic)

    async def stop_topic(self, topic: str, reason: str) -> None:
        """Never write ``topic`` again (promote/failover); returns once its last produce settled."""
        self.table.stopped_topics.add(topic)   # never located or created again from here on
        pms = self.table.hold(topic)
        await self._settled(pms)
        await self._abort_replayed(pms)
        self.table.stop(topic, reason)   # no await since the wait: no locate or produce started in between

    async def _abort_replayed(self, pms: list[PartitionMirror]) -> None:
        """A replayed destination transaction left open by a stopped topic would hold its last
        stable offset until the destination times it out: abort it now (docs/mirror.md)."""
        for pm in pms:
            if not self.producer.replayer.open_transactions(pm.tp) or pm.in_flight is not None:
                continue
            try:
                pm.acked_end = await self.producer.replayer.abort_open(pm.tp, self.names.mirror_tp(pm.tp),
                                                                       pm.acked_end)
                pm.status.dest_log_end = pm.acked_end
            except (ClientError, ReplayMismatch) as exc:
                log.error("partition %s-%d: aborting its open replayed transactions failed: %s "
                          "(the destination aborts them after their timeout)", pm.tp[0], pm.tp[1], exc)

    # -- scale-out: the partitions this member of the link's group owns ------------------------
    def own_only(self) -> None:
        """Before ``run``: mirror nothing until the group assigns partitions (``assign``)."""
        self.table.assigned = set()

    def assign(self, tps: set[TP]) -> None:
        """Partitions given to this member: located again from the destination log end."""
        self.table.assign(tps)

    async def revoke(self, tps: set[TP]) -> None:
        """Partitions taken away: nothing new starts; returns once their produce or locate in
        flight has settled (no bound: a produce ends with its own request timeout), so the member
        that gets them next never races a write of ours."""
        pms = self.table.revoke(tps)
        while self.table.busy(pms):
            await self.table.settled.wait()

    def drop_all(self) -> None:
        """The lease ended: stop at once (the write gate already refuses every produce)."""
        self._dropped.extend(self.table.revoke(self.table.owned()))

    async def quiet(self) -> None:
        """Returns once nothing dropped by ``drop_all`` is still in flight: a member rejoins with an
        empty claim only then, so its partitions cannot be given away under a produce of its own."""
        while self.table.busy(self._dropped):
            await self.table.settled.wait()
        self._dropped = []

    def owned(self) -> set[TP]:
        return self.table.owned()

    async def _settled(self, pms: list[PartitionMirror]) -> None:
        try:
            async with asyncio.timeout(self.settings.stop_timeout_ms / 1000):
                while self.table.busy(pms):
                    await self.table.settled.wait()
        except TimeoutError:
            pass

    # -- running ---------------------------------------------------------------------
    def request_stop(self) -> None:
        self._stopping.set()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Mirror until ``stop`` is set (or forever), then drain and return.

        Raises the first unexpected error of any component (after stopping the rest).
        """
        try:
            async with asyncio.TaskGroup() as tasks:
                relay = tasks.create_task(self._relay_stop(stop)) if stop is not None else None
                starting = tasks.create_task(self._start(tasks))
                await self._stopping.wait()
                starting.cancel()
                if relay is not None:
                    relay.cancel()
                await self._drain()
        except BaseExceptionGroup as group:
            exc = _first_error(group)
            log.error("engine stopped by %r", exc, exc_info=exc)
            self.crashed = exc
        finally:
            self.table.stop_all()
            for hook in self.before_close:
                try:
                    await hook()
                except Exception as exc:  # one failing hook must not skip the others
                    log.warning("shutdown hook %s failed: %r", getattr(hook, "__qualname__", hook), exc)
        if self.crashed is not None:
            raise self.crashed

    async def _relay_stop(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self._stopping.set()

    async def _start(self, tasks: asyncio.TaskGroup) -> None:
        # A cluster not ready (a broker restarting, new leaders not elected) is waited for,
        # backing off; only what needs a person (authentication, authorization) ends the run.
        await until_ready("start-up", self._setup, self.wait)
        self.started.set()
        self._loops = [tasks.create_task(coro, name=name) for name, coro in (
            ("fetcher", self.fetcher.run()), ("resync", self.locator.resync_loop()), ("lag", self.lag.run()),
            ("prefix-checks", self.auditor.run_prefix_checks()), ("audit", self.auditor.run_tail_audit()))]
        self._producing = tasks.create_task(self.producer.run(), name="producer")

    async def _drain(self) -> None:
        """Stop fetching and locating at once; give produces in flight ``stop_timeout_ms``."""
        for task in self._loops:
            task.cancel()
        if self._producing is None:
            return
        self.producer.stop()
        done, _ = await asyncio.wait([self._producing], timeout=self.settings.stop_timeout_ms / 1000)
        if not done:
            self._producing.cancel()


def _first_error(group: BaseExceptionGroup) -> BaseException:
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc
