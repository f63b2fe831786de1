"""The lifecycle side of a running linker: applies the state topic to the engine.

Runs next to ``MirrorEngine.run`` in the same event loop. Every
``state_poll_ms`` it reads the state topic, pauses/resumes/stops topics through
the engine's hooks, finishes PROMOTING topics, records engine-found problems
(BLOCKED/FAILED/DIVERGED), writes a heartbeat and the source ends it saw
(failover RPO). Offset sync and config sync run on their own intervals.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from dataclasses import asdict
from typing import Any

from linker.client import LATEST_TIMESTAMP, LOG_END, Client, ClientError
from linker.settings import LinkConfig
from linker.connect import connect
from linker.lifecycle.access_report import AccessReport
from linker.lifecycle.acl_sync import sync_acls_and_report
from linker.lifecycle.acls import NoAuthorizer, acls_bind, allow_writes, deny_writes, fence_linker, linker_principal
from linker.lifecycle.config_sync import sync_configs
from linker.lifecycle.offset_sync import NO_COMMITS, GroupSync, sync_groups
from linker.lifecycle.producer_ids import ProducerIdError, move_past_mirrored_ids
from linker.lifecycle.records import (HEARTBEAT_KEY, GroupRecord, MirrorRecord, OwnerRecord, ProgressRecord,
                                      TopicRecord, TopicState, heartbeat_value, liveness_ms)
from linker.settings import LifecycleSettings
from linker.lifecycle.state_store import StateStore, StateStoreError
from linker.lifecycle.store_view import LinkState, watch_owner
from linker.mirror.identity import STATE_TOPIC
from linker.mirror.state import PartitionState

log = logging.getLogger("linker.lifecycle")

ENGINE_PROBLEMS = {PartitionState.BLOCKED: TopicState.BLOCKED, PartitionState.FAILED: TopicState.FAILED,
                   PartitionState.DIVERGED: TopicState.DIVERGED, PartitionState.DEST_TRUNCATED: TopicState.FAILED,
                   PartitionState.TOPIC_RECREATED: TopicState.FAILED}


PROGRESS_REFRESH_MS = 10_000


class OwnerConflict(RuntimeError):
    """Another linker owns this link (its beat changes), or won the claim of the same epoch."""


class LifecycleController:
    """The lifecycle next to one engine.

    Talks to the clusters through `source` and `dest`; when not given, it opens
    clients of its own from the link config and closes them after the
    engine's last shutdown hook.
    """

    def __init__(self, engine: Any, config: LinkConfig, source: Client | None = None,
                 dest: Client | None = None) -> None:
        self.engine = engine
        self.source = source or connect(config.source, "source", f"{config.source.client_id}-{config.name}-lifecycle")
        self.dest = dest or connect(config.destination, "destination",
                                    f"{config.destination.client_id}-{config.name}-lifecycle")
        self._owned = [c for c, given in ((self.source, source), (self.dest, dest)) if given is None]
        self.settings: LifecycleSettings = config.lifecycle or LifecycleSettings()
        self.store = StateStore(self.dest, self.settings.state_topic_for(config.name),
                                engine.settings.replication_factor)
        self.state = LinkState({}, {}, None)
        self.groups: dict[str, GroupSync] = {}
        self.access: AccessReport | None = None   # with sync_acls: what the destination lacks (finding 10)
        self._progress_sent: dict[str, tuple[dict[int, int], int]] = {}   # topic: (ends, seen at ms)
        self._ends_seen_ms = 0   # wall time of the last source ends read (the failover RPO's "writes after T")
        self._promote_waits: dict[str, tuple[str, int]] = {}   # topic: the cause last recorded
        self._isr_warned: set[str] = set()                     # mirror topics warned about min.insync.replicas
        # Bound of each source step inside a poll: half the window in which commands see the owner alive.
        self._step_s = liveness_ms(self.settings.state_poll_ms) / 2000
        self._acls = self.settings.manage_acls
        self.denied: set[str] = set()
        self._stopped: asyncio.Queue[list[str]] = asyncio.Queue()   # STOPPED recorded: ids, then writable
        # Whose writes promote fences (DENY WRITE before STOPPED); the User:* DENY is used only
        # while ACLs cannot bind the linker (a super user), else it would refuse the linker too.
        self.principal = linker_principal(config.destination.sasl)
        self._deny_everyone = True
        self.names = engine.names   # topics here are source names; ACLs and syncs map them
        self._closing = False
        self._poll_lock = asyncio.Lock()
        self.link = config.name
        self.owner: OwnerRecord | None = None   # ours, once claimed
        self.fenced: str | None = None          # why a newer owner took the link from us
        # Scale-out (``linker.group.member.GroupMember``): per-partition duties stay with each member;
        # the singleton jobs (owner beat, progress, ACLs, offset/config/ACL sync, promote, STOPPED
        # acknowledgements) belong to the group's leader while its lease holds.
        self.group: Any = None
        self._group_epoch: int | None = None    # the highest owner epoch our group's leader claimed
        engine.before_close.append(self._release)
        engine.before_close.append(self.close)    # after the heartbeat removal: it writes through dest
        engine.before_create.append(self._lock)   # an ACL may name a topic that does not exist yet
        engine.before_create.append(self._record_ids)   # another link must know a mirror before it exists
        engine.guard.never.add(self.store.topic)  # a custom-named state topic is never a source topic
        engine.guard.read_foreign = self._foreign_mirrors
        self._foreign: dict[str, StateStore] = {}

    async def close(self) -> None:
        """Close the clients this controller opened itself (idempotent)."""
        owned, self._owned = self._owned, []
        for client in owned:
            await client.close()

    async def prepare(self) -> None:
        """Before the engine starts: STOPPED topics are never mirrored, PAUSED ones start paused."""
        await self.dest.refresh_metadata([])
        await self.store.ensure()
        self.state = LinkState.from_records(await self.store.read_all())
        if self.group is None:
            await self.claim()
        await self._check_fenceable()
        # The source topic ids the mirrors were built from: a topic recreated meanwhile is caught at start.
        self.engine.ids.remember({t: m.source_topic_id for t, m in self.state.mirrors.items()})
        # Announce the linker at once: the engine may catch up before the first poll ends, and a
        # command given meanwhile must see a running linker rather than act on its own.
        if self.group is None:
            await self.store.write([(HEARTBEAT_KEY, heartbeat_value())])
        for t, r in self.state.topics.items():
            if r.state is TopicState.STOPPED:
                self.engine.stopped_topics.add(t)
            elif r.state is TopicState.PAUSED:
                self.engine.paused_topics.add(t)
        if self.engine.stopped_topics:
            log.info("stopped topics (never mirrored again): %s", ", ".join(sorted(self.engine.stopped_topics)))
            # STOPPED is recorded before its DENY is removed: finish a removal a crash interrupted.
            if self.group is None:
                self._stopped.put_nowait(sorted(self.engine.stopped_topics))

    # -- scale-out: the group leader is the link's owner -------------------------------------------
    def _singleton(self) -> bool:
        """This process does the link's singleton jobs: alone, or as the group's leader (lease held)."""
        return self.group is None or self.group.is_leader()

    def pinned_topics(self) -> set[str]:
        """Topics whose partitions the group gives to its leader: PROMOTING ones (the leader catches
        them up and records STOPPED) and STOPPED ones not yet acknowledged by a linker."""
        return {t for t, r in self.state.topics.items()
                if r.state is TopicState.PROMOTING or (r.state is TopicState.STOPPED and r.by != "linker")}

    async def on_assignment(self, member: Any) -> None:
        """After each assignment: the leader claims the link (once per leadership) and records who
        owns which partition; a member that is not the leader holds no owner record."""
        if not member.is_leader():
            self.owner = None
            return
        try:
            async with self._poll_lock:
                self.state = await self._read()
                for _ in range(3):   # lost to another member's claim of the epoch: the next one, while we lead
                    if self.owner is not None or not member.is_leader():
                        break
                    await self.claim_for_group(member.settings.group_id)
                if self.owner is None:
                    return   # no longer the leader: the newer generation's leader records the group
                owners: dict[str, dict[int, str]] = {}
                for (t, p), m in member.owners.items():
                    owners.setdefault(t, {})[p] = m
                rec = GroupRecord(member.settings.group_id, member.generation, member.member_id,
                                  {m: {"host": i.host, "pid": i.pid} for m, i in member.members.items()}, owners)
                await self.store.write([(rec.key(), rec.value())])
        except OwnerConflict as exc:
            self._stop_fenced(str(exc))
        except (ClientError, StateStoreError) as exc:
            log.info("recording the group's assignment failed (%s); the next rebalance retries", exc)

    async def claim_for_group(self, group_id: str) -> None:
        """Owner epoch + 1 for this group's new leader. ``owner`` stays None if another member of
        the same group won that epoch: two generations' leaders overlap (one frozen mid-claim), and
        the group, not this record, says who leads; the member stays in the group, and
        ``on_assignment`` or the next poll claims again while it leads. A previous leader of the
        same group needs no wait: the coordinator elected a new leader only after the old one left
        the group, and a member outside the group has stopped writing (its lease ended first). A
        linker outside the group whose beat still changes keeps the link: this member stops, as
        ``claim`` would."""
        cur = self.state.owner
        if cur is not None and not cur.released and cur.group != group_id:
            watch = await watch_owner(self._read, self.state)
            if watch.alive() and watch.seen is not None:
                raise OwnerConflict(f"link {self.link} is already run by {watch.seen.who()}, outside group "
                                    f"{group_id}: stop it first")
            cur = watch.seen
        mine = OwnerRecord((cur.epoch if cur else 0) + 1, uuid.uuid4().hex[:12], socket.gethostname(),
                           os.getpid(), 0, self.settings.state_poll_ms, group=group_id)
        await self.store.write([(mine.key(), mine.value()), (HEARTBEAT_KEY, heartbeat_value())])
        self.state = await self._read()
        won = self.state.owner
        if won is not None and won.group == group_id and (won.epoch, won.owner_id) != (mine.epoch, mine.owner_id):
            self._group_epoch = max(self._group_epoch or 0, won.epoch)
            log.info("link %s: another member of group %s claimed it first (%s); this member stays in the "
                     "group", self.link, group_id, won.who())
            return
        if won is None or (won.epoch, won.owner_id) != (mine.epoch, mine.owner_id):
            raise OwnerConflict(f"link {self.link}: another linker claimed it at the same time "
                                f"({won.who() if won else 'unknown'})")
        self.owner = mine
        self._group_epoch = mine.epoch
        log.info("link %s: owner %s", self.link, mine.who())
        if self.engine.stopped_topics:   # finish a DENY removal a crash of the previous leader interrupted
            self._stopped.put_nowait(sorted(self.engine.stopped_topics))

    async def _record_ids(self, topics: list[str]) -> None:
        """Write the mirror records of topics about to get a mirror (what a link in the opposite
        direction reads to refuse mirroring them back)."""
        await self.store.write(_mirror_writes({t: p for t, p in self.engine.ids.pending.items() if t in topics}))

    async def _foreign_mirrors(self) -> dict[str, str]:
        """{mirror topic: origin cluster id} from the linker state topics on the source cluster
        (topics those links STOPPED left out: they are promoted topics now, see docs/mirror.md)."""
        snap = self.source.snapshot
        out: dict[str, str] = {}
        for topic in sorted(t for t, i in snap.topics.items() if not i.error_code and STATE_TOPIC.fullmatch(t)):
            store = self._foreign.setdefault(topic, StateStore(self.source, topic))
            try:
                records = await store.read_all()
            except ClientError as exc:   # another link's topic we may not read: it cannot stop ours
                log.info("cannot read linker state topic %s on the source: %s", topic, exc)
                continue
            theirs = LinkState.from_records(records)
            for t, m in theirs.mirrors.items():
                # A STOPPED topic (promoted or failed over) is no mirror any more: that link never
                # writes it again, so mirroring it back (failback's reverse link) makes no circle.
                r = theirs.topics.get(t)
                if r is not None and r.state is TopicState.STOPPED:
                    continue
                out[m.mirror_topic] = m.source_cluster
        return out

    async def _read(self) -> LinkState:
        return LinkState.from_records(await self.store.read_all())

    async def claim(self) -> None:
        """Become the link's one owner: refuse while another owner's beat changes; else write
        owner(epoch + 1) and check that this claim is the first of its epoch in the log."""
        cur = self.state.owner
        if cur is not None and not cur.released:
            log.info("link %s is owned by %s; watching its beat for up to %.1fs", self.link, cur.who(),
                     cur.liveness_ms() / 1000)
            watch = await watch_owner(self._read, self.state)
            if watch.alive() and watch.seen is not None:
                o = watch.seen
                raise OwnerConflict(
                    f"link {self.link} is already run by {o.who()}: its beat is changing. Stop that linker "
                    f"first; if it is gone, start again: an owner is considered dead once its beat has not "
                    f"changed for {o.liveness_ms() / 1000:.1f}s (at most {watch.dead_in():.1f}s from now if it "
                    f"stopped just now)")
            cur = watch.seen
        mine = OwnerRecord((cur.epoch if cur else 0) + 1, uuid.uuid4().hex[:12], socket.gethostname(),
                           os.getpid(), 0, self.settings.state_poll_ms)
        await self.store.write([(mine.key(), mine.value())])
        self.state = await self._read()
        won = self.state.owner
        if won is None or (won.epoch, won.owner_id) != (mine.epoch, mine.owner_id):
            raise OwnerConflict(f"link {self.link}: another linker claimed it at the same time "
                                f"({won.who() if won else 'unknown'}); not starting")
        self.owner = mine
        log.info("link %s: owner %s", self.link, mine.who())

    def _check_fence(self) -> bool:
        """Self-fence: a newer owner epoch (or another owner of ours) means stop producing at once."""
        cur, mine = self.state.owner, self.owner
        if self.group is not None:
            if self.fenced is not None or cur is None:
                return self.fenced is not None
            if cur.group == self.group.settings.group_id:
                self._group_epoch = max(self._group_epoch or 0, cur.epoch)
                if mine is not None and (cur.epoch, cur.owner_id) != (mine.epoch, mine.owner_id):
                    self.owner = None   # leadership moved to another member of the group
                return False
            if self._group_epoch is None or cur.epoch <= self._group_epoch:
                return False   # an owner from before the group started (the group's leader claims after it)
            self._stop_fenced(f"link {self.link}: fenced by {cur.who()}, outside group "
                              f"{self.group.settings.group_id}; stopped producing")
            return True
        if mine is None or self.fenced is not None:
            return self.fenced is not None
        if cur is not None and (cur.epoch, cur.owner_id) != (mine.epoch, mine.owner_id):
            self._stop_fenced(f"link {self.link}: fenced by {cur.who()} (ours was epoch {mine.epoch}); "
                              f"stopped producing")
            return True
        return False

    def _stop_fenced(self, why: str) -> None:
        """Another owner holds the link: say why, and stop the engine (no produce after this)."""
        self.fenced = why
        log.error("%s", why)
        self.engine.request_stop()

    async def _writable_loop(self, stop: asyncio.Event) -> None:
        """Topics whose STOPPED is recorded, in order: producer ids moved past the mirrored ones, then
        the DENY removed -- the order `linker promote` uses, also for a promotion this linker finishes
        with no command waiting. Its own task: a bounded burn must not hold up the poll and its beat."""
        while not stop.is_set():
            get = asyncio.ensure_future(self._stopped.get())
            halt = asyncio.ensure_future(stop.wait())
            await asyncio.wait({get, halt}, return_when=asyncio.FIRST_COMPLETED)
            halt.cancel()
            if not get.done():
                get.cancel()
                return
            topics = get.result()
            while not stop.is_set():
                try:
                    await self._make_writable(topics)
                    break
                except (ClientError, OSError, asyncio.TimeoutError) as exc:
                    log.info("making %s writable failed (%s); retrying", ", ".join(topics), exc)
                    await _sleep_unless(stop, self.settings.state_poll_ms / 1000)

    async def _make_writable(self, topics: list[str]) -> None:
        if not topics:
            return
        tps = [self.names.mirror_tp(tp) for tp in self.engine.partitions if tp[0] in topics]
        try:
            await move_past_mirrored_ids(self.dest, tps)
        except ProducerIdError as exc:
            log.warning("producer ids: WARNING not moved past the mirrored ids of %s (%s): new idempotent "
                        "producers may fail", ", ".join(topics), exc)
        await self._unlock(topics)

    async def _unlock(self, topics: list[str]) -> None:
        if self._acls and topics:
            n = await allow_writes(self.dest, [self.names.mirror_topic(t) for t in topics])
            if n:
                log.info("removed DENY WRITE from %s: writable now", ", ".join(topics))
        self.denied.difference_update(topics)

    async def _check_fenceable(self) -> None:
        """With ``manage_acls``: can a DENY bind the linker's principal? Decides the read-only form."""
        if not self._acls:
            return
        if self.principal is None:
            log.warning("lifecycle.manage_acls: the destination principal is not known from the link file "
                        "(no SASL username): promote cannot fence this linker by ACL; the owner epoch fences it")
            return
        try:
            binds = await acls_bind(self.dest, self.principal, f"{self.store.topic}-acl-probe")
        except NoAuthorizer as exc:
            log.warning("%s; lifecycle.manage_acls ignored (foreign writes are still detected: FAILED)", exc)
            self._acls = False
            return
        self._deny_everyone = not binds
        if binds:
            log.warning("lifecycle.manage_acls: ACLs bind the linker's principal %s (not a super user): no DENY "
                        "WRITE for User:* on mirrors (it would refuse the linker too); principals without an ALLOW "
                        "WRITE cannot write them; promote fences the linker with DENY WRITE %s", self.principal,
                        self.principal)
        else:
            log.info("lifecycle.manage_acls: the linker's principal %s is a super user: mirrors are read-only for "
                        "everyone else (DENY WRITE User:*), but no ACL can fence the linker after promote; the "
                        "owner epoch fences it (docs/lifecycle.md)", self.principal)

    async def _fence(self, topic: str) -> None:
        """Before STOPPED is recorded: the linker's principal may never write the topic again."""
        if self._acls and self.principal is not None:
            await fence_linker(self.dest, self.principal, [self.names.mirror_topic(topic)])
            log.info("DENY WRITE for %s on %s (promoted: the linker is fenced)", self.principal,
                     self.names.mirror_topic(topic))

    async def _lock(self, topics: list[str]) -> None:
        todo = [t for t in topics if t not in self.denied]
        if not self._acls or not self._deny_everyone or not todo:
            return
        try:
            await deny_writes(self.dest, [self.names.mirror_topic(t) for t in todo])
        except NoAuthorizer as exc:
            log.warning("%s; lifecycle.manage_acls ignored (foreign writes are still detected: FAILED)", exc)
            self._acls = False
            return
        log.info("DENY WRITE for User:* on %s (read-only mirrors)", ", ".join(todo))
        self.denied.update(todo)

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: poll and apply commands; offset and config sync in a task of their own,
        so a slow or dead source never delays a command (failover must act at once)."""
        while not self.engine.started.is_set() and not stop.is_set():
            await asyncio.sleep(0.05)
        await asyncio.gather(self._command_loop(stop), self._sync_loop(stop), self._writable_loop(stop))

    async def _release(self) -> None:
        """Engine shutdown hook, run while its connections are still open: a clean stop releases
        the link (owner record ``released``) so commands act on their own at once — but only while
        this linker is still the owner: a fenced linker writes nothing, so commands keep seeing the
        linker that mirrors now. A poll in progress finishes first, so its beat cannot land after."""
        self._closing = True
        try:
            await asyncio.wait_for(self._poll_lock.acquire(), 5.0)
        except asyncio.TimeoutError:
            log.info("a lifecycle poll is still running at stop; removing the heartbeat anyway")
        else:
            self._poll_lock.release()
        if self.owner is None or self.fenced is not None or self.group is not None:
            return   # a group's leader keeps the owner record: the next leader claims it, its beat goes on
        try:
            self.state = await self._read()
            if self._check_fence():
                return
            rel = OwnerRecord(self.owner.epoch, self.owner.owner_id, self.owner.host, self.owner.pid,
                              self.owner.beat + 1, self.owner.poll_ms, released=True)
            await self.store.write([(rel.key(), rel.value()), (HEARTBEAT_KEY, None)])
        except (ClientError, StateStoreError) as exc:
            log.info("could not release the link (%s); commands wait until its beat is stale", exc)

    async def _command_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set() and not self._closing:
            async with self._poll_lock:
                if self._closing:
                    break
                try:
                    await self.poll_once()
                except (ClientError, StateStoreError) as exc:
                    log.info("lifecycle poll failed (%s); retrying", exc)
            await _sleep_unless(stop, self.settings.state_poll_ms / 1000)

    async def _sync_loop(self, stop: asyncio.Event) -> None:
        next_offsets = next_configs = 0.0
        while not stop.is_set():
            now = time.monotonic()
            try:
                if not self._singleton():
                    pass   # a member that does not lead the group: the leader syncs
                elif now >= next_offsets:
                    next_offsets = now + self.settings.offset_sync_interval_ms / 1000
                    await self.sync_offsets(timeout=max(self.settings.offset_sync_interval_ms / 1000, 5.0))
                if self._singleton() and now >= next_configs:
                    next_configs = now + self.settings.config_sync_interval_ms / 1000
                    await sync_configs(self.source, self.dest, self._live_topics(), self.engine.settings,
                                       self.settings.keep_destination_configs, self.names, self._isr_warned)
                    if self.settings.sync_acls:
                        _, access = await sync_acls_and_report(
                            self.source, self.dest, set(self._live_topics()), self.settings.group_selected,
                            self.settings.acl_principals_exclude, self.names)
                        self._note_access(access)
            except ClientError as exc:
                log.info("offset/config sync failed (%s); retrying", exc)
            await _sleep_unless(stop, min(self.settings.offset_sync_interval_ms,
                                          self.settings.config_sync_interval_ms) / 1000)

    def _note_access(self, access: AccessReport) -> None:
        """Logged when it changes (a WARNING while something is missing or not checked)."""
        if self.access is None or access.lines() != self.access.lines():
            for line in access.lines():
                log.log(logging.INFO if access.complete else logging.WARNING, "ACL sync: %s", line)
        self.access = access

    def status_doc(self) -> dict[str, Any]:
        """The engine's status plus lifecycle states and the last offset sync of each group."""
        doc = self.engine.status_doc()
        doc["topics"] = {t: {"state": r.state.value, "reason": r.reason, "by": r.by, "at_ms": r.at_ms,
                             "mirror_topic": self.names.mirror_topic(t)}
                         for t, r in sorted(self.state.topics.items())}
        doc["groups"] = {g: {"line": r.line(), "at": r.at, "lag": r.lag, "skipped": r.skipped}
                         for g, r in sorted(self.groups.items())}
        if self.access is not None:
            doc["access"] = {**self.access.as_doc(), "lines": self.access.lines()}
        if self.group is not None:
            doc["group"] = self.group.describe()
        return doc

    def _topics(self) -> set[str]:
        return {t for t, _ in self.engine.partitions}

    def _live_topics(self) -> list[str]:
        return sorted(t for t in self._topics() if t not in self.engine.stopped_topics)

    def _state_of(self, topic: str) -> TopicState:
        r = self.state.topics.get(topic)
        return r.state if r is not None else TopicState.ACTIVE

    async def _refresh_source_ends(self) -> None:
        """The source's ends every poll (not only from fetches and the engine's 2 s lag loop),
        so a failover after losing the source counts writes up to about one poll before."""
        pms = [pm for pm in self.engine.partitions.values() if pm.tp[0] not in self.engine.stopped_topics]
        if not pms:
            return
        try:
            hw = await asyncio.wait_for(self.source.offsets([pm.tp for pm in pms], LATEST_TIMESTAMP),
                                        self.settings.state_poll_ms / 1000)
        except (ClientError, asyncio.TimeoutError):
            return   # the source may be gone: keep the last ends seen
        self._ends_seen_ms = int(time.time() * 1000)
        for pm in pms:
            if pm.tp in hw:
                pm.status.source_high_watermark = max(hw[pm.tp], pm.status.source_high_watermark or 0)

    async def poll_once(self) -> None:
        self.state = await self._read()
        if self._check_fence():
            return
        single = self._singleton()
        if single and self.group is not None and self.owner is None:
            # A stale leader (frozen mid-claim, say) claimed after us: the group's leader claims again.
            try:
                await self.claim_for_group(self.group.settings.group_id)
            except OwnerConflict as exc:
                self._stop_fenced(str(exc))
                return
        if single:
            beat: list[tuple[bytes, bytes | None]] = [(HEARTBEAT_KEY, heartbeat_value())]
            if self.owner is not None:
                self.owner.beat += 1
                beat.append((self.owner.key(), self.owner.value()))
            await self.store.write(beat)   # first: the bounded steps below must not make the owner look dead
            await self._refresh_source_ends()
        pins = dict(self.engine.ids.pending)   # topic ids pinned since the last poll
        writes: list[tuple[bytes, bytes | None]] = _mirror_writes(pins)
        for key in list(self.store.regressed) if single else []:   # a late record tried to move a state back
            if key.startswith(b"topic/") and (t := key[6:].decode()) in self.state.topics:
                writes.append((key, self.state.topics[t].value()))
        unlock: list[str] = []
        if single:
            await self._lock([t for t in sorted(self._topics()) if self._state_of(t) is not TopicState.STOPPED])
        for topic in sorted(self._topics()):
            state = self._state_of(topic)
            if state is TopicState.STOPPED:
                if topic not in self.engine.stopped_topics or self.state.topics[topic].by != "linker":
                    ack = await self._apply_stop(topic, self.state.topics[topic])
                    if ack is not None:
                        writes.append(ack)
                        unlock.append(topic)
                continue
            if state is TopicState.PAUSED and topic not in self.engine.paused_topics:
                log.info("pausing %s (state topic)", topic)
                await self.engine.pause_topic(topic)
            elif state in (TopicState.ACTIVE, TopicState.PROMOTING) and topic in self.engine.paused_topics:
                log.info("resuming %s (state topic)", topic)
                self.engine.resume_topic(topic)
            if state is TopicState.PROMOTING and single:
                rec = await self._try_finish_promote(topic)
                if rec is not None:
                    writes.append((rec.key(), rec.value()))
                    if rec.state is TopicState.STOPPED:
                        unlock.append(topic)
                        continue
            problem = self._engine_problem(topic)
            if problem is not None and state is TopicState.ACTIVE:
                writes.append((TopicRecord(topic, problem[0], problem[1], by="linker").key(),
                               TopicRecord(topic, problem[0], problem[1], by="linker").value()))
            if single:
                writes.extend(self._progress(topic))
        if writes:
            await self.store.write(writes)
        for t, p in pins.items():
            if self.engine.ids.pending.get(t) == p:
                del self.engine.ids.pending[t]
        if unlock:   # after STOPPED is recorded: never writable while not STOPPED
            self._stopped.put_nowait(unlock)

    def _engine_problem(self, topic: str) -> tuple[TopicState, str] | None:
        for pm in self.engine.partitions.values():   # each member reports the partitions it owns
            if pm.tp[0] == topic and pm.status.state in ENGINE_PROBLEMS and not pm.unowned:
                return ENGINE_PROBLEMS[pm.status.state], f"partition {pm.tp[1]}: {pm.status.reason}"
        return None

    def _progress(self, topic: str) -> list[tuple[bytes, bytes | None]]:
        """The source ends seen and when (``at_ms``: the last successful read of them), written when
        they change, and at least every PROGRESS_REFRESH_MS while they do not (so a failover's
        "writes after T unknown" names a recent T on a quiet topic)."""
        ends = {pm.tp[1]: pm.status.source_high_watermark for pm in self.engine.partitions.values()
                if pm.tp[0] == topic and pm.status.source_high_watermark is not None}
        seen = self._ends_seen_ms or int(time.time() * 1000)
        last = self._progress_sent.get(topic)
        if not ends or (last is not None and last[0] == ends and seen - last[1] < PROGRESS_REFRESH_MS):
            return []
        self._progress_sent[topic] = (dict(ends), seen)
        r = ProgressRecord(topic, ends, at_ms=seen)
        return [(r.key(), r.value())]

    def _dest_ends(self, topic: str) -> dict[int, int]:
        return {pm.tp[1]: pm.acked_end for pm in self.engine.partitions.values() if pm.tp[0] == topic}

    async def _apply_stop(self, topic: str, rec: TopicRecord) -> tuple[bytes, bytes] | None:
        """A STOPPED record written by a command: stop the topic, then acknowledge with the final ends.
        In a group every member stops its partitions; the leader acknowledges once it owns them all
        (the others gave them up after their produces settled), with the destination's log ends."""
        if self.group is None or topic not in self.engine.stopped_topics:   # a member waiting for the ack: once
            log.info("stopping %s for good (%s)", topic, rec.reason or "state topic")
            await self.engine.stop_topic(topic, rec.reason or "stopped by command")
        if not self._singleton():
            return None
        if self.group is not None:
            if any(pm.unowned for pm in self.engine.partitions.values() if pm.tp[0] == topic):
                return None   # other members still hold some of its partitions: after the rebalance
            offsets = await self._log_ends(topic)
        else:
            offsets = self._dest_ends(topic)
        await self._fence(topic)
        ack = TopicRecord(topic, TopicState.STOPPED, rec.reason, by="linker", offsets=offsets, rpo=rec.rpo)
        return ack.key(), ack.value()

    async def _log_ends(self, topic: str) -> dict[int, int]:
        """The mirror's log ends read from the destination (a group's leader did not write them all)."""
        tps = [pm.tp for pm in self.engine.partitions.values() if pm.tp[0] == topic]
        ends = await self.dest.offsets([self.names.mirror_tp(tp) for tp in tps], LOG_END)
        return {tp[1]: ends[self.names.mirror_tp(tp)] for tp in tps}

    async def _try_finish_promote(self, topic: str) -> TopicRecord | None:
        """PROMOTING: once caught up (below), final offset sync, then STOPPED. While waiting, a
        PROMOTING record by the linker names why whenever the cause changes (``linker status``,
        and the command's message if it gives up)."""
        pms = [pm for pm in self.engine.partitions.values() if pm.tp[0] == topic]
        if not pms:
            return None
        moving = [pm.tp[1] for pm in pms if pm.unowned]
        if moving:   # a group: its partitions come to the leader first (linker.group pins them)
            if self._promote_waits.get(topic) == ("group", -1):
                return None
            self._promote_waits[topic] = ("group", -1)
            text = f"partitions {moving[:10]} move to the group's leader first"
            log.info("promote %s waits: %s", topic, text)
            return TopicRecord(topic, TopicState.PROMOTING, f"waiting: {text}", by="linker")
        why = await self._promote_wait(pms)
        if why is None:
            await self.engine.pause_topic(topic)       # nothing more is written from here on
            why = await self._promote_wait(pms)
            if why is not None:
                self.engine.resume_topic(topic)        # the source moved meanwhile: catch up again
        if why is not None:
            cause, text = why
            if self._promote_waits.get(topic) == cause:
                return None
            self._promote_waits[topic] = cause
            log.info("promote %s waits: %s", topic, text)
            return TopicRecord(topic, TopicState.PROMOTING, f"waiting: {text}", by="linker")
        await self._fence(topic)   # paused and settled: nothing of ours in flight; a stale linker is refused
        await self.sync_offsets([topic], self._step_s)   # in the poll: bounded (groups not reached are logged)
        await self.engine.stop_topic(topic, "promoted")
        self._promote_waits.pop(topic, None)
        rec = TopicRecord(topic, TopicState.STOPPED, "promoted", by="linker", offsets=self._dest_ends(topic))
        log.info("promoted %s; final offsets %s", topic, rec.offsets)
        return rec

    async def _promote_wait(self, pms: list[Any]) -> tuple[tuple[str, int], str] | None:
        """Why the topic is not caught up yet ((cause, partition), text), or None. Caught up means,
        per partition: source log end = source high watermark = what the mirror acknowledged. A
        batch the source leader acknowledged with acks=1 sits above the high watermark until its
        followers have it; promoting before that would leave it on the source for good."""
        for pm in sorted(pms, key=lambda pm: pm.tp):
            if pm.status.state is not PartitionState.MIRRORING:
                return ("state", pm.tp[1]), (f"partition {pm.tp[1]} is {pm.status.state.value}"
                                             f"{': ' + pm.status.reason if pm.status.reason else ''}")
        for pm in sorted(pms, key=lambda pm: pm.tp):
            if self.engine.producer.replayer.open_transactions(pm.tp):
                return ("transaction", pm.tp[1]), (f"partition {pm.tp[1]}: a source transaction is open (replayed "
                                                   "into a destination transaction); waiting for its marker")
        tps = [pm.tp for pm in pms]
        try:
            hw, leo = await asyncio.wait_for(asyncio.gather(self.source.offsets(tps, LATEST_TIMESTAMP),
                                                            self.source.offsets(tps, LOG_END)), self._step_s)
        except (ClientError, asyncio.TimeoutError) as exc:
            return ("source", -1), f"the source's offsets not read within {self._step_s:.1f}s ({exc or 'timeout'})"
        for pm in sorted(pms, key=lambda pm: pm.tp):
            p = pm.tp[1]
            if leo[pm.tp] != hw[pm.tp]:
                return ("replication", p), (f"partition {p}: the source's log end {leo[pm.tp]} is above its high "
                                            f"watermark {hw[pm.tp]} (acknowledged writes not yet replicated on "
                                            "the source; waiting for its replication to settle)")
            if pm.acked_end != hw[pm.tp]:
                return ("catch-up", p), (f"partition {p}: the mirror holds {pm.acked_end} of the source's "
                                         f"{hw[pm.tp]} (catching up)")
        return None

    async def sync_offsets(self, topics: list[str] | None = None, timeout: float | None = None) -> None:
        """One pass (a final one for ``topics`` at promote, else every live topic), within ``timeout``."""
        want = set(topics) if topics is not None else set(self._live_topics())
        for r in await sync_groups(self.source, self.dest, want, self.settings.group_selected,
                                   self.names, timeout):
            before = self.groups.get(r.group)
            self.groups[r.group] = r
            # Logged when a pass wrote something or a group's standing changed, not every pass: a
            # cluster with a thousand groups would log a thousand lines per interval (`/status`
            # has them all).
            if r.skipped != NO_COMMITS and (r.committed or before is None or before.standing() != r.standing()):
                log.info("offset sync: %s", r.line())


def _mirror_writes(pins: dict[str, Any]) -> list[tuple[bytes, bytes | None]]:
    """State-topic writes of the engine's topic-id pins (``linker.mirror.identity.MirrorIdentity``)."""
    return [(r.key(), r.value()) for r in (MirrorRecord(**asdict(p)) for p in pins.values())]


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except asyncio.TimeoutError:
        pass
