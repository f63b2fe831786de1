"""`linker run`: the mirror engine, the lifecycle controller and the metrics server of one link,
started together and stopped together (SIGTERM/SIGINT drain and exit)."""
from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable

from linker.client import Client, GroupClient, WriteGate
from linker.connect import connect
from linker.group.member import GroupMember
from linker.group.protocol import PROTOCOL_TYPE
from linker.lifecycle.controller import LifecycleController
from linker.metrics import MetricsServer, MirrorMetrics
from linker.mirror.engine import MirrorEngine
from linker.mirror.state import until_ready
from linker.settings import LinkConfig

log = logging.getLogger("linker")


async def run_link(config: LinkConfig, stop: asyncio.Event) -> None:
    """Mirror until `stop` is set; the lifecycle controller stops with the engine.

    One client per cluster, shared by the engine and the lifecycle, closed here after both stop."""
    metrics = MirrorMetrics()
    # A group member writes only while its lease holds: closed until the first assignment.
    gate = WriteGate(0.0) if config.group is not None else None
    source = connect(config.source, "source", f"{config.source.client_id}-{config.name}")
    dest = connect(config.destination, "destination", f"{config.destination.client_id}-{config.name}", gate)
    try:
        await _run_parts(config, metrics, source, dest, stop, gate)
    finally:
        await source.close()
        await dest.close()


async def _run_parts(config: LinkConfig, metrics: MirrorMetrics, source: Client, dest: Client,
                     stop: asyncio.Event, gate: WriteGate | None = None) -> None:
    engine = MirrorEngine(config.name, config.mirror, config.topics, source, dest, metrics)
    # A group member's mirror produces pass its lease's gate; the state topic's writes do not (the
    # leader's singleton writes check the lease themselves, and any member records its mirror ids).
    lifecycle = LifecycleController(engine, config, source, dest if gate is None else None)
    member: GroupMember | None = None
    group_client: Client | None = None
    if config.group is not None and gate is not None:
        # Its own connection to the coordinator: heartbeats never queue behind produce data.
        group_client = connect(config.destination, "destination",
                               f"{config.destination.client_id}-{config.name}-group")
        member = GroupMember(engine, config.group, GroupClient(group_client, config.group.group_id, PROTOCOL_TYPE),
                             gate, lifecycle.pinned_topics, lifecycle.on_assignment)
        lifecycle.group = member
        metrics.registry.const_labels["member"] = member.instance
        log.info("link %s: member %s of group %s (session %d ms, lease %d ms)", config.name, member.instance,
                 config.group.group_id, config.group.session_timeout_ms, config.group.lease_ms)
    try:
        await _run_member_parts(config, metrics, engine, lifecycle, member, stop)
    finally:
        if member is not None:
            await member.leave()   # after the engine drained: the others rebalance at once
        if group_client is not None:
            await group_client.close()


async def _run_member_parts(config: LinkConfig, metrics: MirrorMetrics, engine: MirrorEngine,
                            lifecycle: LifecycleController, member: GroupMember | None, stop: asyncio.Event) -> None:
    server = None
    if config.metrics.port is not None:
        server = MetricsServer(metrics, lifecycle.status_doc, config.metrics.host, config.metrics.port)
        await server.start()
        log.info("metrics and status on http://%s:%d/", config.metrics.host, server.port)
    try:
        # The state topic lives on the destination: wait (backing off) while it is not reachable.
        if not await _unless_stopped(until_ready("destination state topic", lifecycle.prepare, engine.wait), stop):
            return
        lifecycle_task = asyncio.create_task(lifecycle.run(stop))
        member_stop = asyncio.Event()
        member_task = asyncio.create_task(member.run(member_stop)) if member is not None else None
        try:
            await engine.run(stop)
        finally:
            stop.set()
            member_stop.set()   # heartbeats go on while the engine drains (the lease covers the drain)
            await lifecycle_task
            if member_task is not None:
                await member_task
    finally:
        if server is not None:
            await server.close()
    if lifecycle.fenced:   # a newer owner took the link: exit 1, saying who
        raise RuntimeError(lifecycle.fenced)


async def _unless_stopped(work: Awaitable[None], stop: asyncio.Event) -> bool:
    """Await ``work`` unless ``stop`` is set first (then cancel it); True when it finished."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, stopped], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return False
    task.result()
    return True


def run_until_stopped(config: LinkConfig) -> int:
    """The `linker run` command: exit 0 after a drained stop, 1 (with the reason logged) on failure."""

    async def main_async() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_link(config, stop)

    try:
        asyncio.run(main_async())
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a start-up failure: say what, not a traceback
        log.error("linker run failed: %s", exc)
        return 1
    return 0
