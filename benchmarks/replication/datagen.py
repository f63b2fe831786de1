"""Source data: 1 KiB text-like records, produced raw (kproto batch builder
over linker.client) so writing gigabytes takes seconds, not minutes.

A pool of distinct batches is built once per workload and produced in a cycle:
building and compressing every batch of a 1 GiB topic in Python would take
longer than replicating it. Values are words from a fixed vocabulary, so they
compress about as well as ordinary JSON or log lines (lz4 ~2x, zstd ~3x).

Compacted workloads (``compacted_batches``) are built batch by batch instead:
their keys must follow a plan over the whole topic, and they are small.
"""
from __future__ import annotations

import asyncio
import bisect
import random
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kproto.errors import ErrorCode
from kproto.records.batch import BatchView
from kproto.records.builder import NewRecord, build_batch
from kproto.records.walk import walk_batches
from kproto.records.crc import crc32c
from kproto.records.layout import ATTRIBUTES_POS, CRC, CRC_POS, Codec
from linker.client import Client
from linker.client.kafka_errors import error_name
from linker.settings import ClusterSettings
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


async def _write_rounds(bootstrap: str, topic: str, partitions: Sequence[int], rounds: int,
                        batch_for: Callable[[int, int], bytes | None], in_flight: int = IN_FLIGHT_REQUESTS) -> None:
    """Produce round after round, one request per leader holding ``batch_for(p, r)`` of each of
    its partitions that has a batch in round ``r`` (None: none), ``in_flight`` at a time."""
    client = connect(cluster_settings(bootstrap), "bench-source", "bench-writer")
    try:
        await client.refresh_metadata([topic])
        groups = await client.leaders([(topic, p) for p in partitions])
        slots = asyncio.Semaphore(in_flight)

        async def one(node: int, parts: list[int], batches: list[bytes]) -> None:
            try:
                await _send_retrying(client, node, topic, parts, batches)
            finally:
                slots.release()

        tasks: list[asyncio.Task[None]] = []
        for r in range(rounds):
            for node, tps in groups.items():
                sent = [(p, b) for _, p in tps if (b := batch_for(p, r)) is not None]
                if not sent:
                    continue
                await slots.acquire()
                tasks.append(asyncio.create_task(one(node, [p for p, _ in sent], [b for _, b in sent])))
                if len(tasks) > 64:
                    for t in tasks:
                        if t.done():
                            t.result()   # a failed request ends the write at once
                    tasks = [t for t in tasks if not t.done()]
        await asyncio.gather(*tasks)
    finally:
        await client.close()


#: producerId (int64), producerEpoch (int16), baseSequence (int32), at byte 43 of a v2 batch.
IDEMPOTENCE = struct.Struct(">qhi")
PRODUCER_ID_POS = 43
#: Producer ids of idempotent workloads: partition p is written by producer IDEMPOTENT_PID + p.
IDEMPOTENT_PID = 7000


def stamp_idempotent(batch: bytes, producer_id: int, base_sequence: int) -> bytes:
    """``batch`` as written by idempotent producer ``producer_id`` (epoch 0) from ``base_sequence``."""
    out = bytearray(batch)
    IDEMPOTENCE.pack_into(out, PRODUCER_ID_POS, producer_id, 0, base_sequence)
    CRC.pack_into(out, CRC_POS, crc32c(memoryview(out)[ATTRIBUTES_POS:]))
    return bytes(out)


async def _write_bulk(bootstrap: str, topic: str, w: Workload, pool: list[bytes]) -> int:
    rounds = batches_per_partition(w)
    if w.idempotent:
        # One request at a time: requests in flight over the client's two connections could
        # reach the broker out of order, which it refuses for one producer's sequences.
        await _write_rounds(bootstrap, topic, range(w.partitions), rounds,
                            lambda p, r: stamp_idempotent(pool[(r * 7 + p) % len(pool)], IDEMPOTENT_PID + p,
                                                          r * w.batch_records), in_flight=1)
    else:
        await _write_rounds(bootstrap, topic, range(w.partitions), rounds,
                            lambda p, r: pool[(r * 7 + p) % len(pool)])
    return rounds * w.partitions * w.batch_records


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


# -- compacted workloads ---------------------------------------------------------------
#: Keys written around the same place in a partition: record i of n draws its key from
#: KEY_WINDOW consecutive keys starting at i*keys/n, so each key is updated in a burst and then
#: left alone (an entity changing for a while, then settling), and the records the cleaner keeps
#: (each key's last) are spread evenly over the whole partition instead of bunched at its end.
KEY_WINDOW = 16


