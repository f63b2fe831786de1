"""`linker pause|resume|promote|failover TOPIC...`: commands through the state topic.

A command is a ``topic/<name>`` record. A running linker (the link's owner, its beat seen to
change: ``store_view.OwnerWatch``) applies it within one poll and acknowledges STOPPED with a record of its own
(``by: linker``) holding the final destination ends. Without a running linker
the command does the work itself: the state is what the next ``linker run``
reads at start.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from linker.client import LATEST_TIMESTAMP, LOG_END, ClientError
from linker.settings import LinkConfig
from linker.connect import connect
from linker.lifecycle.acl_sync import sync_acls_and_report
from linker.lifecycle.acls import NoAuthorizer, allow_writes, fence_linker, linker_principal
from linker.lifecycle.config_sync import restore_forced
from linker.lifecycle.offset_sync import NO_COMMITS, sync_groups
from linker.lifecycle.producer_ids import ProducerIdError, move_past_mirrored_ids
from linker.lifecycle.records import TopicRecord, TopicState, command_refusal
from linker.settings import LifecycleSettings
from linker.lifecycle.state_store import StateStore
from linker.lifecycle.store_view import LinkState, OwnerWatch, watch_owner
from linker.naming import MirrorNames

log = logging.getLogger("linker.lifecycle")

SOURCE_PROBE_TIMEOUT_S = 5.0


class CommandError(RuntimeError):
    """A command that cannot be carried out; the message says why and what to do."""


@dataclass
class CommandResult:
    topic: str
    state: TopicState
    offsets: dict[int, int] = field(default_factory=dict)
    rpo: dict[int, int] | None = None
    note: str = ""
    rpo_floor: bool = False   # source unreachable: the RPO is a lower bound (from the ends last seen)

    mirror_topic: str = ""
    # What promote/failover did about mirrored producer ids (one line for the whole command;
    # kept out of line(), whose "final offsets" tail scripts parse).
    producer_ids: str = ""
    # With sync_acls: what the destination lacks for the copied ACLs' clients (SCRAM users,
    # client quotas; the same for every topic of the command, printed once).
    access: list[str] = field(default_factory=list)

    def line(self) -> str:
        s = f"{self.topic}: {self.state.value}"
        if self.mirror_topic and self.mirror_topic != self.topic:
            s = f"{self.topic} (mirror {self.mirror_topic}): {self.state.value}"
        if self.offsets:
            s += " final offsets " + ", ".join(f"{p}:{o}" for p, o in sorted(self.offsets.items()))
        if self.rpo is not None:
            s += (f"; not mirrored (RPO) {'at least ' if self.rpo_floor else ''}{sum(self.rpo.values())} "
                  "records (" + ", ".join(f"{p}:{n}" for p, n in sorted(self.rpo.items())) + ")")
        if self.note:
            s += f" ({self.note})"
        return s


class Commands:
    def __init__(self, config: LinkConfig, moved_producer_ids: Callable[[], Iterable[int]] = tuple) -> None:
        self.config = config
        #: ids of producers that keep writing after a switch (a proxy's clients from the source)
        self.moved_producer_ids = moved_producer_ids
        self.settings: LifecycleSettings = config.lifecycle or LifecycleSettings()
        self.dest = connect(config.destination, "destination", f"{config.destination.client_id}-{config.name}-cmd")
        self.source = connect(config.source, "source", f"{config.source.client_id}-{config.name}-cmd")
        self.store = StateStore(self.dest, self.settings.state_topic_for(config.name),
                                config.mirror.replication_factor)
        self.names = MirrorNames(config.topics.prefix)

    async def close(self) -> None:
        await self.dest.close()
        await self.source.close()

    async def _load(self, topics: list[str]) -> tuple[list[str], LinkState]:
        """The source names of ``topics`` (each given by its source or mirror name) and the link state."""
        await self.store.ensure()
        snap = await self.dest.refresh_metadata()
        mirrored = {s for m, info in snap.topics.items() if not info.error_code
                    for s in [self.names.source_topic(m)] if s is not None}
        resolved = {t: self.names.resolve(t, mirrored) for t in topics}
        missing = [t for t, s in resolved.items() if s is None]
        if missing:
            raise CommandError(f"not a mirror topic on the destination: {', '.join(missing)}"
                               + (f" (mirror topics are named {self.names.prefix}<source topic>; either name works)"
                                  if self.names.prefix else ""))
        return list(dict.fromkeys(s for s in resolved.values() if s is not None)), \
            LinkState.from_records(await self.store.read_all())

    async def _read(self) -> LinkState:
        return LinkState.from_records(await self.store.read_all())

    async def _running(self, st: LinkState) -> bool:
        """Is a linker applying commands? Its owner beat seen to change (up to its liveness window
        when it is gone without releasing the link, e.g. after kill -9)."""
        return (await watch_owner(self._read, st)).alive()

    def _result(self, topic: str, state: TopicState, *args, **kw) -> CommandResult:
        return CommandResult(topic, state, *args, mirror_topic=self.names.mirror_topic(topic), **kw)

    def _mirror_parts(self, topic: str) -> list[int]:
        return sorted(self.dest.snapshot.topics[self.names.mirror_topic(topic)].partitions)

    def _check(self, state: LinkState, command: str, topics: list[str]) -> None:
        for t in topics:
            r = state.topics.get(t)
            why = command_refusal(command, t, r.state if r else TopicState.ACTIVE)
            if why:
                raise CommandError(why)

    async def _set(self, topics: list[str], new: TopicState, reason: str) -> None:
        recs = [TopicRecord(t, new, reason) for t in topics]
        await self.store.write([(r.key(), r.value()) for r in recs])

    async def pause(self, topics: list[str]) -> list[CommandResult]:
        topics, st = await self._load(topics)
        self._check(st, "pause", topics)
        await self._set(topics, TopicState.PAUSED, "paused by command")
        note = "" if await self._running(st) else "linker not running: applies at start"
        return [self._result(t, TopicState.PAUSED, note=note) for t in topics]

    async def resume(self, topics: list[str]) -> list[CommandResult]:
        topics, st = await self._load(topics)
        self._check(st, "resume", topics)
        await self._set(topics, TopicState.ACTIVE, "resumed by command")
        note = "" if await self._running(st) else "linker not running: applies at start"
        return [self._result(t, TopicState.ACTIVE, note=note) for t in topics]

    async def promote(self, topics: list[str]) -> list[CommandResult]:
        """Planned migration. A topic already STOPPED (an earlier promote gave up waiting and
        the linker finished; a failover) is *finished*: the steps after STOPPED — producer ids,
        ACLs — are idempotent and run again, so "run promote again" always completes one."""
        topics, st = await self._load(topics)
        self._check(st, "promote", topics)
        done = [t for t in topics if t in st.topics and st.topics[t].state is TopicState.STOPPED]
        rest = [t for t in topics if t not in done]
        results = []
        if rest:
            # Decided before PROMOTING is written (as failover does): watching the owner's beat
            # takes up to a poll, and promote_timeout_ms counts from the PROMOTING record.
            running = await self._running(st)
            await self._set(rest, TopicState.PROMOTING, "promote requested")
            if running:
                results = await self._wait_stopped(rest, self.settings.promote_timeout_ms / 1000)
            else:
                results = [await self._promote_offline(t) for t in rest]
        results += [self._result(t, TopicState.STOPPED, st.topics[t].offsets, note="promoted earlier") for t in done]
        access = await self._after_stop(topics)
        for r in results:
            r.access = access
        await self._move_producer_ids(topics, results)
        await self._unlock(topics)
        return results

    async def _move_producer_ids(self, topics: list[str], results: list[CommandResult]) -> None:
        """Before clients write the now-STOPPED topics: new destination producer ids must not clash
        with mirrored ones (docs/lifecycle.md, "Producer ids after promote/failover")."""
        tps = [self.names.mirror_tp((t, p)) for t in topics for p in self._mirror_parts(t)]
        try:
            line = (await move_past_mirrored_ids(self.dest, tps, extra_ids=self.moved_producer_ids())).line()
        except (ProducerIdError, ClientError, OSError, asyncio.TimeoutError) as exc:
            line = f"producer ids: WARNING not moved past the mirrored ids ({exc}): new idempotent producers may fail"
            log.warning("%s", line)
        for r in results:
            r.producer_ids = line

    async def _unlock(self, topics: list[str]) -> None:
        """Remove the read-only ACLs (idempotent; the linker does it too) once STOPPED is recorded."""
        if self.settings.manage_acls:
            await allow_writes(self.dest, [self.names.mirror_topic(t) for t in topics])

    async def _fence(self, topics: list[str]) -> None:
        """Before the command records STOPPED itself: DENY WRITE for the linker's principal (the
        running linker does the same before its own STOPPED), so a stale linker is refused."""
        principal = linker_principal(self.config.destination.sasl)
        if not (self.settings.manage_acls and principal and topics):
            return
        try:
            await fence_linker(self.dest, principal, [self.names.mirror_topic(t) for t in topics])
        except NoAuthorizer as exc:
            log.warning("%s; a stale linker is fenced by the owner epoch only", exc)

    async def _promote_offline(self, topic: str) -> CommandResult:
        """No linker running: promote only if the mirror already holds the source's log end."""
        tps = [(topic, p) for p in self._mirror_parts(topic)]
        d_end, s_end, s_leo = await asyncio.gather(
            self.dest.offsets([self.names.mirror_tp(tp) for tp in tps], LOG_END),
            self.source.offsets(tps, LATEST_TIMESTAMP), self.source.offsets(tps, LOG_END))
        d_end = self.names.by_source(d_end, tps)
        behind = {tp: s_end[tp] - d_end[tp] for tp in tps if s_end[tp] != d_end[tp]}
        unsettled = [f"{p}: log end {s_leo[(t, p)]} > high watermark {s_end[(t, p)]}" for t, p in tps
                     if s_leo[(t, p)] != s_end[(t, p)]]
        if unsettled and not behind:
            raise CommandError(f"promote {topic}: the source has acknowledged writes it has not replicated yet "
                               f"(partition {', '.join(unsettled)}); run promote again once its replication "
                               "settled (the topic stays PROMOTING, read-only)")
        if behind:
            raise CommandError(f"promote {topic}: no linker is running and the mirror is behind the source by "
                               f"{sum(behind.values())} records; start `linker run`: it finishes the promotion "
                               f"(the topic stays PROMOTING, read-only)")
        await sync_groups(self.source, self.dest, {topic}, self.settings.group_selected, self.names,
                          2 * SOURCE_PROBE_TIMEOUT_S)
        offsets = {p: d_end[(topic, p)] for _, p in tps}
        await self._fence([topic])
        rec = TopicRecord(topic, TopicState.STOPPED, "promoted", by="linker", offsets=offsets)
        await self.store.write([(rec.key(), rec.value())])
        return self._result(topic, TopicState.STOPPED, offsets, note="promoted without a running linker")

    async def failover(self, topics: list[str]) -> list[CommandResult]:
        """Disaster recovery: stop at once, then report what was not mirrored."""
        topics, st = await self._load(topics)
        self._check(st, "failover", topics)
        running = await self._running(st)
        # Already STOPPED (an earlier failover or promote): its recorded final offsets, not today's
        # destination ends, which hold what clients wrote since; re-run once the source answers, this
        # turns an "at least" RPO into the exact one.
        dest_ends = {t: st.topics[t].offsets for t in topics if t in st.topics
                     and st.topics[t].state is TopicState.STOPPED and st.topics[t].by == "linker"}
        todo = [t for t in topics if t not in dest_ends]
        if todo:
            await self._fence(todo)
            await self._set(todo, TopicState.STOPPED, "failover")
        if running and todo:
            acked = await self._wait_stopped(todo, 60.0)
            dest_ends.update({r.topic: r.offsets for r in acked})
        else:
            for t in todo:
                tps = [(t, p) for p in self._mirror_parts(t)]
                ends = self.names.by_source(await self.dest.offsets(
                    [self.names.mirror_tp(tp) for tp in tps], LOG_END), tps)
                dest_ends[t] = {p: ends[(t, p)] for _, p in tps}
        results = []
        reachable = []
        for t in topics:
            src, how, exact = await self._source_ends(t, st)
            rpo = {p: max(0, src[p] - e) for p, e in dest_ends[t].items() if p in src}
            if unseen := sorted(set(dest_ends[t]) - set(src)):
                how += f"; partitions {', '.join(map(str, unseen))}: no source end seen, RPO unknown"
            rec = TopicRecord(t, TopicState.STOPPED, "failover", by="linker", offsets=dest_ends[t], rpo=rpo)
            await self.store.write([(rec.key(), rec.value())])
            results.append(self._result(t, TopicState.STOPPED, dest_ends[t], rpo, note=how, rpo_floor=not exact))
            if exact:
                reachable.append(t)
        await self._final_offset_sync(reachable, [r for r in results if r.topic in reachable])
        access = await self._after_stop(reachable)   # an unreachable source is not waited for again
        for r in results:
            r.access = access
        if lost := [t for t in topics if t not in reachable]:
            log.warning("%s: the source is unreachable: configs mirroring forced and source ACLs not restored; "
                        "run `linker promote` on them once it answers", ", ".join(lost))
        await self._move_producer_ids(topics, results)
        await self._unlock(topics)
        return results

    async def _after_stop(self, topics: list[str]) -> list[str]:
        """Once STOPPED, before clients write: the configs mirroring forced back to the source's values,
        and (``sync_acls``) the topics' source ACLs with WRITE. Both read the source; if it does not
        answer they are left for the next promote of the topics (a WARNING says so). Returns, with
        ``sync_acls``, what the destination still lacks for those ACLs' principals (access lines)."""
        if not topics:
            return []
        try:
            await asyncio.wait_for(restore_forced(self.source, self.dest, topics, self.names),
                                   2 * SOURCE_PROBE_TIMEOUT_S)
            if self.settings.sync_acls:
                _, access = await asyncio.wait_for(
                    sync_acls_and_report(self.source, self.dest, set(), self.settings.group_selected,
                                         self.settings.acl_principals_exclude, self.names, set(topics)),
                    2 * SOURCE_PROBE_TIMEOUT_S)
                for line in access.lines():
                    log.log(logging.INFO if access.complete else logging.WARNING, "%s", line)
                return access.lines()
        except (ClientError, OSError, asyncio.TimeoutError) as exc:
            log.warning("%s: configs and ACLs of the source not restored on the destination (%s); run "
                        "`linker promote` on them again once the source answers", ", ".join(topics), exc or "timeout")
        return []

    async def _final_offset_sync(self, topics: list[str], results: list[CommandResult]) -> None:
        """Failover with a source that still answers: one last offset sync (bounded, never rewinding),
        so consumers resume where they committed last rather than at the previous periodic sync."""
        if not topics:
            return
        try:
            synced = await sync_groups(self.source, self.dest, set(topics), self.settings.group_selected,
                                       self.names, 2 * SOURCE_PROBE_TIMEOUT_S)
        except (ClientError, OSError) as exc:
            line = f"final offset sync failed ({exc}): groups keep the last periodic sync"
            log.warning("%s", line)
        else:
            synced = [g for g in synced if g.skipped != NO_COMMITS]
            for g in synced:
                log.info("final offset sync: %s", g.line())
            line = f"final offset sync: {sum(1 for g in synced if not g.skipped)} of {len(synced)} groups"
        for r in results:
            r.note += f"; {line}"

    async def _source_ends(self, topic: str, st: LinkState) -> tuple[dict[int, int], str, bool]:
        """The source's log ends now if it answers (exact), else the last ones the linker recorded."""
        parts = self._mirror_parts(topic)
        try:
            ends = await asyncio.wait_for(self.source.offsets([(topic, p) for p in parts], LATEST_TIMESTAMP),
                                          SOURCE_PROBE_TIMEOUT_S)
            return {p: ends[(topic, p)] for p in parts}, "source reachable: RPO is exact", True
        except (ClientError, OSError, asyncio.TimeoutError) as exc:
            pr = st.progress.get(topic)
            if pr is None:
                return {}, f"source unreachable ({exc}) and no recorded source ends: RPO unknown", False
            age = time.time() - pr.at_ms / 1000
            at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(pr.at_ms / 1000)) + f".{pr.at_ms % 1000:03d} UTC"
            return dict(pr.source_ends), (f"source unreachable: RPO from the freshest source high watermarks the "
                                          f"linker saw, at {at} ({age:.1f}s before); writes after that are "
                                          "unknown: run `linker failover` again once the source answers for the "
                                          "exact figure"), False

    async def _wait_stopped(self, topics: list[str], timeout: float) -> list[CommandResult]:
        """Until the running linker acknowledged STOPPED for every topic."""
        deadline = time.monotonic() + timeout
        watch = OwnerWatch()
        while True:
            st = LinkState.from_records(await self.store.read_all())
            watch.update(st.owner)
            done = [st.topics[t] for t in topics if t in st.topics and st.topics[t].state is TopicState.STOPPED
                    and st.topics[t].by == "linker"]
            if len(done) == len(topics):
                return [self._result(r.topic, r.state, r.offsets, r.rpo) for r in done]
            if watch.gone():
                raise CommandError(f"the linker stopped before finishing {', '.join(topics)}; the command "
                                   "stays recorded and the next `linker run` completes it")
            if time.monotonic() > deadline:
                waiting = sorted(set(topics) - {r.topic for r in done})
                still = "; ".join(f"{t} {st.topics[t].state.value}" + (f" {st.topics[t].reason}"
                                                                        if st.topics[t].by == "linker" else "")
                                  for t in waiting)
                raise CommandError(f"the linker did not finish {', '.join(waiting)} within {timeout:.0f}s "
                                   f"(still {still}); the command stays recorded and the linker completes it")
            await asyncio.sleep(0.2)
