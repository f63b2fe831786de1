"""`linker proxy --config link.toml`: the proxy server wired to one link.

A `ProxyServer` fronting the side the `[proxy]` table names, its guard and
holds following the state topic (`StateFollower`), and, with proxy.control, the
endpoint through which `linker promote|failover` run the cutover inside the
proxy (`ControlEndpoint` over `ProxiedPromotion`).
"""
from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack

from linker.lifecycle.state_store import StateStore
from linker.connect import connect
from linker.lifecycle.store_view import LinkState
from linker.proxy.guard import MirrorTopics
from linker.selection import TopicSelector
from linker.proxy.server import ProxyServer
from linker.settings import LinkConfig

from .control import ControlEndpoint, token_path
from .proxied_promotion import ProxiedPromotion
from .proxy_settings import proxy_config, proxy_settings, upstream_of
from .state_following import StateFollower, front_of

log = logging.getLogger("linker.proxy")


class LinkedProxy:
    """A ProxyServer whose guard and cutover follow one link."""

    def __init__(self, config: LinkConfig) -> None:
        self.settings = proxy_settings(config)
        self.config = config
        self.source = upstream_of(config.source, "source", self.settings.epoch_generation)
        # clients use the source's names; with topics.prefix the proxy renames (rename.py)
        self.destination = upstream_of(config.destination, "destination", self.settings.epoch_generation,
                                       config.topics.prefix)
        self.mirrors = MirrorTopics()
        self.mirrors.set_internal(config.lifecycle.state_topic_for(config.name), config.name)
        # the link's selection, not only the topics its state knows: a named topic the source
        # does not have yet must not be created (and filled) through the proxy first
        self.mirrors.set_selection(TopicSelector(config.topics).matches, config.topics.names, config.name)
        self.server = ProxyServer(proxy_config(config), self.mirrors, mirrors_on="destination")
        self.follower = StateFollower(self.server, self.mirrors, config.name,
                                      config.lifecycle.state_poll_ms / 1000)
        self.promotion = ProxiedPromotion(config, self.settings, self.server, self.mirrors, self.follower,
                                          self.source, self.destination)

    @property
    def fronts(self) -> str:
        return self.server.upstream.name

    def apply_state(self, state: LinkState) -> None:
        self.follower.apply(state)

    async def _front_from(self, state: LinkState) -> None:
        """Front what the link state says (the last switch), not what the file says: a proxy
        restarted after a promote with `front = "source"` would serve the old cluster's reads
        and hold every promoted topic's writes. A conflict is logged; the state wins."""
        front, why = front_of(state, self.settings.front)
        if front != self.settings.front:
            log.warning("proxy.front is %r in the link file, but %s: fronting the %s (the state wins; "
                        "set proxy.front = %r to silence this)", self.settings.front, why, front, front)
        else:
            log.info("fronting the %s: %s", front, why)
        if front != self.fronts:
            await self.server.switch_upstream(self.source if front == "source" else self.destination)
        recorded = state.front
        if front == "source" and recorded is not None and recorded.routed:
            # the split of a per-topic promote: rebuilt before the first client connects (a
            # destination that cannot be read fails the start rather than serve those topics
            # from the source, where their writes would be lost to the migration)
            await self.server.route_topics(self.destination, recorded.routed, recorded.groups)

    async def serve(self, stop: asyncio.Event, ready: Callable[[LinkedProxy], None] | None = None) -> None:
        dest = connect(self.config.destination, "destination", f"{self.config.destination.client_id}-proxy")
        try:
            store = StateStore(dest, self.config.lifecycle.state_topic_for(self.config.name),
                               self.config.mirror.replication_factor)
            state = await self.follower.start(store)
            await self._front_from(state)
            self.follower.apply(state)   # guard and holds in force before the first client
            async with AsyncExitStack() as stack:
                await stack.enter_async_context(self.server)
                if self.settings.control is not None:
                    host, port = self.settings.control
                    await stack.enter_async_context(ControlEndpoint(self.promotion, host, port,
                                                                      token_path(self.config)))
                async with asyncio.TaskGroup() as tasks:
                    watcher = tasks.create_task(self.follower.follow(stop))
                    if ready is not None:
                        ready(self)
                    await stop.wait()
                    watcher.cancel()
        finally:
            await dest.close()


def run_proxy(config: LinkConfig) -> int:
    """The `linker proxy` command: serve until SIGTERM/SIGINT."""

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)

        def ready(p: LinkedProxy) -> None:
            control = "" if p.settings.control is None else f" control {p.settings.control[0]}:{p.settings.control[1]}"
            print(f"proxy listening on {p.server.bootstrap} fronting {p.fronts}{control}", flush=True)
        await LinkedProxy(config).serve(stop, ready)

    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        print(f"linker proxy: {exc}", file=sys.stderr)
        return 1
    return 0