def partition_keys(w: Workload, p: int) -> int:
    """How many of ``w.keys`` belong to partition ``p`` (each key lives in one partition)."""
    return w.keys // w.partitions + (1 if p < w.keys % w.partitions else 0)


def partition_records(w: Workload, p: int) -> int:
    return w.records // w.partitions + (1 if p < w.records % w.partitions else 0)


def compacted_key(w: Workload, p: int, local: int) -> bytes:
    return b"key-%07d" % (local * w.partitions + p)


def compacted_batches(w: Workload, seed: int = 15) -> tuple[dict[int, list[bytes]], dict[int, int]]:
    """The batches of a compacted workload per partition, and the distinct keys each holds.

    ``w.records`` records of ``w.record_bytes`` over ``w.keys`` keys (a key belongs to one
    partition), ``w.batch_records`` records per batch, codec ``w.codec``; see KEY_WINDOW."""
    values = record_values(4096, w.record_bytes, seed=seed)
    rnd = random.Random(seed)
    ts = int(time.time() * 1000)
    out: dict[int, list[bytes]] = {}
    distinct: dict[int, int] = {}
    vi = 0
    for p in range(w.partitions):
        n, kp = partition_records(w, p), partition_keys(w, p)
        seen: set[int] = set()
        batches = []
        for first in range(0, n, w.batch_records):
            recs = []
            for i in range(first, min(n, first + w.batch_records)):
                local = (i * kp // n + rnd.randrange(min(KEY_WINDOW, kp))) % kp
                seen.add(local)
                recs.append(NewRecord(values[vi % len(values)], key=compacted_key(w, p, local)))
                vi += 1
            batches.append(build_batch(recs, codec=CODEC[w.codec], base_timestamp=ts))
        out[p] = batches
        distinct[p] = len(seen)
    return out, distinct


async def write_batches(bootstrap: str, topic: str, per_partition: dict[int, list[bytes]]) -> int:
    """Produce each partition's batches in order; returns the record count written."""
    await _write_rounds(bootstrap, topic, list(per_partition), max(len(b) for b in per_partition.values()),
                        lambda p, r: per_partition[p][r] if r < len(per_partition[p]) else None)
    return sum(BatchView(b).record_count for bs in per_partition.values() for b in bs)


@dataclass
class PartitionLayout:
    """Where a cleaned partition's records are: per batch, its next offset and the
    records retained up to and including it (batches in offset order)."""

    bases: list[int] = field(default_factory=list)
    nexts: list[int] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)   # cumulative record counts

    @property
    def retained(self) -> int:
        return self.counts[-1] if self.counts else 0

    @property
    def end(self) -> int:
        return self.nexts[-1] if self.nexts else 0

    def retained_below(self, offset: int) -> float:
        """Records the source holds below ``offset`` (a partly covered batch: pro rata)."""
        j = bisect.bisect_right(self.nexts, offset)   # batches wholly below offset
        done = self.counts[j - 1] if j else 0
        if j < len(self.bases) and offset > self.bases[j]:
            count = self.counts[j] - done
            done += count * (offset - self.bases[j]) / (self.nexts[j] - self.bases[j])
        return done

    def offset_after(self, records: int) -> float:
        """The source offsets a copy of the first ``records`` retained records covers
        (all of them: the log end; inside a batch: pro rata)."""
        if records >= self.retained:
            return self.end
        j = bisect.bisect_right(self.counts, records)  # the batch holding the next record
        before = self.counts[j - 1] if j else 0
        start = self.nexts[j - 1] if j else 0
        count = self.counts[j] - before
        return start + (self.nexts[j] - start) * (records - before) / count


async def scan_partition(client: Client, topic: str, p: int, end: int, max_bytes: int = 4 * 1024 * 1024
                         ) -> PartitionLayout:
    """Read partition ``p`` of ``topic`` up to ``end`` (batch headers only, nothing decompressed)."""
    out = PartitionLayout()
    offset, total, size = 0, 0, max_bytes
    while offset < end:
        part = await client.fetch_partition((topic, p), offset, size)
        if part.error_code:
            raise RuntimeError(f"fetch {topic}-{p} at {offset}: {error_name(part.error_code)}")
        walk = walk_batches(part.records)
        got = [b for b in walk if isinstance(b, BatchView) and b.next_offset > offset]
        if not got:
            if walk.truncated:
                size *= 4
                continue
            break
        for b in got:
            total += b.record_count
            out.bases.append(b.base_offset)
            out.nexts.append(b.next_offset)
            out.counts.append(total)
        offset = got[-1].next_offset
    return out
