"""The link's state topic on the destination: one partition, compacted.

Small and rarely written (state changes, a heartbeat and progress every
poll), so it is read from the log start once and then incrementally: the latest value of
each key is the state. Compaction keeps it small over time.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from kproto import messages
from kproto.records.batch import BatchView
from kproto.records.builder import NewRecord, build_batch
from kproto.records.decode import iter_records
from kproto.records.walk import walk_batches
from linker.client.kafka_errors import STALE_METADATA_CODES, error_name
from linker.mirror.kafka_io import EARLIEST, LATEST, ClusterIO, PartitionError

log = logging.getLogger("linker.lifecycle")

TOPIC_ALREADY_EXISTS = 36
STATE_CONFIGS = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0",
                 "segment.ms": "600000", "compression.type": "producer"}


class StateStoreError(RuntimeError):
    """The state topic cannot be created, read or written."""


class StateStore:
    def __init__(self, dest: ClusterIO, topic: str, replication_factor: int = -1) -> None:
        self.dest, self.topic, self.rf = dest, topic, replication_factor
        self.tp = (topic, 0)
        self._latest: dict[bytes, bytes | None] = {}
        self._next = 0   # read incrementally: the state topic is read every poll

    async def ensure(self) -> None:
        """Create the state topic if it does not exist and wait for its leader."""
        snap = await self.dest.refresh([self.topic])
        info = snap.topics.get(self.topic)
        if info is None or info.error_code:
            res = await self.dest.create_topics([(self.topic, 1, self.rf, dict(STATE_CONFIGS))])
            code, msg = res.get(self.topic, (0, None))
            if code and code != TOPIC_ALREADY_EXISTS:
                raise StateStoreError(f"cannot create state topic {self.topic}: {error_name(code)} {msg or ''}")
            if not code:
                log.info("created state topic %s", self.topic)
        for _ in range(100):
            snap = await self.dest.refresh([self.topic])
            info = snap.topics.get(self.topic)
            if info is not None and not info.error_code and info.partitions and \
                    all(p.leader >= 0 for p in info.partitions.values()):
                return
            await asyncio.sleep(0.1)
        raise StateStoreError(f"state topic {self.topic} has no leader")

    async def write(self, items: list[tuple[bytes, bytes | None]]) -> None:
        """Append key/value records in one batch (acks=all); None is a tombstone."""
        if not items:
            return
        raw = build_batch([NewRecord(v, key=k) for k, v in items])
        P = messages.ProduceRequest
        code = 0
        for attempt in range(8):
            node = next(iter(await self.dest.by_leader([self.tp])))
            conn = await self.dest.connection(node)
            resp = await conn.request(P(acks=-1, timeout_ms=30_000, transactional_id=None, topic_data=[
                P.TopicProduceData(name=self.topic, partition_data=[
                    P.PartitionProduceData(index=0, records=raw)])]))
            code = resp.responses[0].partition_responses[0].error_code
            if code == 0:
                return
            if code not in STALE_METADATA_CODES and code not in (7, 19, 20):
                break
            await asyncio.sleep(0.1 * 2 ** attempt)
            await self.dest.refresh([self.topic])
        raise StateStoreError(f"writing to state topic {self.topic} failed: {error_name(code)}")

    async def read_all(self) -> dict[bytes, bytes]:
        """The latest value of every key (tombstoned keys left out)."""
        start = (await self.dest.list_offsets([self.tp], EARLIEST))[self.tp]
        end = (await self.dest.list_offsets([self.tp], LATEST))[self.tp]
        if end < self._next:   # the topic was recreated: start over
            self._latest, self._next = {}, 0
        latest = self._latest
        offset = max(start, self._next)
        while offset < end:
            p: Any = await self.dest.fetch_once(self.tp, offset, 1 << 20)
            if p.error_code:
                raise PartitionError(self.tp, p.error_code, "Fetch")
            moved = False
            for b in walk_batches(p.records or b""):
                if type(b) is not BatchView or b.next_offset <= offset:
                    continue
                if not (b.attributes & 0x20):   # control batches hold no state
                    for r in iter_records(b):
                        if r.key is not None:
                            latest[bytes(r.key)] = None if r.value is None else bytes(r.value)
                offset = b.next_offset
                moved = True
            if not moved:
                break
        self._next = offset
        return {k: v for k, v in latest.items() if v is not None}
