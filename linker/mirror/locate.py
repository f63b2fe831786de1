"""The locator: where each partition resumes. It creates or adopts the mirror
topics, reads the destination log end, checks the destination's last batch
against the source (``compare``), aligns a leading gap, and re-locates
partitions the fetcher or producer hand back (``schedule_resync``) in its
resync loop, which wakes on ``PartitionTable.resync_wanted``."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from linker.client import (EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, LOG_END, Admin, AuthorizationError, Client,
                           ClientError, NewTopic, UnsupportedVersion)
from linker.client.kafka_errors import error_name
from linker.settings import MirrorSettings
from linker.metrics import MirrorMetrics
from linker.mirror.alignment import WriteFillers, plan_alignment
from linker.mirror.checks import Verdict, judge_produce, truncation_problem
from linker.mirror.compare import batch_containing, compare_batches, tail_problem
from linker.mirror.filler import filler_batch
from linker.mirror.partition import TP, PartitionMirror
from linker.mirror.progress import WorkProgress
from linker.mirror.signals import StaleMetadata
from linker.mirror.state import TERMINAL, PartitionState, needs_person
from linker.mirror.table import PartitionTable
from linker.mirror.sequences import Seq, from_states
from linker.mirror.topics import is_compacted, make_durable, plan_topics
from linker.naming import MirrorNames
from linker.selection import TopicSelector

log = logging.getLogger("linker.mirror")

#: Pause before re-locating partitions a pass left unlocated (a cluster not ready yet).
RESYNC_RETRY_S = 0.5
#: Pause after a resync pass failed as a whole (metadata refresh or ListOffsets).
RESYNC_FAILURE_DELAY_S = 1.0
#: Partitions located at once, and leading gaps aligned at once.
LOCATE_CONCURRENCY = 16
ALIGN_CONCURRENCY = 4
MAX_TOPIC_NAME = 249
#: How long one offsets lookup retries a partition without a leader before leaving it for the next pass.
ISOLATED_RETRY_S = 2.0

ProduceOne = Callable[[TP, list[Any]], Awaitable[tuple[int, int]]]
Adopted = Callable[[TP, int, int], None]


async def isolated_offsets(client: Client, tps: list[TP], timestamp: int
                           ) -> tuple[dict[TP, int], dict[TP, ClientError]]:
    """Offsets of ``tps``, one lookup per cached leader, so a partition without a leader (or
    whose broker is down) fails alone instead of failing the whole set.

    Returns the offsets found and the error of each partition not found; raises what
    needs a person (authorization, ...)."""
    groups: dict[int, list[TP]] = {}
    for tp in tps:
        groups.setdefault(client.leader(tp), []).append(tp)
    answers = await asyncio.gather(*(client.offsets(g, timestamp, retry_for=ISOLATED_RETRY_S)
                                     for g in groups.values()), return_exceptions=True)
    found: dict[TP, int] = {}
    failed: dict[TP, ClientError] = {}
    for group, answer in zip(groups.values(), answers):
        if isinstance(answer, BaseException):
            if not isinstance(answer, ClientError) or needs_person(answer):
                raise answer
            failed.update((tp, answer) for tp in group)
        else:
            found.update(answer)
    return found, failed


class Locator:
    def __init__(self, table: PartitionTable, source: Client, dest: Client, source_admin: Admin, dest_admin: Admin,
                 names: MirrorNames, selector: TopicSelector, settings: MirrorSettings, metrics: MirrorMetrics,
                 stale: StaleMetadata, produce_one: ProduceOne, on_adopted: Adopted,
                 before_create: list[Callable[[list[str]], Awaitable[None]]]) -> None:
        self.table = table
        self.source = source
        self.dest = dest
        self.source_admin = source_admin
        self.dest_admin = dest_admin
        self.names = names
        self.selector = selector
        self.settings = settings
        self.metrics = metrics
        self.stale = stale
        self._produce_one = produce_one
        self._on_adopted = on_adopted
        self._before_create = before_create
        self._align_slots = asyncio.Semaphore(ALIGN_CONCURRENCY)

    def _error(self, api: str, name: str) -> None:
        self.metrics.errors_total.inc(api=api, error=name)

    async def setup(self) -> None:
        src = await self.source.refresh_metadata()
        await self.dest.refresh_metadata()
        selected, missing = self.selector.select(t for t, info in src.topics.items() if not info.error_code)
        for name in missing:
            log.warning("topic %s is named in the link but does not exist on the source", name)
        await self._add_topics(selected)

    async def _add_topics(self, topics: list[str]) -> None:
        """Create or adopt the mirror topics of ``topics`` and start their partitions."""
        topics = [t for t in topics if t not in self.table.stopped_topics]   # promoted/failed over: never again
        if not topics:
            return
        src, dst = self.source.snapshot, self.dest.snapshot
        src_parts = {t: len(src.topics[t].partitions) for t in topics}
        mt = self.names.mirror_topic
        dst_parts = {t: len(dst.topics[mt(t)].partitions) for t in topics
                     if mt(t) in dst.topics and not dst.topics[mt(t)].error_code}
        src_cfg = await self.source_admin.topic_configs(topics)
        dst_cfg_m = await self.dest_admin.topic_configs([mt(t) for t in topics if t in dst_parts])
        dst_cfg = {t: dst_cfg_m[mt(t)] for t in topics if mt(t) in dst_cfg_m}
        plans = plan_topics(src_parts, dst_parts, src_cfg, dst_cfg, self.settings)
        for p in plans:
            if len(mt(p.topic)) > MAX_TOPIC_NAME and not p.problem:
                p.create, p.problem = False, f"mirror topic name {mt(p.topic)!r} is longer than {MAX_TOPIC_NAME} characters"
        creates = [NewTopic(mt(p.topic), p.partitions, self.settings.replication_factor, p.configs)
                   for p in plans if p.create]
        if creates:
            for hook in self._before_create:
                await hook([p.topic for p in plans if p.create])
            # Waits until every new partition has a leader that serves it.
            created = await self.dest_admin.create_topics(creates, exist_ok=True)
            for topic, topic_id in created.items():
                if topic_id is not None:
                    log.info("created mirror topic %s", topic)
            await make_durable(self.dest, self.dest_admin, [t for t, i in created.items() if i is not None],
                               self.settings)
        for p in plans:
            if not p.create and not p.problem and p.configs:
                log.info("setting mirror configs on existing topic %s: %s", p.topic, p.configs)
                await self.dest_admin.alter_topic_configs(mt(p.topic), p.configs)
            if p.grow_from:
                log.info("growing mirror topic %s from %d to %d partitions", p.topic, p.grow_from, p.partitions)
                await self.dest_admin.create_partitions({mt(p.topic): p.partitions}, exist_ok=True)
        added = []
        for p in plans:
            for i in range(p.partitions):
                tp = (p.topic, i)
                if tp in self.table.partitions:
                    continue
                pm = self.table.add(tp)
                pm.compacted = is_compacted(src_cfg.get(p.topic, {}))
                added.append(pm)
                if p.problem:
                    self.table.move(pm, PartitionState.FAILED, p.problem)
        await self.locate_all(added)

    async def discover(self) -> None:
        """Pick up source topics that started matching the link after start."""
        src = await self.source.refresh_metadata()
        await self.dest.refresh_metadata()
        selected, _ = self.selector.select(t for t, info in src.topics.items() if not info.error_code)
        have: dict[str, int] = {}
        for t, _ in self.table.partitions:
            have[t] = have.get(t, 0) + 1
        new = [t for t in selected if t not in have]
        grown = [t for t in selected if t in have and len(src.topics[t].partitions) > have[t]]
        if new:
            log.info("new source topics match the link: %s", ", ".join(new))
        for t in grown:
            log.info("source topic %s grew from %d to %d partitions", t, have[t], len(src.topics[t].partitions))
        if new or grown:
            await self._add_topics(new + grown)

    async def locate_all(self, pms: list[PartitionMirror]) -> None:
        pms = [pm for pm in pms if pm.status.state not in TERMINAL and not pm.unowned]
        if not pms:
            return
        tps = [pm.tp for pm in pms]
        self.table.begin_locate(pms)
        try:
            m_tps = [self.names.mirror_tp(tp) for tp in tps]
            # Looked up per leader: a partition without one (a broker restarting, a new
            # 1,000-partition topic still electing leaders) waits alone; the others go on.
            answers = await asyncio.gather(
                isolated_offsets(self.dest, m_tps, LOG_END), isolated_offsets(self.dest, m_tps, EARLIEST_TIMESTAMP),
                isolated_offsets(self.source, tps, EARLIEST_TIMESTAMP),
                isolated_offsets(self.source, tps, LATEST_TIMESTAMP))
            (d_end_m, f1), (d_start_m, f2), (s_start, f3), (s_hw, f4) = answers
            source_of = dict(zip(m_tps, tps))
            failed: dict[TP, ClientError] = {source_of[m]: exc for f in (f1, f2) for m, exc in f.items()}
            failed.update(f3)
            failed.update(f4)
            if failed:
                log.info("locating %d of %d partition(s) failed (%s); will retry them", len(failed), len(pms),
                         next(iter(failed.values())))
                self._error("Locate", type(next(iter(failed.values()))).__name__)
                self.stale.mark_both()
                for pm in pms:
                    if pm.tp in failed:
                        pm.resync_needed = True
                        pm.status.waiting = str(failed[pm.tp])
            d_end = {tp: d_end_m[self.names.mirror_tp(tp)] for tp in tps if tp not in failed}
            d_start = {tp: d_start_m[self.names.mirror_tp(tp)] for tp in tps if tp not in failed}
            sem = asyncio.Semaphore(LOCATE_CONCURRENCY)

            async def one(pm: PartitionMirror) -> None:
                async with sem:
                    pm.status.waiting = None
                    try:
                        await self._locate(pm, d_end[pm.tp], d_start[pm.tp], s_start[pm.tp], s_hw[pm.tp])
                    except ClientError as exc:
                        log.info("partition %s-%d: locating failed (%s); will retry", pm.tp[0], pm.tp[1], exc)
                        self._error("Locate", type(exc).__name__)
                        pm.resync_needed = True
                        # Ambiguous (a timeout, a lost connection, a moved leader): the next
                        # attempt must not ask the same, possibly demoted, broker.
                        self.stale.mark_both()
            async with asyncio.TaskGroup() as tasks:
                for pm in pms:
                    if pm.tp not in failed:
                        tasks.create_task(one(pm))
        finally:
            self.table.end_locate(pms)
            if any(pm.resync_needed for pm in pms):
                self.table.resync_wanted.set()   # the resync loop retries them

    async def _locate(self, pm: PartitionMirror, d_end: int, d_start: int, s_start: int, s_hw: int) -> None:
        """Find where ``pm`` resumes; align or refuse loudly when it cannot."""
        tp = pm.tp
        st = pm.status
        st.dest_log_end, st.source_log_start, st.source_high_watermark = d_end, s_start, s_hw
        lost = truncation_problem(pm.acked_end, d_end)
        if lost is not None:
            self.table.move(pm, PartitionState.DEST_TRUNCATED, lost, offset=d_end)
            return
        # The source epoch of the batch ending at d_end, if this run produced it (a destination
        # batch carries the destination's epoch, not the source's).
        known_epoch = pm.produced_epoch if d_end == pm.produced_end else -1
        pm.acked_end = pm.produced_end = d_end
        pm.fetch_epoch = pm.produced_epoch = -1
        pm.resync_needed = False
        pm.first_base = None
        pm.fetch_done = False
        pm.max_bytes_hint = 0
        if d_end > s_hw:
            # A new source leader's high watermark may lag for a long time (an in-sync follower
            # not fetching): only the leader's log for the mirrored epoch decides divergence.
            epoch, held = await self._source_log_end(tp, known_epoch)
            if epoch >= 0 and held < d_end:
                self.table.move(pm, PartitionState.DIVERGED,
                                f"destination ends at {d_end} but the source leader's log ends at {held} "
                                f"for leader epoch {epoch} (high watermark {s_hw}): the source lost offsets "
                                "the destination holds", offset=held)
                return
            pm.resync_needed = True
            st.waiting = (f"source high watermark {s_hw} is below the destination end {d_end}; the source "
                          f"leader holds up to {held}: waiting for its high watermark" if epoch >= 0 else
                          f"source high watermark {s_hw} is below the destination end {d_end}; the source "
                          "leader knows no epoch for it yet: waiting")
            log.debug("partition %s-%d: %s", tp[0], tp[1], st.waiting)
            return
        if pm.compacted:
            await self._load_producers(pm)
        if s_start >= d_end and pm.compacted:
            # No keyless fillers on a compacted mirror: the fetcher fills d_end..s_start with copies of
            # the first retained record; then the log start is matched like any (compact,delete) one.
            pm.next_fetch, pm.first_base = s_start, d_end
            pm.pending_log_start = s_start if s_start > d_end else None
            self._start_mirroring(pm)
            return
        if s_start >= d_end:
            # The source log start may sit inside a batch (DeleteRecords): the whole batch is
            # still stored and fetched, so the destination must end at that batch's base.
            target = s_start
            if s_start > d_end and s_start < s_hw:
                part = await self.source.fetch_partition(tp, s_start, self.settings.partition_max_bytes)
                first = batch_containing(part.records, s_start) if not part.error_code else None
                if first is None:
                    pm.resync_needed = True
                    if part.error_code:
                        self.stale.mark_source()
                    return
                target = max(d_end, first.base_offset)
            if target > d_end:
                if d_end > d_start:
                    log.warning("partition %s-%d: source log start %d passed destination end %d "
                                "(retention overtook the mirror): filling the gap", tp[0], tp[1], s_start, d_end)
                if not await self._align(pm, d_end, d_start, target):
                    return
            elif d_start < target and d_end > d_start:
                await self.dest_admin.delete_records({self.names.mirror_tp(tp): target})
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
        if pm.compacted:
            await self._check_compacted_tail(pm, d_start, d_end)
            return
        # The destination holds data: its last batch must equal the source batch ending at d_end.
        src_p = await self.source.fetch_partition(tp, d_end - 1, self.settings.partition_max_bytes)
        dst_p = await self.dest.fetch_partition(self.names.mirror_tp(tp), d_end - 1, self.settings.partition_max_bytes)
        src_b = batch_containing(src_p.records, d_end - 1)
        dst_b = batch_containing(dst_p.records, d_end - 1)
        if src_p.error_code or dst_p.error_code or src_b is None or dst_b is None:
            pm.resync_needed = True
            if src_p.error_code:
                self.stale.mark_source()
            if dst_p.error_code:
                self.stale.mark_dest()
            why = error_name(src_p.error_code or dst_p.error_code) if (src_p.error_code or dst_p.error_code) else "no batch"
            log.info("partition %s-%d: cannot read the batches at %d yet (%s); will retry", tp[0], tp[1], d_end - 1, why)
            return
        if src_b.next_offset != d_end:
            self.table.move(pm, PartitionState.FAILED,
                            f"destination log end {d_end} falls inside source batch "
                            f"{src_b.base_offset}..{src_b.last_offset}: foreign or partial writes", offset=d_end)
            return
        why = compare_batches(src_b, dst_b)
        if why is not None:
            self.table.move(pm, PartitionState.DIVERGED,
                            f"destination batch {dst_b.base_offset}..{dst_b.last_offset} (crc {dst_b.crc:#010x}) "
                            f"differs from source batch {src_b.base_offset}..{src_b.last_offset} "
                            f"(crc {src_b.crc:#010x}): {why}", offset=dst_b.base_offset)
            return
        pm.next_fetch = d_end
        pm.fetch_epoch = pm.produced_epoch = src_b.partition_leader_epoch
        if pm.first_locate and self.settings.verify_on_start:
            self._on_adopted(tp, d_start, d_end)
        self._start_mirroring(pm)

    async def _load_producers(self, pm: PartitionMirror) -> None:
        """Both sides' producer sequences for ``pm``: which gaps of vanished batches the fillers
        must carry (``compacted``, ``sequences``)."""
        m_tp = self.names.mirror_tp(pm.tp)
        dest, source = await asyncio.gather(self._producers_of(self.dest_admin, m_tp, "destination"),
                                            self._producers_of(self.source_admin, pm.tp, "source"))
        pm.dest_producers, pm.source_producers = dest, source

    async def _producers_of(self, admin: Admin, tp: TP, side: str) -> dict[int, Seq]:
        """One side's producer sequences; none where the cluster cannot tell (no DescribeProducers
        before Kafka 2.8, or no right to it): no gap is filled then, and a producer whose batches
        vanished goes FAILED on the destination's refusal, naming it."""
        try:
            return from_states((await admin.describe_producers([tp])).get(tp, []))
        except (UnsupportedVersion, AuthorizationError) as exc:
            log.warning("partition %s-%d: the %s's producer states are unknown (%s); sequence gaps of "
                        "idempotent batches the source cleaner removed cannot be filled", tp[0], tp[1], side, exc)
            return {}

    async def _check_compacted_tail(self, pm: PartitionMirror, d_start: int, d_end: int) -> None:
        """The destination's last offset must equal the source's: by bytes, or by records where cleaned."""
        why = await tail_problem(self.source, self.dest, pm.tp, self.names.mirror_tp(pm.tp), d_end)
        if why is not None:
            self.table.move(pm, PartitionState.DIVERGED, f"destination end {d_end} differs from the source: {why}",
                            offset=d_end)
            return
        pm.next_fetch = pm.first_base = d_end
        if pm.first_locate and self.settings.verify_on_start:
            self._on_adopted(pm.tp, d_start, d_end)
        self._start_mirroring(pm)

    async def _source_log_end(self, tp: TP, epoch: int) -> tuple[int, int]:
        """(epoch, end offset) of the source leader's log for the largest leader epoch <= ``epoch``
        (OffsetForLeaderEpoch); with ``epoch`` unknown, or older than the leader's history, the
        current epoch from metadata, whose end is the leader's log end. Epoch -1: undecided."""
        current = self.source.leader_epoch(tp)
        for ask in ([epoch, current] if 0 <= epoch != current else [current]):
            answer = (await self.source.offset_for_leader_epoch({tp: ask}))[tp]
            if answer.leader_epoch >= 0:
                break
        return answer.leader_epoch, answer.end_offset

    def _start_mirroring(self, pm: PartitionMirror) -> None:
        # Only now is the data found at start decided (a locate that returned early, e.g. with
        # the destination high watermark below its log end, leaves it for the next one).
        pm.first_locate = False
        if pm.status.state is not PartitionState.MIRRORING:
            self.table.move(pm, PartitionState.MIRRORING, offset=pm.next_fetch)
        else:
            log.info("partition %s-%d resumes at offset %d", pm.tp[0], pm.tp[1], pm.next_fetch)

    async def _align(self, pm: PartitionMirror, d_end: int, d_start: int, target: int) -> bool:
        tp = pm.tp
        mirror = self.names.mirror_topic(tp[0])
        cfg = (await self.dest_admin.topic_configs([mirror])).get(mirror, {})
        if "delete" not in (cfg.get("cleanup.policy") or ""):
            self.table.move(pm, PartitionState.BLOCKED,
                            f"source starts at {target} but the destination topic's cleanup.policy is "
                            f"{cfg.get('cleanup.policy')!r}: DeleteRecords needs delete", offset=d_end)
            return False
        self.table.move(pm, PartitionState.ALIGNING, f"writing {target - d_end} filler offsets", offset=d_end)
        steps = plan_alignment(d_end, d_start, target, self.settings.filler_batch_records, self.settings.filler_delete_every)
        ts = int(time.time() * 1000)
        work = WorkProgress(f"partition {tp[0]}-{tp[1]} aligning", target - d_end, "offsets",
                            self.settings.progress_log_interval_ms / 1000, time.monotonic())
        pm.status.work = work.as_dict(time.monotonic())
        async with self._align_slots:
            for step in steps:
                if isinstance(step, WriteFillers):
                    raw = filler_batch(step.count, ts)
                    code, base = await self._produce_one(tp, [raw])
                    verdict, reason = judge_produce(step.base_offset, code, base, error_name(code) if code else "")
                    if verdict in (Verdict.RETRY, Verdict.AMBIGUOUS):
                        self._error("Produce", reason)
                        pm.resync_needed = True   # re-read the destination end, re-plan from there
                        return False
                    if verdict is not Verdict.OK:
                        self.table.move(pm, PartitionState.FAILED, f"filler write: {reason}", offset=step.base_offset)
                        return False
                    self.metrics.filler_offsets_total.inc(step.count)
                    now = time.monotonic()
                    if work.advance(step.count, now):
                        log.info("%s", work.line(now))
                    pm.status.work = work.as_dict(now)
                else:
                    await self.dest_admin.delete_records({self.names.mirror_tp(tp): step.offset})
        pm.acked_end = pm.produced_end = target
        pm.status.dest_log_end = target
        pm.status.work = None
        log.info("%s", work.line(time.monotonic()))
        return True

    async def resync_loop(self) -> None:
        """Refresh stale metadata and re-locate handed-back partitions when woken."""
        wanted = self.table.resync_wanted
        while True:
            await wanted.wait()
            wanted.clear()
            try:
                if self.table.needs_resync()[0]:
                    # A hand-back follows an ambiguous failure (a timeout, a lost connection, a
                    # moved leader): re-read both clusters' leaders before asking them again.
                    self.stale.source = self.stale.dest = True
                await self._refresh_stale()
                todo, waiting = self.table.needs_resync()
                if todo:
                    await self.locate_all(todo)
            except ClientError as exc:
                log.info("resync attempt failed (%s); retrying", exc)
                self._error("Resync", type(exc).__name__)
                self.stale.mark_both()
                await asyncio.sleep(RESYNC_FAILURE_DELAY_S)
                continue
            todo, waiting = self.table.needs_resync()
            if todo or waiting or self.stale.source or self.stale.dest:
                await asyncio.sleep(RESYNC_RETRY_S)   # not ready yet, or waiting for a produce
                wanted.set()

    async def _refresh_stale(self) -> None:
        if self.stale.source:
            self.stale.source = False
            await self.source.refresh_metadata({tp[0] for tp in self.table.partitions})
        if self.stale.dest:
            self.stale.dest = False
            await self.dest.refresh_metadata({self.names.mirror_topic(tp[0]) for tp in self.table.partitions})
            self.table.produce_ready.set()   # partitions held back for want of a leader may go now
