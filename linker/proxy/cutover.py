"""The proxy's side of a migration cutover (`linker promote`).

Sequence, for the topics of one link:

1. hold: produces to the topics get NOT_LEADER_OR_FOLLOWER (retriable) from
   the proxy; default client retries ride it out;
2. wait until every produce forwarded before the hold was answered, and every
   transaction open on the topics at the hold has ended with its markers written
   (those transactions may finish through the hold; new ones are held), then read
   the source log ends: nothing can move them any more;
3. catch-up: wait until the destination log ends reach them (the mirror is
   still running) or the caller's `caught_up` says so;
4. drain groups: wait (bounded) until every consumer group seen through the
   proxy has committed the source log end for the topics, so no consumer
   re-reads anything after it rejoins on the destination;
5. `promote` (the caller's: stop mirroring the topics, make them writable);
6. copy those groups' committed offsets to the destination (same offsets:
   the mirror is exact);
7. switch the proxy to the destination (cluster-wide), let the caller update its
   mirror registry (`before_release`), and release the hold.

A failure at any step keeps the hold on the topics the caller's `keep_hold`
names (`linker proxy`: those the state topic shows PROMOTING or STOPPED, all
when it cannot be read): they may already be writable on the destination, and
a write let through to the source would be lost to the migration. The others
are released (holds in force before the cutover began are put back). Every
failure names its step; running the cutover again completes it.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence

from linker.client import LATEST_TIMESTAMP, Admin, Client, ClientConfig, KafkaError, TopicPartition as TP

from linker.lifecycle.offset_sync import NO_COMMITS, sync_group
from linker.naming import MirrorNames

from .config import UpstreamConfig
from .server import ProxyServer

log = logging.getLogger("linker.proxy")



@dataclasses.dataclass
class CutoverReport:
    topics: list[str]
    source_log_ends: dict[TP, int]
    groups_copied: dict[str, dict[TP, int]]
    groups_not_drained: list[str]
    hold_seconds: float


class CutoverError(RuntimeError):
    """The cutover stopped before the switch; the proxy still fronts the source."""


async def _log_ends(client: Client, topics: Sequence[str], names: MirrorNames = MirrorNames()) -> dict[TP, int]:
    """Log ends keyed by the client's names (`names`: the cluster's are `prefix + name`)."""
    if names.prefix:
        ends = await _log_ends(client, [names.mirror_topic(t) for t in topics])
        return {(t[len(names.prefix):], p): end for (t, p), end in ends.items()}
    snapshot = await client.refresh_metadata(topics)
    tps = []
    for t in topics:
        if t not in snapshot.topics or snapshot.topics[t].error_code:
            raise CutoverError(f"topic {t!r} is not in {client!r}")
        tps += [(t, p) for p in snapshot.topics[t].partitions]
    try:
        return await client.offsets(tps, LATEST_TIMESTAMP)
    except KafkaError as exc:
        where = f"{exc.tp[0]}-{exc.tp[1]}" if exc.tp else ", ".join(topics)
        raise CutoverError(f"cannot read the log end of {where}: {exc}") from None


def _client(upstream: UpstreamConfig) -> Client:
    return Client(upstream.bootstrap, ClientConfig(client_id="linker-cutover", security=upstream.admin_config()),
                  label=upstream.name)


class Cutover:
    """Move the proxy's clients from `source` to `destination` for `topics`."""

    def __init__(self, proxy: ProxyServer, source: UpstreamConfig, destination: UpstreamConfig,
                 topics: Sequence[str], *, promote: Callable[[], Awaitable[None]] | None = None,
                 caught_up: Callable[[dict[TP, int]], Awaitable[bool]] | None = None,
                 keep_hold: Callable[[], Awaitable[Iterable[str]]] | None = None,
                 before_switch: Callable[[], Awaitable[None]] | None = None,
                 before_release: Callable[[], None] | None = None,
                 catch_up_timeout: float = 120.0, group_drain_timeout: float = 20.0,
                 txn_drain_timeout: float = 60.0, poll_interval: float = 0.1, per_topic: bool = False) -> None:
        """`keep_hold` is asked when any step fails: the topics whose writes stay held (their
        promotion may finish without the proxy: a write let through to the source then would be
        lost to the migration); when it fails itself, all stay held. Without it, all stay held
        once `promote` was called, none before. `before_switch` runs just before the switch (the
        link records it). `before_release` runs after the switch and before the hold is
        released: the caller's mirror registry must stop refusing the promoted topics first, or
        a producer reconnecting at once gets a non-retriable refusal."""
        if not topics:
            raise ValueError("a cutover needs at least one topic")
        self.proxy = proxy
        self.source = source
        self.destination = destination
        self.topics = list(topics)
        self.promote = promote
        self.caught_up = caught_up
        self.keep_hold = keep_hold
        self.before_switch = before_switch
        self.before_release = before_release
        self.catch_up_timeout = catch_up_timeout
        self.group_drain_timeout = group_drain_timeout
        self.txn_drain_timeout = txn_drain_timeout
        #: True: route only `topics` (and the groups that use only promoted topics) to the
        #: destination; the other topics stay on the source (routing.py). False: switch all.
        self.per_topic = per_topic
        #: per topic: the groups the routing step moves to the destination (set before `before_switch`)
        self.moved_groups: list[str] = []
        self.poll_interval = poll_interval

    async def run(self) -> CutoverReport:
        t0 = time.monotonic()
        src, dst = _client(self.source), _client(self.destination)
        # holds found (the state topic's, of a promotion that began): a failure puts them back
        found = {t: self.proxy.holds[t] for t in self.topics if t in self.proxy.holds}
        epoch = self.proxy.hold_writes(self.topics, "writes held for the cutover of "
                                                    f"{', '.join(self.topics)}; retry")
        log.info("cutover of %s: writes held", ", ".join(self.topics))
        step = "connect"
        promoting = False
        try:
            await src.start()
            await dst.start()
            step = "produce drain"
            await self.proxy.wait_produce_drained(epoch)
            step = "transaction drain"
            await self._drain_transactions(src)
            step = "source log ends"
            ends = await _log_ends(src, self.topics)
            step = "catch-up"
            await self._wait_caught_up(dst, ends)
            step = "group drain"
            not_drained = await self._drain_groups(src, ends)
            step = "promote"
            promoting = True
            if self.promote is not None:
                await self.promote()
            step = "offset copy"
            copied = await self._copy_offsets(src, dst)
            step = "switch"
            if self.per_topic:   # decided before `before_switch`, which records them
                self.moved_groups = await self._movable_groups(src)
            if self.before_switch is not None:
                await self.before_switch()
            if self.per_topic:
                await self.proxy.route_topics(self.destination, self.topics, self.moved_groups)
            else:
                await self.proxy.switch_upstream(self.destination)
            if self.before_release is not None:
                self.before_release()
        except BaseException as exc:
            await self._after_failure(step, exc, promoting, found)
            if isinstance(exc, Exception):
                raise CutoverError(f"cutover of {', '.join(self.topics)} failed at step {step!r}: "
                                   f"{exc or type(exc).__name__}") from exc
            raise
        else:
            self.proxy.release_writes(self.topics)
        finally:
            await src.close()
            await dst.close()
        held = time.monotonic() - t0
        log.info("cutover of %s done in %.2fs: %s %s", ", ".join(self.topics), held,
                 "the topics are served by" if self.per_topic else "proxy fronts", self.destination.name)
        return CutoverReport(self.topics, ends, copied, not_drained, held)

    async def _open_on_source(self, src: Client) -> dict[int, list[TP]]:
        """Producer id -> held partitions where its transaction is open (data written, no marker
        yet), as the partition leaders say."""
        snapshot = await src.refresh_metadata(self.topics)
        tps = [(t, p) for t in self.topics if t in snapshot.topics for p in snapshot.topics[t].partitions]
        try:
            states = await Admin(src).describe_producers(tps)
        except KafkaError as exc:
            raise CutoverError(f"cannot read the open transactions of {', '.join(self.topics)}: {exc}") from None
        open_: dict[int, list[TP]] = {}
        for tp, producers in states.items():
            for s in producers:
                if s.current_txn_start_offset >= 0:
                    open_.setdefault(s.producer_id, []).append(tp)
        return open_

    async def _drain_transactions(self, src: Client) -> None:
        """Transactions open on the topics at the hold may finish (their produces pass the hold,
        their EndTxn goes through); wait until each has ended and its markers are written, then
        once more until produces of theirs still in flight are answered. Open ones are known from
        the AddPartitionsToTxn answers the proxy saw and from the partition leaders (a transaction
        with data written). A transaction that does not end in time fails the cutover: its
        marker would land after the source log ends were read."""
        deadline = time.monotonic() + self.txn_drain_timeout
        proxy = self.proxy
        known = proxy.txns_touching(self.topics)
        on_source = await self._open_on_source(src)
        draining = set(known) | set(on_source)
        if not draining:
            return
        log.info("cutover of %s: waiting for %d open transaction(s) to end", ", ".join(self.topics), len(draining))
        proxy.txn_draining = set(draining)
        try:
            while True:
                still = (set(proxy.txns_touching(self.topics)) | set(on_source)) & draining
                proxy.txn_draining = still
                if not still:
                    epoch = proxy.hold_writes(self.topics, proxy.holds.get(self.topics[0], "held"))
                    await proxy.wait_produce_drained(epoch)
                    on_source = await self._open_on_source(src)
                    if not on_source:
                        return
                    draining |= set(on_source)
                    continue
                if time.monotonic() > deadline:
                    names = sorted(f"producer id {pid}" + (f" (transactional id {known[pid]!r})" if pid in known else "")
                                   + (f" on {', '.join(f'{t}-{p}' for t, p in on_source[pid])}" if pid in on_source else "")
                                   for pid in still)
                    raise CutoverError(f"transactions open on the held topics did not end within "
                                       f"{self.txn_drain_timeout:g}s: {'; '.join(names)} (they end by commit, abort "
                                       "or the coordinator's transaction timeout; run the cutover again)")
                await asyncio.sleep(self.poll_interval)
                on_source = await self._open_on_source(src)
        finally:
            proxy.txn_draining = set()

    async def _after_failure(self, step: str, exc: BaseException, promoting: bool,
                             found: dict[str, str]) -> None:
        """The hold rule, applied in one place: the topics `keep_hold` names (the caller's rule;
        without one: all of them once `promote` was called) stay held, with the failed step in
        the reason; the others are released, holds found at the start put back."""
        keep = await self._kept(promoting)
        for t in self.topics:
            if t in keep:
                self.proxy.hold_writes([t], f"the cutover of {', '.join(self.topics)} failed at step "
                                            f"{step!r}; writes are held until `linker promote` is run again")
            else:
                self.proxy.release_writes([t])
                if t in found:
                    self.proxy.holds[t] = found[t]
        if keep:
            log.warning("cutover of %s failed at step %r (%s): writes to %s stay held (the promotion may "
                        "have begun)", ", ".join(self.topics), step, exc or type(exc).__name__,
                        ", ".join(sorted(keep)))
        else:
            log.warning("cutover of %s failed at step %r (%s): writes released (no promotion began)",
                        ", ".join(self.topics), step, exc or type(exc).__name__)

    async def _kept(self, promoting: bool) -> set[str]:
        if self.keep_hold is None:
            return set(self.topics) if promoting else set()
        try:
            return set(await self.keep_hold()) & set(self.topics)
        except Exception as exc:  # cannot tell whether the promotion began: stay on the safe side
            log.warning("cutover: cannot tell whether the promotion began (%s); writes stay held", exc)
            return set(self.topics)

    async def _wait_caught_up(self, dst: Client, ends: dict[TP, int]) -> None:
        deadline = time.monotonic() + self.catch_up_timeout
        while True:
            if self.caught_up is not None:
                if await self.caught_up(ends):
                    return
            else:
                try:
                    have = await _log_ends(dst, self.topics, MirrorNames(self.destination.topic_prefix))
                except CutoverError:   # the mirror topic is not created yet: not caught up
                    have = {}
                behind = {tp: (have.get(tp, 0), end) for tp, end in ends.items() if have.get(tp, 0) < end}
                if not behind:
                    return
            if time.monotonic() > deadline:
                if self.caught_up is not None:
                    behind_text = "the caller's check said not yet"
                else:
                    behind_text = "behind: " + ", ".join(f"{tp[0]}-{tp[1]} at {h} of {e}"
                                                         for tp, (h, e) in sorted(behind.items()))
                raise CutoverError(f"the destination did not catch up with the source within "
                                   f"{self.catch_up_timeout:g}s ({behind_text})")
            await asyncio.sleep(self.poll_interval)

    async def _group_offsets(self, client: Client, group: str) -> dict[TP, int]:
        offsets = await Admin(client).offset_fetch(group)
        return {tp: c.offset for tp, c in offsets.items() if tp[0] in self.topics and c.offset >= 0}

    async def _drain_groups(self, src: Client, ends: dict[TP, int]) -> list[str]:
        """Groups whose committed offsets did not reach the log ends in time (they may re-read)."""
        deadline = time.monotonic() + self.group_drain_timeout
        waiting = set(self.proxy.groups_seen)
        while waiting:
            for group in sorted(waiting):
                try:
                    committed = await self._group_offsets(src, group)
                except KafkaError as exc:
                    raise CutoverError(f"cannot read the committed offsets of group {group!r}: {exc}") from exc
                if all(off >= ends[tp] for tp, off in committed.items() if tp in ends):
                    waiting.discard(group)
            if not waiting or time.monotonic() > deadline:
                break
            await asyncio.sleep(self.poll_interval)
        for group in sorted(waiting):
            log.warning("cutover: group %r has not committed the log end of %s; its consumers may "
                        "re-read records after the switch", group, ", ".join(self.topics))
        return sorted(waiting)

    def _promoted(self) -> set[str]:
        """The topics served by the destination once this cutover is done."""
        split = self.proxy.split
        return set(self.topics) | (split.promoted if split is not None else set())

    async def _movable_groups(self, src: Client) -> list[str]:
        """Groups whose committed offsets are all on promoted topics: their coordinator becomes
        the destination's. A group with commits on topics that stay on the source (a mixed
        group) stays coordinated by the source until its last topic is promoted."""
        promoted = self._promoted()
        movable = []
        for group in sorted(self.proxy.groups_seen):
            try:
                offsets = await Admin(src).offset_fetch(group)
            except KafkaError as exc:
                raise CutoverError(f"cannot read the committed offsets of group {group!r}: {exc}") from exc
            topics = {tp[0] for tp, c in offsets.items() if c.offset >= 0}
            if topics and topics <= promoted:
                movable.append(group)
            elif topics & promoted:
                log.warning("cutover: group %r also commits offsets of %s, which stay on the source: it stays "
                            "coordinated by the source until they are promoted too", group,
                            ", ".join(sorted(topics - promoted)))
        return movable

    async def _copy_offsets(self, src: Client, dst: Client) -> dict[str, dict[TP, int]]:
        """The offset sync's rule: commit metadata kept, never a destination offset rewound,
        a group with members on the destination reported and left alone."""
        copied: dict[str, dict[TP, int]] = {}
        for group in sorted(self.proxy.groups_seen):
            result = await sync_group(src, dst, group, self._promoted() if self.per_topic else set(self.topics),
                                      MirrorNames(self.destination.topic_prefix))
            for tp, (source_offset, kept) in result.kept.items():
                log.warning("cutover: group %r %s-%d stays at %d on the destination (source %d): "
                            "never rewound", group, tp[0], tp[1], kept, source_offset)
            if result.skipped and result.skipped != NO_COMMITS:
                log.warning("cutover: offsets of group %r not copied: %s", group, result.skipped)
            if result.errors:
                raise CutoverError(f"cannot commit offsets of group {group!r}: {result.errors}")
            if result.committed:
                copied[group] = result.committed
        return copied
