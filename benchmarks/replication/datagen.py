"""Source data: 1 KiB text-like records, produced raw (kproto batch builder
over linker.client) so writing gigabytes takes seconds, not minutes.

A pool of distinct batches is built once per workload and produced in a cycle:
building and compressing every batch of a 1 GiB topic in Python would take
longer than replicating it. Values are words from a fixed vocabulary, so they
compress about as well as ordinary JSON or log lines (lz4 ~2x, zstd ~3x).
"""
from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence

from kproto.errors import ErrorCode
from kproto.records.builder import NewRecord, build_batch
from kproto.records.layout import Codec
from linker.client import Client
from linker.client.kafka_errors import error_name
from linker.config import ClusterSettings
from linker.connect import connect

from benchmarks.replication.workloads import Workload

CODEC = {"none": Codec.NONE, "lz4": Codec.LZ4, "zstd": Codec.ZSTD, "gzip": Codec.GZIP}
POOL_BATCHES = 32
IN_FLIGHT_REQUESTS = 4


def record_values(count: int, size: int, seed: int = 9) -> list[bytes]:
    """``count`` distinct values of exactly ``size`` bytes, text-like."""
    rnd = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rnd.choice(letters) for _ in range(rnd.randint(3, 10))) for _ in range(2000)]
    out = []
    for i in range(count):
        words = [f'{{"id":{i},"text":"']
        n = len(words[0])
        while n < size:
            w = rnd.choice(vocab)
            words.append(w + " ")
            n += len(w) + 1
        out.append("".join(words).encode()[: size - 2] + b'"}')
    return out


def batch_pool(w: Workload, timestamp_ms: int | None = None) -> list[bytes]:
    """POOL_BATCHES distinct v2 batches of ``w.batch_records`` records, compressed with ``w.codec``."""
    values = record_values(POOL_BATCHES * w.batch_records, w.record_bytes)
    ts = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    return [build_batch([NewRecord(v, key=b"k%d" % (j % 97)) for j, v in
                         enumerate(values[i * w.batch_records:(i + 1) * w.batch_records])],
                        codec=CODEC[w.codec], base_timestamp=ts)
            for i in range(POOL_BATCHES)]


def batches_per_partition(w: Workload) -> int:
    """How many batches each partition gets so the topic holds at least ``w.records`` records."""
    per_partition = -(-w.records // w.partitions)
    return max(1, -(-per_partition // w.batch_records))


def cluster_settings(bootstrap: str) -> ClusterSettings:
    # A loaded 2-core machine can hold a 4 MiB produce for many seconds: be patient rather than fail.
    return ClusterSettings(bootstrap_servers=tuple(bootstrap.split(",")), request_timeout_ms=120_000)


#: Errors of a topic created a moment ago whose leaders are not in place yet.
RETRIABLE = {ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.LEADER_NOT_AVAILABLE,
             ErrorCode.NOT_LEADER_OR_FOLLOWER}


def _failed(topic: str, partition: int, part) -> RuntimeError:
    return RuntimeError(f"produce to {topic}-{partition} failed: {error_name(part.error_code)} "
                        f"{part.error_message or ''}")


async def _send_retrying(client: Client, node: int, topic: str, parts: Sequence[int],
                         batches: Sequence[bytes], attempts: int = 40) -> None:
    """Send; resend only the partitions that got a just-created topic's leader errors."""
    todo = {(topic, p): b for p, b in zip(parts, batches)}
    for attempt in range(attempts):
        answer = await client.produce(node, todo, timeout_ms=60_000)
        again = {}
        for tp, part in (answer or {}).items():
            if part.error_code in RETRIABLE and attempt < attempts - 1:
                again[tp] = todo[tp]
            elif part.error_code:
                raise _failed(topic, tp[1], part)
        if not again:
            return
        todo = again
        await asyncio.sleep(0.25)


async def _write_bulk(bootstrap: str, topic: str, w: Workload, pool: list[bytes]) -> int:
    client = connect(cluster_settings(bootstrap), "bench-source", "bench-writer")
    try:
        await client.refresh_metadata([topic])
        groups = await client.leaders([(topic, p) for p in range(w.partitions)])
        rounds = batches_per_partition(w)
        slots = asyncio.Semaphore(IN_FLIGHT_REQUESTS)

        async def one(node: int, parts: list[int], r: int) -> None:
            try:
                batches = [pool[(r * 7 + p) % len(pool)] for p in parts]
                await _send_retrying(client, node, topic, parts, batches)
            finally:
                slots.release()

        tasks = []
        for node, tps in groups.items():
            parts = [p for _, p in tps]
            for r in range(rounds):
                await slots.acquire()
                tasks.append(asyncio.create_task(one(node, parts, r)))
                if len(tasks) > 64:
                    done = [t for t in tasks if t.done()]
                    for t in done:
                        t.result()
                    tasks = [t for t in tasks if not t.done()]
        await asyncio.gather(*tasks)
        return rounds * w.partitions * w.batch_records
    finally:
        await client.close()


def write_bulk(bootstrap: str, topic: str, w: Workload) -> int:
    """Write the throughput workload ``w`` into ``topic``; returns the record count written."""
    return asyncio.run(_write_bulk(bootstrap, topic, w, batch_pool(w)))


async def write_at_rate(bootstrap: str, topic: str, w: Workload, seconds: float, tick_s: float = 0.02) -> int:
    """Produce ``w.rate_bytes`` per second for ``seconds``; every batch is stamped (CreateTime)
    the moment it is built, which is within a millisecond of its source append.
    Returns the number of records written."""
    values = record_values(4096, w.record_bytes, seed=11)
    per_tick = w.rate_bytes / w.record_bytes * tick_s
    client = connect(cluster_settings(bootstrap), "bench-source", "bench-rate-writer")
    written, owed, vi = 0, 0.0, 0
    pending: set[asyncio.Task[None]] = set()
    try:
        await client.refresh_metadata([topic])
        groups = await client.leaders([(topic, p) for p in range(w.partitions)])
        (node, tps), = groups.items()

        async def send(parts: list[int], batches: list[bytes]) -> None:
            answer = await client.produce(node, {(topic, p): b for p, b in zip(parts, batches)},
                                          acks=1, timeout_ms=60_000)
            for (_, p), part in (answer or {}).items():
                if part.error_code:
                    raise _failed(topic, p, part)

        start = time.monotonic()
        tick = 0
        while time.monotonic() - start < seconds:
            owed += per_tick
            n = int(owed)
            owed -= n
            if n:
                now = int(time.time() * 1000)
                parts, batches = [], []
                per_part = [n // w.partitions + (1 if i < n % w.partitions else 0) for i in range(w.partitions)]
                for p, k in enumerate(per_part):
                    if not k:
                        continue
                    recs = [NewRecord(values[(vi + j) % len(values)]) for j in range(k)]
                    vi += k
                    parts.append(p)
                    batches.append(build_batch(recs, codec=CODEC[w.codec], base_timestamp=now))
                t = asyncio.create_task(send(parts, batches))
                pending.add(t)
                t.add_done_callback(pending.discard)
                written += n
            tick += 1
            delay = start + tick * tick_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        for t in list(pending):
            await t
        return written
    finally:
        await client.close()
