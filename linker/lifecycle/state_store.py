"""The link's state topic on the destination: one partition, compacted.

Small and rarely written (state changes, the owner's beat and progress every
poll), so it is read from the log start once and then incrementally: the latest value of
each key is the state, except that states never go backwards (``records.supersedes``: STOPPED
is final, the owner epoch only grows). Compaction keeps it small over time.

Writes are idempotent: each store is an idempotent producer (InitProducerId, epoch, sequence
numbers), so a batch retried after a timeout lands at most once and never after a later batch
of the same store. A write that fails for good drops the producer id; the next write starts a new one.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from kproto.errors import ErrorCode
from kproto.records.batch import BatchView
from kproto.records.builder import NewRecord, build_batch
from kproto.records.decode import iter_records
from kproto.records.walk import walk_batches
from linker.client import (EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, STALE_METADATA_CODES, Admin, Client,
                           ClientError, KafkaError, NewTopic, ProducerIdAndEpoch)
from linker.client.kafka_errors import error_name, raise_for_code

from linker.lifecycle.records import supersedes

log = logging.getLogger("linker.lifecycle")

# Worth another produce: a leader move, or too few in-sync replicas for a moment.
RETRY_PRODUCE_CODES = STALE_METADATA_CODES | {
    ErrorCode.REQUEST_TIMED_OUT, ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND}
STATE_CONFIGS = {"cleanup.policy": "compact", "min.compaction.lag.ms": "0",
                 "segment.ms": "600000", "compression.type": "producer"}


class StateStoreError(RuntimeError):
    """The state topic cannot be created, read or written."""


class StateStore:
    def __init__(self, dest: Client, topic: str, replication_factor: int = -1) -> None:
        self.dest, self.topic, self.rf = dest, topic, replication_factor
        self.tp = (topic, 0)
        self._latest: dict[bytes, bytes | None] = {}
        self._next = 0   # read incrementally: the state topic is read every poll
        self._producer: ProducerIdAndEpoch | None = None
        self._seq = 0
        # One write at a time: two batches built with the same sequence would be refused
        # (OUT_OF_ORDER_SEQUENCE_NUMBER); the poll, the create hook and a scale-out leader's records race.
        self._writing = asyncio.Lock()
        # keys whose latest record tried to go backwards (ignored); the owner may re-assert them
        self.regressed: dict[bytes, str] = {}

    async def ensure(self) -> None:
        """Create the state topic if it does not exist and wait for its leader."""
        snap = await self.dest.refresh_metadata([self.topic])
        info = snap.topics.get(self.topic)
        if info is None or info.error_code:
            try:
                created = await Admin(self.dest).create_topics(
                    [NewTopic(self.topic, 1, self.rf, dict(STATE_CONFIGS))], exist_ok=True)
            except KafkaError as exc:
                raise StateStoreError(f"cannot create state topic {self.topic}: {exc.name} "
                                      f"{exc.message or ''}") from exc
            if created.get(self.topic) is not None:
                log.info("created state topic %s", self.topic)
        for _ in range(100):
            snap = await self.dest.refresh_metadata([self.topic])
            info = snap.topics.get(self.topic)
            if info is not None and not info.error_code and info.partitions and \
                    all(p.leader >= 0 for p in info.partitions.values()):
                return
            await asyncio.sleep(0.1)
        raise StateStoreError(f"state topic {self.topic} has no leader")

    async def write(self, items: list[tuple[bytes, bytes | None]]) -> None:
        """Append key/value records in one batch (acks=all, idempotent); None is a tombstone."""
        if not items:
            return
        async with self._writing:
            await self._write(items)

    async def _write(self, items: list[tuple[bytes, bytes | None]]) -> None:
        if self._producer is None:
            try:
                self._producer = await Admin(self.dest).init_producer_id()
            except ClientError as exc:
                raise StateStoreError(f"writing to state topic {self.topic}: no producer id ({exc})") from exc
            self._seq = 0
        pid = self._producer
        raw = build_batch([NewRecord(v, key=k) for k, v in items], producer_id=pid.producer_id,
                          producer_epoch=pid.producer_epoch, base_sequence=self._seq)
        why = ""
        for attempt in range(8):
            try:   # the same bytes, the same sequence: the broker keeps one copy whatever lands
                answer = await self.dest.produce(await self.dest.leader_for(*self.tp), {self.tp: raw})
            except ClientError as exc:
                why = str(exc)
            else:
                code = answer[self.tp].error_code if answer else 0
                if code in (ErrorCode.NONE, ErrorCode.DUPLICATE_SEQUENCE_NUMBER):
                    self._seq = (self._seq + len(items)) % (1 << 31)
                    return
                why = error_name(code)
                if code not in RETRY_PRODUCE_CODES:
                    break
            await asyncio.sleep(0.1 * 2 ** attempt)
            try:
                await self.dest.refresh_metadata([self.topic])
            except ClientError:
                pass
        # Unknown whether it landed: a new producer id, so a later batch never reuses this sequence.
        self._producer = None
        raise StateStoreError(f"writing to state topic {self.topic} failed: {why}")

    async def read_all(self) -> dict[bytes, bytes]:
        """The latest value of every key (tombstoned keys left out)."""
        start = (await self.dest.offsets([self.tp], EARLIEST_TIMESTAMP))[self.tp]
        end = (await self.dest.offsets([self.tp], LATEST_TIMESTAMP))[self.tp]
        if end < self._next:   # the topic was recreated: start over
            self._latest, self._next = {}, 0
            self.regressed.clear()
        latest = self._latest
        offset = max(start, self._next)
        while offset < end:
            p: Any = await self.dest.fetch_partition(self.tp, offset, 1 << 20)
            raise_for_code(p.error_code, tp=self.tp, api="Fetch")
            moved = False
            for b in walk_batches(p.records or b""):
                if type(b) is not BatchView or b.next_offset <= offset:
                    continue
                if not b.is_control:   # control batches hold no state
                    for r in iter_records(b):
                        if r.key is not None:
                            self._apply(latest, bytes(r.key), None if r.value is None else bytes(r.value))
                offset = b.next_offset
                moved = True
            if not moved:
                break
        self._next = offset
        return {k: v for k, v in latest.items() if v is not None}

    def _apply(self, latest: dict[bytes, bytes | None], key: bytes, value: bytes | None) -> None:
        why = supersedes(key, latest.get(key), value)
        if why is None:
            latest[key] = value
            self.regressed.pop(key, None)
            return
        if self.regressed.get(key) != why:
            log.warning("state topic %s: %s", self.topic, why)
        self.regressed[key] = why
