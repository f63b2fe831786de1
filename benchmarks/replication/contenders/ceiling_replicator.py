"""The broker ceiling: source batches already in memory, produced raw.

Phase 1 reads every batch of the source topic into memory and prints
``READY``. Phase 2 starts on SIGUSR1 (so the harness times only phase 2): each request carries
one batch per partition (the next one of each), up to ``IN_FLIGHT`` requests
pipelined on the leader's connection. No replicator that writes through the
produce API can do less work per byte, so this is the destination's ceiling.
With IN_FLIGHT 1 it is the ceiling of a replicator that keeps one batch per
partition in flight (the exact mirror's rule for batches it may not pipeline).

    python -m benchmarks.replication.contenders.ceiling_replicator SRC DST TOPIC DEST_TOPIC PARTITIONS [IN_FLIGHT]
"""
from __future__ import annotations

import asyncio
import signal
import sys

from kproto.records.batch import BatchView
from kproto.records.forward import produce_chunks
from kproto.records.walk import walk_batches
from linker.client import LATEST_TIMESTAMP
from linker.client.kafka_errors import error_name
from linker.settings import ClusterSettings
from linker.connect import connect

IN_FLIGHT = 8
FETCH_BYTES = 8 * 1024 * 1024


def _settings(bootstrap: str) -> ClusterSettings:
    return ClusterSettings(bootstrap_servers=tuple(bootstrap.split(",")))


async def load(src: str, topic: str, partitions: int) -> dict[int, list[list]]:
    """Every batch of ``topic``, per partition, as produce-ready chunks."""
    client = connect(_settings(src), "source", "ceiling-loader")
    try:
        tps = [(topic, p) for p in range(partitions)]
        ends = await client.offsets(tps, LATEST_TIMESTAMP)
        out: dict[int, list[list]] = {}
        for tp in tps:
            chunks, offset = [], 0
            while offset < ends[tp]:
                resp = await client.fetch_partition(tp, offset, FETCH_BYTES)
                if resp.error_code:
                    raise RuntimeError(f"fetch {tp} at {offset}: {error_name(resp.error_code)}")
                before = offset
                for b in walk_batches(resp.records):
                    if type(b) is not BatchView or b.next_offset <= offset:
                        continue
                    chunks.append(list(produce_chunks(b)))
                    offset = b.next_offset
                if offset == before:
                    raise RuntimeError(f"fetch {tp} at {offset}: no progress")
            out[tp[1]] = chunks
        return out
    finally:
        await client.close()


async def produce_all(dst: str, dest_topic: str, batches: dict[int, list[list]], in_flight: int = IN_FLIGHT) -> None:
    client = connect(_settings(dst), "destination", "ceiling-producer")
    try:
        groups = await client.leaders([(dest_topic, p) for p in batches])
        slots = asyncio.Semaphore(in_flight)

        async def send(node: int, parts: list[tuple[int, list]]) -> None:
            try:
                answer = await client.produce(node, {(dest_topic, p): c for p, c in parts}, timeout_ms=60_000)
                for (_, p), pr in (answer or {}).items():
                    if pr.error_code:
                        raise RuntimeError(f"produce {dest_topic}-{p}: {error_name(pr.error_code)}")
            finally:
                slots.release()

        tasks = []
        for node, tps in groups.items():
            parts = [p for _, p in tps]
            rounds = max(len(batches[p]) for p in parts)
            for r in range(rounds):
                req = [(p, batches[p][r]) for p in parts if r < len(batches[p])]
                await slots.acquire()
                tasks.append(asyncio.create_task(send(node, req)))
        await asyncio.gather(*tasks)
    finally:
        await client.close()


def main(argv: list[str]) -> None:
    src, dst, topic, dest_topic, partitions, *rest = argv
    in_flight = int(rest[0]) if rest else IN_FLIGHT
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    batches = asyncio.run(load(src, topic, int(partitions)))
    n = sum(len(v) for v in batches.values())
    print(f"READY {n}", flush=True)
    signal.sigwait({signal.SIGUSR1})
    asyncio.run(produce_all(dst, dest_topic, batches, in_flight))
    print("DONE", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
