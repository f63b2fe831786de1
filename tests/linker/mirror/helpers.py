"""Helpers for engine tests: link configs over kafkabed clusters, running the
engine in-process until the destination has caught up."""
from __future__ import annotations

import asyncio
import time
from typing import Any

from kproto.records.builder import build_batch
from linker.settings import LinkConfig, parse_config
from linker.mirror.table import PartitionTable
from linker.mirror.engine import MirrorEngine
from linker.client import LATEST_TIMESTAMP, Client, ClientConfig
from linker.connect import connect

from ..background import BackgroundLoop


def link_config(source: Any, destination: Any, names: list[str] | None = None,
                include: list[str] | None = None, prefix: str = "", **mirror: Any) -> LinkConfig:
    topics: dict[str, Any] = {"prefix": prefix} if prefix else {}
    if names:
        topics["names"] = names
    if include:
        topics["include"] = include
    return parse_config({
        "name": "test",
        "source": {"bootstrap_servers": source.bootstrap.split(",")},
        "destination": {"bootstrap_servers": destination.bootstrap.split(",")},
        "topics": topics,
        "mirror": {"fetch_max_wait_ms": 100, "metadata_refresh_ms": 2000, **mirror},
    })


def engine_for(config: LinkConfig, metrics: Any = None) -> MirrorEngine:
    """An engine over fresh clients for ``config`` (as `linker run` wires it); ``run_engine`` closes them."""
    source = connect(config.source, "source", f"{config.source.client_id}-{config.name}")
    dest = connect(config.destination, "destination", f"{config.destination.client_id}-{config.name}")
    return MirrorEngine(config.name, config.mirror, config.topics, source, dest, metrics)


async def run_engine(engine: MirrorEngine, stop: asyncio.Event) -> None:
    """``engine.run(stop)``, then close the clients it was given."""
    try:
        await engine.run(stop)
    finally:
        await engine.source.close()
        await engine.dest.close()


async def run_until(engine: MirrorEngine, done, timeout: float = 60.0) -> None:
    """Run the engine until ``done(engine)`` (awaitable predicate) holds, then stop it."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_engine(engine, stop))
    deadline = time.monotonic() + timeout
    try:
        await asyncio.wait_for(engine.started.wait(), timeout)
        while True:
            if task.done():
                task.result()
                raise AssertionError("engine stopped on its own")
            if await done(engine):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not done within {timeout}s: {engine.status_doc()}")
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def caught_up(expected: dict[tuple[str, int], int] | None = None):
    """Predicate: every non-terminal partition's acknowledged end equals the source high watermark."""
    async def check(engine: MirrorEngine) -> bool:
        pms = [pm for pm in engine.partitions.values()]
        if not pms:
            return False
        hw = await engine.source.offsets([pm.tp for pm in pms], LATEST_TIMESTAMP)
        for pm in pms:
            if pm.status.state.value in ("BLOCKED", "FAILED", "DIVERGED"):
                continue
            if pm.status.state.value != "MIRRORING" or pm.acked_end != hw[pm.tp]:
                return False
            if expected is not None and hw[pm.tp] < expected.get(pm.tp, 0):
                return False
        return True
    return check


class BackgroundEngine(BackgroundLoop):
    """An engine running in its own thread and event loop, so a test can kill brokers
    and produce with blocking clients meanwhile."""

    def __init__(self, engine: MirrorEngine) -> None:
        super().__init__()
        self.engine = engine

    async def main(self, stop: asyncio.Event) -> None:
        self.ready()
        await run_engine(self.engine, stop)

    def wait_caught_up(self, cluster_settings, total: int, timeout: float = 120.0) -> None:
        """Until the engine's acknowledged ends sum to ``total`` with every partition MIRRORING."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pms = list(self.engine.partitions.values())
            bad = [pm for pm in pms if pm.status.state.value in ("FAILED", "DIVERGED", "BLOCKED")]
            assert not bad, self.engine.status_doc()
            if pms and sum(pm.acked_end for pm in pms) >= total:
                return
            if not self._thread.is_alive():
                raise AssertionError(f"engine thread ended: {self.error!r}")
            time.sleep(0.2)
        raise AssertionError(f"not caught up to {total} within {timeout}s: {self.engine.status_doc()}")


#: What a mirror topic needs to hold source batches exactly (for topics a test creates itself).
MIRROR_TOPIC_CONFIGS = {"compression.type": "producer", "message.timestamp.type": "CreateTime"}


async def write_batches(bootstrap: str, tp: tuple[str, int], raws: list[bytes], acks: int = -1) -> None:
    """Produce ready-made batches in order, the same bytes to whichever cluster (retried while
    a new topic's leader settles)."""
    async with Client(bootstrap, ClientConfig(request_timeout=5)) as io:
        for raw in raws:
            for _ in range(50):
                node = await io.leader_for(*tp)
                code = (await io.produce(node, {tp: raw}, acks=acks, timeout_ms=4000))[tp].error_code
                if code == 0:
                    break
                await asyncio.sleep(0.2)
                await io.refresh_metadata([tp[0]])
            assert code == 0, code


#: Pipelining tests: one idempotent producer's batches (``idempotent_batches``).
PRODUCER_ID = 4242
BATCHES = 60
RECORDS = 5


def idempotent_batches(count: int = BATCHES) -> list[bytes]:
    """One idempotent producer's batches, contiguous sequences from 0."""
    return [build_batch([b"r%d-%d" % (i, j) for j in range(RECORDS)], producer_id=PRODUCER_ID,
                        producer_epoch=0, base_sequence=i * RECORDS) for i in range(count)]


def deepest_flight(monkeypatch) -> list[int]:
    """Record the deepest run in flight the table ever held."""
    deepest = [0]
    start = PartitionTable.start_produce

    def tracking(self, pm):
        b = start(self, pm)
        deepest[0] = max(deepest[0], len(pm.flight))
        return b
    monkeypatch.setattr(PartitionTable, "start_produce", tracking)
    return deepest
