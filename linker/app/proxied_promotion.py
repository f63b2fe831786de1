"""`linker promote` and `linker failover` run inside the proxy of a link.

Fronting the source, a promote is the proxy's cutover (hold writes, drain,
catch up, promote through the state topic, copy group offsets, switch); a
failover holds, records STOPPED at once and switches (the source may be gone).
Fronting the destination, both are the ordinary lifecycle commands.

Why promote calls the proxy rather than the proxy reacting to PROMOTING in the
state topic: the linker may finish a promotion (STOPPED at the source's end)
before a polling proxy has seen PROMOTING, and a write the proxy let through in
between would be on the source only. Holding writes *before* PROMOTING is
recorded closes that gap; see docs/proxy.md.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from linker.client import Client, ClientConfig
from linker.lifecycle.commands import CommandError, Commands
from linker.lifecycle.records import TopicState
from linker.naming import MirrorNames
from linker.proxy.config import UpstreamConfig
from linker.proxy.cutover import Cutover
from linker.proxy.guard import MirrorTopics
from linker.proxy.server import ProxyServer
from linker.settings import LinkConfig, ProxySettings

from .state_following import StateFollower, promotion_begun

log = logging.getLogger("linker.proxy")

#: A topic a client asked the metadata of within this window is in use (clients refresh their
#: topics' metadata every 5 minutes by default: metadata.max.age.ms).
TOPIC_IN_USE_WINDOW_S = 600.0
#: How long a failover waits for produces in flight to the source (a dead one answers none).
FAILOVER_DRAIN_S = 5.0


class ProxiedPromotion:
    """Promote and failover for one link's proxy; one at a time."""

    def __init__(self, config: LinkConfig, settings: ProxySettings, server: ProxyServer, mirrors: MirrorTopics,
                 follower: StateFollower, source: UpstreamConfig, destination: UpstreamConfig) -> None:
        self.config = config
        self.settings = settings
        self.server = server
        self.mirrors = mirrors
        self.follower = follower
        self.source = source
        self.destination = destination
        self._lock = asyncio.Lock()

    @property
    def fronts(self) -> str:
        return self.server.upstream.name

    def _moved_producer_ids(self) -> list[int]:
        """Producer ids the source handed to this proxy's clients: after the switch they write the
        destination with them, so its allocation is kept clear of them too."""
        return self.server.producer_ids_from("source")

    def _client_names(self, topics: list[str]) -> list[str]:
        """The names clients use (the source's) for a command's topics, which may name a mirror
        by its destination name (`topics.prefix`); holds and the cutover judge clients' names."""
        names = MirrorNames(self.config.topics.prefix)
        if not names.prefix:
            return topics
        known = set(self.mirrors.topics())
        return [names.resolve(t, known) or t for t in topics]

    async def stranded_topics(self, topics: list[str]) -> list[str]:
        """Topics the proxy's clients use, besides `topics`, that the destination cannot serve
        as the source does; each with why. The switch is cluster-wide, so their clients would
        meet refusals (a mirror not promoted) or UNKNOWN_TOPIC_OR_PARTITION (not there)."""
        used = [t for t in self.server.topics_used_within(TOPIC_IN_USE_WINDOW_S) if t not in topics]
        if not used:
            return []
        begun = promotion_begun(await self.follower.read(), used)
        used = [t for t in used if begun.get(t) is not TopicState.STOPPED]
        if not used:
            return []
        dst = Client(self.destination.bootstrap, ClientConfig(client_id="linker-proxy",
                                                              security=self.destination.admin_config()),
                     label=self.destination.name)
        try:
            await dst.start()
            prefix = self.destination.topic_prefix   # the destination's names (topics.prefix)
            snapshot = await dst.refresh_metadata([prefix + t for t in used])
        finally:
            await dst.close()
        out = []
        for t in used:
            info = snapshot.topics.get(prefix + t)
            if self.mirrors.mirror_link(t) is not None:
                out.append(f"{t} (a read-only mirror until promoted)")
            elif info is None or info.error_code:
                out.append(f"{t} (not on the destination)")
        return out

    async def promote(self, topics: list[str], force: bool = False, per_topic: bool = False) -> dict[str, Any]:
        """Run `linker promote` from inside the proxy; the cutover when the source is fronted.
        Unless `force` or `per_topic`, a cutover that would strand clients of other topics is
        refused before anything is held or recorded. `per_topic`: only `topics` (and the groups
        that use only promoted topics) move to the destination; the others stay on the source."""
        topics = self._client_names(topics)
        async with self._lock:
            if self.fronts == "source" and not force and not per_topic:
                stranded = await self.stranded_topics(topics)
                if stranded:
                    raise CommandError(
                        f"the proxy moves all its clients to the destination at once, and in the last "
                        f"{TOPIC_IN_USE_WINDOW_S / 60:g} min they used topics the destination cannot serve "
                        f"as the source does: {', '.join(stranded)}. Promote those in the same command, or "
                        f"give `linker promote --force` to switch anyway (their clients then get errors). "
                        f"Nothing was held or recorded")
            commands = Commands(self.config, self._moved_producer_ids)
            results: list[Any] = []

            async def promote() -> None:
                results.extend(await commands.promote(topics))

            try:
                if self.fronts == "source":
                    cutover = Cutover(self.server, self.source, self.destination, topics,
                                      promote=promote,
                                      keep_hold=lambda: self.follower.held_after_failure(topics),
                                      before_switch=lambda: self._record_switch(cutover),
                                      before_release=lambda: self._unguard(results),
                                      catch_up_timeout=self.settings.catch_up_timeout_s,
                                      group_drain_timeout=self.settings.group_drain_timeout_s,
                                      txn_drain_timeout=self.settings.txn_drain_timeout_s, per_topic=per_topic)
                    report = await cutover.run()
                    extra = {"hold_seconds": round(report.hold_seconds, 3),
                             "groups_copied": sorted(report.groups_copied),
                             "groups_not_drained": report.groups_not_drained}
                    if per_topic:
                        split = self.server.split
                        extra |= {"routed": sorted(split.promoted) if split else sorted(topics),
                                  "groups_moved": sorted(cutover.moved_groups)}
                    else:
                        self.follower.switched()
                        extra["switched_to"] = "destination"
                else:
                    await promote()
                    extra = {}
            finally:
                await commands.close()
            return self._done(results, extra)

    async def _record_switch(self, cutover: Cutover) -> None:
        """Record the switch, or a per-topic cutover's split (every topic and group routed to the
        destination so far, this cutover's included), before it is made."""
        if not cutover.per_topic:
            await self.follower.record_front("destination", cutover.topics, "promote")
            return
        split = self.server.split
        routed = set(cutover.topics) | (split.promoted if split else set())
        groups = set(cutover.moved_groups) | (split.moved_groups if split else set())
        await self.follower.record_front("source", cutover.topics, "promote", sorted(routed), sorted(groups))

    async def failover(self, topics: list[str]) -> dict[str, Any]:
        """Run `linker failover` from inside the proxy. Fronting the source, no catch-up and no
        group drain (the source may be gone): hold the topics' writes (bounded wait for
        produces in flight), failover (STOPPED at once), switch to the destination, release.
        Groups resume there from the lifecycle's last offset sync."""
        topics = self._client_names(topics)
        async with self._lock:
            commands = Commands(self.config, self._moved_producer_ids)
            extra: dict[str, Any] = {}
            try:
                if self.fronts == "source":
                    epoch = self.server.hold_writes(topics, f"writes held for the failover of {', '.join(topics)}; retry")
                    step = "produce drain"
                    try:
                        try:
                            await self.server.wait_produce_drained(epoch, timeout=FAILOVER_DRAIN_S)
                        except TimeoutError as exc:   # a dead source answers nothing: go on
                            log.warning("failover: %s", exc)
                        step = "failover"
                        results = await commands.failover(topics)
                        step = "switch"
                        await self.follower.record_front("destination", topics, "failover")
                        await self.server.switch_upstream(self.destination)
                        self._unguard(results)
                    except BaseException as exc:
                        held = await self.follower.held_after_failure(topics)   # the hold rule
                        self.server.release_writes(t for t in topics if t not in held)
                        log.warning("failover of %s failed at step %r (%s): writes %s", ", ".join(topics), step,
                                    exc or type(exc).__name__,
                                    f"to {', '.join(sorted(held))} stay held" if held else "released")
                        if isinstance(exc, Exception):
                            raise CommandError(f"failover of {', '.join(topics)} failed at step {step!r}: "
                                               f"{exc or type(exc).__name__}") from exc
                        raise
                    self.server.release_writes(topics)
                    self.follower.switched()
                    extra = {"switched_to": "destination"}
                else:
                    results = await commands.failover(topics)
            finally:
                await commands.close()
            return self._done(results, extra)

    def _unguard(self, results: list[Any]) -> None:
        """Promoted topics leave the guard at once (not at the next state poll), before any
        hold on them is released."""
        for r in results:
            self.mirrors.promote(r.topic)

    def _done(self, results: list[Any], extra: dict[str, Any]) -> dict[str, Any]:
        """The control answer: the command's lines as the CLI prints them (the producer-id line
        once), where the proxy fronts now, and what the switch did."""
        self._unguard(results)
        lines = [r.line() for r in results] + [r.producer_ids for r in results[:1] if r.producer_ids]
        lines += results[0].access if results else []
        return {"ok": True, "lines": lines, "fronts": self.fronts, **extra}
