"""Proxy fixtures: a ProxyServer running on its own event loop thread.

The clients under test (kafka-python, librdkafka, Java) are blocking, so the
proxy runs beside them in a thread; `call` runs a coroutine on its loop.
"""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from linker.client import new_event_loop
from linker.proxy import MirrorRegistry, ProxyConfig, ProxyServer, UpstreamConfig

T = TypeVar("T")


class ProxyThread:
    """A started ProxyServer and the thread whose loop runs it."""

    def __init__(self, config: ProxyConfig, mirrors: MirrorRegistry | None = None,
                 mirrors_on: str | None = None) -> None:
        self.loop = new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="proxy-loop", daemon=True)
        self.thread.start()
        self.server = ProxyServer(config, mirrors, mirrors_on)
        self.call(self.server.start())

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def sync(self, fn: Callable[[], T]) -> T:
        """Run a plain function on the proxy's loop (its state is not thread-safe)."""
        async def run() -> T:
            return fn()
        return self.call(run())

    @property
    def bootstrap(self) -> str:
        return self.server.bootstrap

    def stop(self) -> None:
        try:
            self.call(self.server.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


def upstream_of(cluster: Any, name: str | None = None, listener: str | None = None, **kwargs: Any) -> UpstreamConfig:
    return UpstreamConfig(name=name or cluster.name, bootstrap=cluster.bootstrap_for(listener), **kwargs)


@pytest.fixture
def start_proxy() -> Iterator[Callable[..., ProxyThread]]:
    """start_proxy(config, mirrors=None) -> ProxyThread; every proxy is stopped after the test."""
    started: list[ProxyThread] = []

    def start(config: ProxyConfig, mirrors: MirrorRegistry | None = None,
              mirrors_on: str | None = None) -> ProxyThread:
        p = ProxyThread(config, mirrors, mirrors_on)
        started.append(p)
        return p
    yield start
    for p in started:
        p.stop()


@pytest.fixture(scope="module")
def dest_proxy(destination: Any) -> Iterator[ProxyThread]:
    """One pass-through proxy in front of the session destination cluster, shared by a module."""
    p = ProxyThread(ProxyConfig(upstream=upstream_of(destination)))
    try:
        yield p
    finally:
        p.stop()
