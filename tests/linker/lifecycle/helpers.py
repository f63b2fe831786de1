"""Helpers for lifecycle tests: link configs with a [lifecycle] table, and a linker
(engine + lifecycle controller, as `linker run` wires them) in a background thread."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

from linker.settings import LinkConfig, parse_config
from linker.lifecycle.commands import Commands
from linker.lifecycle.controller import LifecycleController
from linker.mirror.engine import MirrorEngine

from ..background import BackgroundLoop
from ..mirror.helpers import engine_for


def link_config(source: Any, destination: Any, name: str, names: list[str] | None = None,
                include: list[str] | None = None, lifecycle: dict[str, Any] | None = None,
                prefix: str = "", **mirror: Any) -> LinkConfig:
    topics: dict[str, Any] = {"prefix": prefix} if prefix else {}
    if names:
        topics["names"] = names
    if include:
        topics["include"] = include
    return parse_config({
        "name": name,
        "source": {"bootstrap_servers": source.bootstrap.split(","), "request_timeout_ms": 5000},
        "destination": {"bootstrap_servers": destination.bootstrap.split(",")},
        "topics": topics,
        "mirror": {"fetch_max_wait_ms": 100, "metadata_refresh_ms": 1000, "audit_interval_ms": 3000, **mirror},
        "lifecycle": {"state_poll_ms": 300, "offset_sync_interval_ms": 1000, "config_sync_interval_ms": 1000,
                      **(lifecycle or {})},
    })


class Linker(BackgroundLoop):
    """`linker run` in its own thread and event loop (blocking clients can run meanwhile)."""

    def __init__(self, config: LinkConfig) -> None:
        super().__init__()
        self.config = config
        self.engine: MirrorEngine | None = None
        self.controller: LifecycleController | None = None

    async def main(self, stop: asyncio.Event) -> None:
        self.engine = engine_for(self.config)
        self.controller = LifecycleController(self.engine, self.config, self.engine.source, self.engine.dest)
        self.ready()
        try:
            await self.controller.prepare()
            task = asyncio.create_task(self.controller.run(stop))
            try:
                await self.engine.run(stop)
            finally:
                stop.set()
                await task
        finally:
            await self.engine.source.close()
            await self.engine.dest.close()

    def acked(self, topic: str) -> dict[int, int]:
        assert self.engine is not None
        return {pm.tp[1]: pm.acked_end for pm in list(self.engine.partitions.values()) if pm.tp[0] == topic}

    def wait(self, what: Callable[[], bool], timeout: float = 60.0, why: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._thread.is_alive():
                raise AssertionError(f"linker thread ended: {self.error!r}")
            if what():
                return
            time.sleep(0.1)
        raise AssertionError(f"not within {timeout}s: {why} {self.engine.status_doc() if self.engine else ''}")


def command(config: LinkConfig, name: str, topics: list[str]) -> list[Any]:
    """Run a lifecycle command as `linker <name>` does (own clients, own event loop)."""
    async def go() -> list[Any]:
        c = Commands(config)
        try:
            return await getattr(c, name)(topics)
        finally:
            await c.close()
    return asyncio.run(go())


def state_of(config: LinkConfig) -> Any:
    from linker.lifecycle.store_view import LinkState

    async def go() -> Any:
        c = Commands(config)
        try:
            await c.store.ensure()
            return LinkState.from_records(await c.store.read_all())
        finally:
            await c.close()
    return asyncio.run(go())
