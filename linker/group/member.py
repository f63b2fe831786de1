"""One member of a link's group: join, follow the assignment, heartbeat, self-fence, leave.

The lease: every request that confirms membership (a Heartbeat or SyncGroup answered NONE) renews
the write gate to ``send time + lease_ms``, measured on this process's monotonic clock from when
the request was *sent* (the coordinator's session clock can only start later). The gate refuses
every Produce once it has passed, and the lease watch drops every partition at that moment, so a
member paused, partitioned or stalled past its lease writes nothing after it, while the
coordinator cannot give its partitions away before the session timeout (longer) has passed since
the last heartbeat it received. docs/scale-out.md has the argument and the failure cases.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from kproto.errors import ErrorCode
from linker.client import ClientError, GroupClient, WriteGate
from linker.client.kafka_errors import COORDINATOR_CODES, error_name
from linker.group.assign import TP, Claim, plan
from linker.group.protocol import (PROTOCOL_NAME, Assignment, MemberInfo, ProtocolFormatError, decode_assignment,
                                   decode_member, encode_assignment, encode_member)
from linker.settings import GroupSettings

log = logging.getLogger("linker.group")

#: Answers meaning "no longer a member of this generation": stop writing at once, then rejoin.
LOST_CODES = frozenset({ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.ILLEGAL_GENERATION, ErrorCode.FENCED_INSTANCE_ID})
RETRY_BACKOFF_S = 0.5
#: A partition's bytes/s is reported to the leader once measured over this long.
RATE_MIN_S = 10.0


class GroupMember:
    """Runs next to the engine. ``engine`` needs ``partitions``, ``stopped_topics``, ``own_only``,
    ``assign``, ``revoke``, ``drop_all``, ``quiet``, ``owned`` and ``metrics``
    (``linker.mirror.engine.MirrorEngine``)."""

    def __init__(self, engine: Any, settings: GroupSettings, client: GroupClient, gate: WriteGate,
                 pinned: Callable[[], set[str]] = set,
                 on_assignment: Callable[[GroupMember], Awaitable[None]] | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.client = client
        self.gate = gate
        self.pinned = pinned                  # topics whose partitions go to the leader (promote, stop)
        self.on_assignment = on_assignment    # after each assignment (the lifecycle's singleton duties)
        self.instance = uuid.uuid4().hex[:12]
        self.member_id = ""
        self.generation = -1
        self.leader = False
        self.leader_id = ""
        self.owned_generation = -1
        self.owners: dict[TP, str] = {}       # the leader's last plan (for the state topic and status)
        self.members: dict[str, MemberInfo] = {}
        self._planned: tuple[frozenset[TP], frozenset[str]] | None = None
        self._rejoin = asyncio.Event()
        self.assigned_at: float | None = None   # monotonic time of the last assignment applied
        self._since: dict[TP, tuple[float, int]] = {}   # owned partition: (assigned at, mirrored bytes then)
        engine.own_only()

    # -- what others read --------------------------------------------------------------------
    def is_leader(self) -> bool:
        """The singleton jobs' owner: the group's leader, while its lease holds."""
        return self.leader and self.gate.is_open()

    def describe(self) -> dict[str, Any]:
        return {"group": self.settings.group_id, "member": self.member_id, "instance": self.instance,
                "generation": self.generation, "leader": self.leader_id, "is_leader": self.is_leader(),
                "lease_left_s": round(max(0.0, self.gate.open_until - time.monotonic()), 3),
                "owned": len(self.engine.owned())}

    # -- the loop ------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: a JoinGroup held by the coordinator is cancelled then, not awaited."""
        watch = asyncio.create_task(self._lease_watch(stop))
        loop = asyncio.create_task(self._loop(stop))
        try:
            await asyncio.wait([loop, asyncio.ensure_future(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (watch, loop):
                t.cancel()
            await asyncio.gather(watch, loop, return_exceptions=True)
        if loop.done() and not loop.cancelled() and loop.exception() is not None:
            raise loop.exception()  # type: ignore[misc]

    async def _loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if await self._join_and_sync():
                    await self._heartbeats(stop)
            except ClientError as exc:
                log.info("group %s: %s; retrying", self.settings.group_id, exc)
                await _sleep_unless(stop, RETRY_BACKOFF_S)

    async def leave(self) -> None:
        """After the engine drained (nothing in flight): leave, so the others rebalance at once."""
        if not self.member_id:
            return
        try:
            code = await self.client.leave(self.member_id, "linker stopping")
            log.info("group %s: left (%s)", self.settings.group_id, error_name(code))
        except ClientError as exc:
            log.info("group %s: leaving failed (%s); the session timeout removes this member",
                     self.settings.group_id, exc)
        self.member_id = ""

    def request_rejoin(self) -> None:
        self._rejoin.set()

    def _claim(self) -> MemberInfo:
        owned = self.engine.owned()
        return MemberInfo(Claim(self.owned_generation if owned else -1, owned, self._rates(owned)),
                          socket.gethostname(), os.getpid(), self.instance)

    def _rates(self, owned: set[TP]) -> dict[TP, float]:
        """Bytes/s mirrored per owned partition since it was assigned here, once measured over at
        least RATE_MIN_S (shorter windows are noise the leader would move partitions for)."""
        now = time.monotonic()
        out: dict[TP, float] = {}
        for tp in owned:
            pm = self.engine.partitions.get(tp)
            since = self._since.get(tp)
            if pm is None or since is None or now - since[0] < RATE_MIN_S:
                continue
            out[tp] = max(0.0, (pm.mirrored_bytes - since[1]) / (now - since[0]))
        return out

    async def _join_and_sync(self) -> bool:
        """One rebalance; True once an assignment is applied (False: retry the join)."""
        self._rejoin.clear()
        s = self.settings
        await self.engine.quiet()   # after a drop: no produce of ours in flight under an empty claim
        res = await self.client.join(self.member_id, s.session_timeout_ms, s.rebalance_timeout_ms,
                                     [(PROTOCOL_NAME, encode_member(self._claim()))])
        if res.error == ErrorCode.MEMBER_ID_REQUIRED:
            self.member_id = res.member_id
            return False
        if res.error in LOST_CODES:
            self._lost(f"JoinGroup answered {error_name(res.error)}")
            self.member_id = ""
            return False
        if res.error != ErrorCode.NONE:
            if res.error not in COORDINATOR_CODES and res.error != ErrorCode.REBALANCE_IN_PROGRESS:
                log.warning("group %s: JoinGroup answered %s", s.group_id, error_name(res.error))
            await asyncio.sleep(RETRY_BACKOFF_S)
            return False
        self.member_id, self.generation, self.leader_id = res.member_id, res.generation, res.leader
        self.leader = res.leader == res.member_id
        assignments: dict[str, bytes] = {}
        if self.leader:
            assignments = self._plan(res.members)
        sent = time.monotonic()
        code, data = await self.client.sync(self.member_id, self.generation, res.protocol or PROTOCOL_NAME,
                                            assignments)
        if code in LOST_CODES:
            self._lost(f"SyncGroup answered {error_name(code)}")
            if code == ErrorCode.UNKNOWN_MEMBER_ID:
                self.member_id = ""
            return False
        if code != ErrorCode.NONE:   # REBALANCE_IN_PROGRESS: another round started; join it
            if code != ErrorCode.REBALANCE_IN_PROGRESS:
                log.info("group %s: SyncGroup answered %s", s.group_id, error_name(code))
                await asyncio.sleep(RETRY_BACKOFF_S)
            return False
        try:
            got = decode_assignment(data) if data else Assignment(set())
        except ProtocolFormatError as exc:
            log.error("group %s: bad assignment from the leader (%s); owning nothing", s.group_id, exc)
            got = Assignment(set())
        self.gate.renew(sent + s.lease_ms / 1000)
        await self._apply(got)
        return True

    def _plan(self, members: list[tuple[str, bytes]]) -> dict[str, bytes]:
        """The leader's assignment for every member of this generation."""
        infos: dict[str, MemberInfo] = {}
        for member_id, raw in members:
            try:
                infos[member_id] = decode_member(raw)
            except ProtocolFormatError as exc:   # a member of another version: it owns nothing
                log.warning("group %s: member %s: %s", self.settings.group_id, member_id, exc)
                infos[member_id] = MemberInfo(Claim(-1))
        pinned_topics = set(self.pinned())
        universe = self._universe(pinned_topics)
        p = plan({m: i.claim for m, i in infos.items()}, universe, self.member_id,
                 {tp for tp in universe if tp[0] in pinned_topics})
        self._planned = (frozenset(universe), frozenset(pinned_topics))
        self.members = infos
        self.owners = p.owners()
        counts = {m: len(tps) for m, tps in p.assignment.items()}
        log.info("group %s generation %d: %d member(s), %d partition(s), %d moving; %s", self.settings.group_id,
                 self.generation, len(infos), len(universe), len(p.withheld),
                 ", ".join(f"{m[-12:]}={n}" for m, n in sorted(counts.items())))
        return {m: encode_assignment(Assignment(tps, self.member_id, self.generation, counts))
                for m, tps in p.assignment.items()}

    async def _apply(self, got: Assignment) -> None:
        """Revoke first (waiting for produces in flight), then take the new partitions."""
        owned = self.engine.owned()
        revoked, added = owned - got.partitions, got.partitions - owned
        if revoked:
            log.info("group %s: revoking %d partition(s)", self.settings.group_id, len(revoked))
            await self._revoke_heartbeating(revoked)
            self._rejoin.set()   # the partitions we gave up go to their new member in the next generation
        if added:
            log.info("group %s: assigned %d partition(s)", self.settings.group_id, len(added))
            self.engine.assign(added)
        now = time.monotonic()
        for tp in revoked:
            self._since.pop(tp, None)
        for tp in added:
            pm = self.engine.partitions.get(tp)
            self._since[tp] = (now, pm.mirrored_bytes if pm is not None else 0)
        self.owned_generation = self.generation
        self.assigned_at = time.monotonic()
        m = self.engine.metrics
        m.group_owned.set(len(self.engine.owned()))
        m.group_generation.set(self.generation)
        m.group_leader.set(1 if self.leader else 0)
        m.group_rebalances_total.inc()
        if self.on_assignment is not None:
            await self.on_assignment(self)

    async def _revoke_heartbeating(self, revoked: set[TP]) -> None:
        """Wait for the revoked partitions' produces in flight while heartbeating, so a slow produce
        does not cost the membership (or, past the lease, the other partitions' writes)."""
        interval = self.settings.heartbeat_interval_ms / 1000
        task = asyncio.ensure_future(self.engine.revoke(revoked))
        try:
            while True:
                done, _ = await asyncio.wait([task], timeout=interval)
                if done:
                    task.result()
                    return
                await self._heartbeat(interval)
        finally:
            if not task.done():
                task.cancel()

    async def _heartbeat(self, interval: float) -> int | None:
        """One Heartbeat, as both heartbeating loops send it: NONE renews the lease from the time it
        was sent; a lost membership stops writing at once; a failed request is logged and gives
        None (the next interval tries again). Returns the answer's code for the caller's next step."""
        sent = time.monotonic()
        try:
            code = await self.client.heartbeat(self.member_id, self.generation, timeout=interval * 2)
        except ClientError as exc:
            log.info("group %s: heartbeat failed (%s)", self.settings.group_id, exc)
            return None
        if code == ErrorCode.NONE:
            self.gate.renew(sent + self.settings.lease_ms / 1000)
        elif code in LOST_CODES:
            self._lost(f"Heartbeat answered {error_name(code)}")
        return code

    async def _heartbeats(self, stop: asyncio.Event) -> None:
        """Until a rebalance is needed: heartbeat every interval, renewing the lease on NONE."""
        interval = self.settings.heartbeat_interval_ms / 1000
        while not stop.is_set():
            await _wait_any(stop, self._rejoin, interval)
            if stop.is_set():
                return
            if self._rejoin.is_set() or self._leader_sees_change():
                return
            code = await self._heartbeat(interval)
            if code is None or code == ErrorCode.NONE:
                pass
            elif code == ErrorCode.REBALANCE_IN_PROGRESS:
                return   # the lease is not renewed by this answer: rejoin now, SyncGroup renews it
            elif code in LOST_CODES:
                if code == ErrorCode.UNKNOWN_MEMBER_ID:
                    self.member_id = ""
                return
            elif code not in COORDINATOR_CODES:
                log.warning("group %s: Heartbeat answered %s", self.settings.group_id, error_name(code))

    def _leader_sees_change(self) -> bool:
        """The leader rebalances when the partitions it knows or the pinned topics changed."""
        if not self.leader or self._planned is None:
            return False
        pinned = set(self.pinned())
        now = (frozenset(self._universe(pinned)), frozenset(pinned))
        if now != self._planned:
            log.info("group %s: partitions or promoted topics changed; rebalancing", self.settings.group_id)
            return True
        return False

    def _universe(self, pinned: set[str]) -> set[TP]:
        """Partitions to assign: the engine's, without topics stopped for good (unless pinned: the
        leader still has to acknowledge them)."""
        stopped = self.engine.stopped_topics
        return {tp for tp in self.engine.partitions if tp[0] not in stopped or tp[0] in pinned}

    def _lost(self, why: str) -> None:
        """Not a member of this generation any more: stop writing at once."""
        if self.engine.owned():
            log.error("group %s: %s; stopped producing at once (%d partition(s) dropped)", self.settings.group_id,
                      why, len(self.engine.owned()))
        self.gate.close()
        self.engine.drop_all()
        self.leader = False
        self.engine.metrics.group_leader.set(0)
        self.engine.metrics.group_owned.set(0)

    async def _lease_watch(self, stop: asyncio.Event) -> None:
        """Drop every partition the moment the lease ends (the gate already refuses produces)."""
        while not stop.is_set():
            left = self.gate.open_until - time.monotonic()
            if left > 0:
                await _sleep_unless(stop, min(left, 1.0) + 0.001)
                continue
            if self.engine.owned():
                log.error("group %s: lease ended (no confirmed heartbeat for %.1fs); stopped producing at once",
                          self.settings.group_id, self.settings.lease_ms / 1000)
                self.engine.metrics.group_lease_ended_total.inc()
                self.engine.drop_all()
                self.engine.metrics.group_owned.set(0)
            await _sleep_unless(stop, 0.05)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except asyncio.TimeoutError:
        pass


async def _wait_any(a: asyncio.Event, b: asyncio.Event, seconds: float) -> None:
    tasks = [asyncio.ensure_future(a.wait()), asyncio.ensure_future(b.wait())]
    try:
        await asyncio.wait(tasks, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
