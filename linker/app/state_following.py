"""The proxy's guard, write holds and fronted cluster, kept in step with the link's state topic.

Every mirror topic not STOPPED is refused writes while the destination is
fronted; while the source is fronted, every topic whose promotion began is held
(a promote that failed half-way, or one a restarted linker finished, must not
let writes reach the source again). Which cluster a (re)started proxy fronts is
the state topic's `proxy/front` record, written by the switch; the link file's
`proxy.front` only until the first switch. The same record carries a per-topic
promote's split (topics routed to the destination while the source is fronted):
a restarted proxy routes them again, and does not hold them (their promotion
is complete, their clients write the destination).
"""
from __future__ import annotations

import asyncio
import logging
import time

from linker.lifecycle.records import FrontRecord, TopicState
from linker.lifecycle.state_store import StateStore
from linker.lifecycle.store_view import LinkState
from linker.proxy.guard import MirrorTopics
from linker.proxy.server import ProxyServer

log = logging.getLogger("linker.proxy")

#: States in which the source must take no more writes for a topic: a promotion (or a
#: failover) began, so the destination may already be, or soon be, the writable copy.
PROMOTION_BEGUN = frozenset({TopicState.PROMOTING, TopicState.STOPPED})


def sync_mirrors(mirrors: MirrorTopics, state: LinkState, link: str) -> None:
    """Every topic the link knows (a state or progress record) is a read-only mirror until STOPPED."""
    for topic in set(state.topics) | set(state.progress):
        rec = state.topics.get(topic)
        if rec is not None and rec.state is TopicState.STOPPED:
            mirrors.promote(topic)
        else:
            mirrors.set_mirror(topic, link)


def promotion_begun(state: LinkState, topics: list[str] | None = None) -> dict[str, TopicState]:
    """topic -> state, for the topics (default: all) whose promotion began."""
    return {t: r.state for t, r in state.topics.items()
            if r.state in PROMOTION_BEGUN and (topics is None or t in topics)}


def front_of(state: LinkState, file_front: str) -> tuple[str, str]:
    """The cluster a starting proxy fronts, and why: the state topic's `proxy/front` record (the
    last switch) wins; without one, the file's `proxy.front` (the initial value).

    Topics all STOPPED without a recorded switch do not move the proxy: the promote that would
    have switched it failed or has not finished (its producer-id move may not have run), so the
    topics stay held and `linker promote` completes the cutover, as for a running proxy."""
    if state.front is not None:
        f = state.front
        if f.routed:
            return f.front, (f"the link state records the split by `linker {f.command} --per-topic "
                             f"{' '.join(f.topics)}` at {_utc(f.at_ms)}: {', '.join(f.routed)} served by the "
                             f"destination")
        return f.front, (f"the link state records the switch to the {f.front} by `linker {f.command} "
                         f"{' '.join(f.topics)}` at {_utc(f.at_ms)}")
    return file_front, "proxy.front in the link file (no switch recorded in the link state)"


def kept_after_failure(state: LinkState | None, topics: list[str]) -> set[str]:
    """The hold rule after a promote or failover through the proxy failed at any step: a topic's
    writes stay held whenever its promotion may have begun -- the state topic shows PROMOTING or
    STOPPED for it, or cannot be read (`state` None). Only a topic the state topic shows never
    began is released: nothing changed for it, and its clients go on writing to the source."""
    if state is None:
        return set(topics)
    return set(promotion_begun(state, topics))


def _utc(at_ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at_ms / 1000))


class StateFollower:
    """Applies the state topic to one proxy server: its guard registry and its holds."""

    def __init__(self, server: ProxyServer, mirrors: MirrorTopics, link: str, poll_s: float) -> None:
        self.server = server
        self.mirrors = mirrors
        self.link = link
        self.poll_s = poll_s
        self.store: StateStore | None = None
        self._held: set[str] = set()

    async def read(self) -> LinkState:
        assert self.store is not None, "StateFollower.start() first"
        return LinkState.from_records(await self.store.read_all())

    async def start(self, store: StateStore) -> LinkState:
        """The first read of the state topic; the caller chooses the fronted cluster from it and
        applies it (guard and holds in force before the first client connects)."""
        self.store = store
        await store.ensure()
        return await self.read()

    async def record_front(self, front: str, topics: list[str], command: str, routed: list[str] | None = None,
                           groups: list[str] | None = None) -> None:
        """Record the switch (or, with `routed`, the split) before it is made, so a proxy restarted
        from now on fronts `front` and routes `routed` and `groups` to the destination."""
        assert self.store is not None, "StateFollower.start() first"
        rec = FrontRecord(front, list(topics), command, routed=sorted(routed or ()), groups=sorted(groups or ()))
        await self.store.write([(rec.key(), rec.value())])

    async def held_after_failure(self, topics: list[str]) -> set[str]:
        """`kept_after_failure` on a fresh read of the state topic (None when it cannot be read)."""
        try:
            state: LinkState | None = await self.read()
        except Exception as exc:
            log.warning("cannot read the link state topic (%s): writes stay held", exc)
            state = None
        return kept_after_failure(state, topics)

    async def follow(self, stop: asyncio.Event) -> None:
        """Keep the guard in step with the state topic (one read per state poll)."""
        while not stop.is_set():
            await asyncio.sleep(self.poll_s)
            try:
                self.apply(await self.read())
            except Exception as exc:  # keep the last known registry and holds; the guard stays closed
                log.warning("cannot read the link state topic: %s", exc)

    def apply(self, state: LinkState) -> None:
        """The read-only guard, and, while the source is fronted, a hold on every topic whose
        promotion began (`linker promote` completes the cutover)."""
        sync_mirrors(self.mirrors, state, self.link)
        begun = promotion_begun(state) if self.server.upstream.name == "source" else {}
        split = self.server.split
        if split is not None:   # routed to the destination by a per-topic promote: complete, not held
            begun = {t: s for t, s in begun.items() if t not in split.promoted}
        self.server.release_writes(self._held - begun.keys())
        for topic in begun.keys() - self._held:
            self.server.hold_writes([topic], f"topic {topic!r} is {begun[topic].value} on the destination "
                                             f"while the proxy fronts the source; writes are held until "
                                             f"`linker promote {topic}` completes the cutover")
            log.warning("topic %s is %s on the destination: writes through the proxy held until "
                        "`linker promote %s` completes the cutover", topic, begun[topic].value, topic)
        self._held = set(begun)

    def switched(self) -> None:
        """The destination is fronted now: holds taken from the state topic for the source are void."""
        self.server.release_writes(self._held)
        self._held = set()
