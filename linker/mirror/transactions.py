"""Transactional replay: a source transaction on a partition becomes a destination transaction.

A source transactional batch cannot be stored as it is (the destination checks
that its producer id has an ongoing transaction containing the partition), and
a client cannot produce a marker. So for each source transaction (producer id
P) on a partition the linker runs a destination transaction of its own:

- its data batches are produced with the header re-stamped to the linker's
  destination producer (id, epoch, base sequence), the CRC recomputed over the
  new header and the untouched records bytes (``kproto.records.rewrite_header``);
- at the source marker (COMMIT or ABORT at offset m) the linker ends its
  destination transaction the same way (EndTxn) and waits until the
  destination's marker sits at m, read back and checked (the partition has
  nothing else in flight meanwhile, so the coordinator writes it at the log
  end, which is m).

Transactions stay per partition: a destination transaction never spans
partitions, so the destination cannot write markers in an order the source did
not. Several source transactions interleaved on one partition each get their
own destination transactional id from a per-partition pool owned by the link:
``__linker-<link>-<topic>-<partition>-<n>``, n the lowest free slot.

After a restart (or an ambiguous produce) the open destination transactions
are found from the destination itself (``recover``), not from a checkpoint:
DescribeProducers names the destination producers with an open transaction on
the partition and their last sequence; DescribeTransactions on the pool's ids
gives each id's producer id and epoch; the source batch at the destination
transaction's first offset names the source producer. The open transaction is
then continued with that producer id and epoch (no InitProducerId, which would
abort it at the log end, where the source has no marker).
"""
from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from kproto.errors import ErrorCode
from kproto.records.batch import BatchView
from kproto.records.control import ControlType
from kproto.records.decode import iter_records
from kproto.records.forward import rewrite_header
from kproto.records.walk import walk_batches
from linker.client import Admin, Client, ClientError, ProducerIdAndEpoch
from linker.client.kafka_errors import error_name
from linker.mirror.checks import marker_type, replay_problem  # noqa: F401 (the batch rules live in checks)
from linker.mirror.partition import TP, PartitionMirror
from linker.mirror.replay_ids import ReplayIds, ReplayStats
from linker.mirror.state import Fidelity

log = logging.getLogger("linker.txn")

#: The destination transaction timeout asked for: Kafka's default transaction.max.timeout.ms
#: (15 min), so a replayed transaction outlives a slow or restarting linker as long as allowed.
TRANSACTION_TIMEOUT_MS = 900_000
#: Bytes read from the source to find the producer of an open destination transaction.
SOURCE_PID_FETCH_BYTES = 1024 * 1024
#: How long the destination's marker may take to land after EndTxn.
MARKER_WAIT_S = 30.0
#: Fetch errors that only say the client's view of the partition's leader is old (a destination
#: broker restarted or the leader moved): the destination reads refresh metadata and ask again.
LEADER_MOVED = frozenset({ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.FENCED_LEADER_EPOCH,
                          ErrorCode.UNKNOWN_LEADER_EPOCH, ErrorCode.LEADER_NOT_AVAILABLE})
#: How long those reads keep asking (a restarted broker's metadata catching up, a leader election).
LEADER_SETTLE_S = 15.0


#: Test hook: ``LINKER_TXN_PAUSE_AT=<step>`` makes the first replay that reaches the step log
#: "transactional replay paused at <step>" and wait forever (a test then kills the process).
#: Steps: ``added`` (AddPartitionsToTxn done, batch not produced), ``produced`` (a batch
#: stored, transaction open), ``ended`` (EndTxn answered, marker not read back).
PAUSE_ENV = "LINKER_TXN_PAUSE_AT"


async def _pause_point(step: str) -> None:
    if os.environ.get(PAUSE_ENV) == step:
        os.environ.pop(PAUSE_ENV)
        log.warning("transactional replay paused at %s (test hook %s)", step, PAUSE_ENV)
        await asyncio.Event().wait()


def pool_id(link: str, tp: TP, n: int) -> str:
    """The destination transactional id of slot ``n`` of partition ``tp``'s pool."""
    return f"__linker-{link}-{tp[0]}-{tp[1]}-{n}"


@dataclass
class Slot:
    """One destination transactional id of a partition's pool, and what it replays now."""

    txn_id: str
    producer: ProducerIdAndEpoch
    next_sequence: int = 0
    # The source producer whose open transaction it replays (None: free).
    source_pid: int | None = None
    # The partition was added to the open destination transaction.
    added: bool = False
    # An ambiguous produce: ask the destination for the last sequence before the next batch.
    sequence_unknown: bool = False


@dataclass
class PartitionTxns:
    """A partition's pool: slot n is ``pool_id(link, tp, n)``."""

    slots: dict[int, Slot] = field(default_factory=dict)
    # The slots were read from the destination in this run (``TxnReplayer.recover``); cleared
    # after any ambiguous answer, so the destination is asked again before the next step.
    recovered: bool = False
    # Pool ids whose producer id the partition already holds state for (a mirrored idempotent
    # source producer with the same id): never used for this partition.
    skipped: set[int] = field(default_factory=set)

    def of_source(self, pid: int) -> Slot | None:
        return next((s for s in self.slots.values() if s.source_pid == pid), None)

    def free_index(self) -> int:
        n = 0
        while n in self.skipped or (n in self.slots and self.slots[n].source_pid is not None):
            n += 1
        return n

    @property
    def open(self) -> int:
        return sum(1 for s in self.slots.values() if s.source_pid is not None)


class TxnReplayer:
    """Replays transactional batches and markers of the mirrored partitions (one call per batch,
    one batch in flight per partition, like every produce outside a pipelined idempotent run)."""

    def __init__(self, link: str, dest: Client, admin: Admin, acks: int, timeout_ms: int,
                 source: Client | None = None) -> None:
        self.link = link
        self.source = source
        self.dest = dest
        self.admin = admin
        self.acks = acks
        self.timeout_ms = timeout_ms
        self.pools: dict[TP, PartitionTxns] = {}
        self.stats = ReplayStats()
        self.ids = ReplayIds(source, admin, self.stats)

    def open_transactions(self, tp: TP) -> int:
        pool = self.pools.get(tp)
        return pool.open if pool else 0

    async def abort_open(self, tp: TP, dest_tp: TP, log_end: int) -> int:
        """Abort the partition's open replayed transactions (a topic stopped for good while a
        source transaction was open: failover, stop); returns the log end after their markers.
        Nothing else may be in flight on the partition."""
        pool = self.pools.get(tp)
        if pool is None:
            return log_end
        for slot in sorted(pool.slots.values(), key=lambda s: s.txn_id):
            if not slot.added:
                continue
            log.warning("partition %s-%d: aborting the open replayed transaction of %s (source producer %s): "
                        "the topic is stopped before the source's marker", tp[0], tp[1], slot.txn_id,
                        slot.source_pid)
            slot.producer = await self.admin.end_txn(slot.txn_id, slot.producer, commit=False)
            slot.source_pid, slot.added, slot.next_sequence = None, False, 0
            _, at = await self._marker_at(dest_tp, log_end, ControlType.ABORT)
            if at != log_end:
                raise ReplayMismatch(f"the ABORT marker of {slot.txn_id} landed at {at}, not at the log end {log_end}")
            log_end += 1
        return log_end

    async def replay(self, tp: TP, dest_tp: TP, batch: BatchView) -> tuple[int, int]:
        """Store ``batch`` (transactional data or a marker) on ``dest_tp``; returns
        (error code, base offset) like a produce. Client errors propagate (ambiguous)."""
        pool = self.pools.setdefault(tp, PartitionTxns())
        try:
            if not pool.recovered:
                await self.recover(tp, dest_tp, pool)
                await self._still_at(dest_tp, batch.base_offset)
            if batch.is_control:
                return await self._end(tp, dest_tp, pool, batch)
            return await self._data(tp, dest_tp, pool, batch)
        except ClientError:
            pool.recovered = False
            raise

    async def _data(self, tp: TP, dest_tp: TP, pool: PartitionTxns, batch: BatchView) -> tuple[int, int]:
        slot = pool.of_source(batch.producer_id) or await self._begin(tp, dest_tp, pool, batch.producer_id)
        if not slot.added:
            self.stats.round_trips += 1
            await self.admin.add_partitions_to_txn(slot.txn_id, slot.producer, [dest_tp])
            slot.added = True
            await _pause_point("added")
        if slot.sequence_unknown:
            await self._read_sequence(dest_tp, slot)
        header, payload = rewrite_header(batch, producer_id=slot.producer.producer_id,
                                         producer_epoch=slot.producer.producer_epoch,
                                         base_sequence=slot.next_sequence)
        node = await self.dest.leader_for(*dest_tp)
        self.stats.round_trips += 1
        try:
            answers = await self.dest.produce(node, {dest_tp: [header, payload]}, acks=self.acks,
                                              timeout_ms=self.timeout_ms, transactional_id=slot.txn_id)
        except ClientError:
            slot.sequence_unknown = True
            raise
        p = (answers or {})[dest_tp]
        if p.error_code == 0:
            slot.next_sequence += batch.record_count
            self.stats.batches += 1
            await _pause_point("produced")
        return p.error_code, p.base_offset

    async def recover(self, tp: TP, dest_tp: TP, pool: PartitionTxns) -> None:
        """Rebuild the partition's pool from the destination (after a start or an ambiguous answer).

        Pool ids are taken lowest first, so they are 0..k-1: each is described until the first
        the coordinator does not know. An id whose transaction is open and holds the partition
        is continued with its producer id and epoch (an InitProducerId would abort it and write
        an ABORT marker at the log end); its source producer is the one of the source batch at
        the destination transaction's first offset, its next sequence follows the destination's
        last. An id that is ending (PrepareCommit/PrepareAbort) is waited for, then the
        partition is located again (its marker moved the log end). Any other id is
        initialised again when first used.
        """
        producers = {s.producer_id: s for s in await self._producer_states(dest_tp)}
        slots: dict[int, Slot] = {}
        n = 0
        while True:
            txn_id = pool_id(self.link, tp, n)
            self.stats.round_trips += 1
            d = await self.admin.describe_transaction(txn_id)
            if d is None:
                break
            if d.state in ("PrepareCommit", "PrepareAbort") and dest_tp in d.partitions:
                await self._wait_ended(txn_id)
                raise TransactionEnding(f"{txn_id} was ending its transaction; locating again after its marker")
            if not (d.state == "Ongoing" and dest_tp in d.partitions):
                if 0 <= d.producer_id and await self.ids.too_low(d.producer_id):
                    pool.skipped.add(n)     # skipped before (its id is near the source's)
                n += 1
                continue
            slot = Slot(txn_id, ProducerIdAndEpoch(d.producer_id, d.producer_epoch), added=True)
            p = producers.get(d.producer_id)
            if p is not None and p.current_txn_start_offset >= 0:
                slot.next_sequence = p.last_sequence + 1 if p.producer_epoch == d.producer_epoch else 0
                slot.source_pid = await self._source_pid(tp, p.current_txn_start_offset)
            # else: open and holding the partition, but no batch written yet: the next
            # source transaction on the partition continues it (see docs/mirror.md).
            slots[n] = slot
            log.warning("partition %s-%d: continuing the open destination transaction of %s "
                        "(producer %d epoch %d, source producer %s, next sequence %d)", tp[0], tp[1],
                        txn_id, d.producer_id, d.producer_epoch, slot.source_pid, slot.next_sequence)
            n += 1
        pool.slots = slots
        pool.recovered = True

    async def _still_at(self, dest_tp: TP, offset: int) -> None:
        """After ``recover``: the destination log still ends at ``offset``, where the partition
        was located. An earlier attempt's write can land after the locate: an EndTxn answered
        (or timed out) whose marker the coordinator wrote later, a produce whose answer was
        lost. ``recover`` waited out every ending pool transaction, so such a marker is on the
        log by now; replaying the marker again would begin a new destination transaction (its
        own is complete) and write a second one (found under load: "destination assigned base
        offset 7 to the source batch at offset 6"). Raises to locate the partition again."""
        p = await self._read_dest(dest_tp, offset)
        if p.error_code:
            raise LateWrite(f"reading the destination at {offset} after recovering its transactions: "
                            f"{error_name(p.error_code)}")
        for b in walk_batches(p.records or b""):
            if type(b) is BatchView and b.next_offset > offset:
                log.warning("partition %s-%d: the destination holds %r at %d, written after the partition "
                            "was located (a late marker or produce of an earlier attempt); locating again",
                            dest_tp[0], dest_tp[1], b, offset)
                raise LateWrite(f"the destination holds a batch at {b.base_offset} (expected its log end at "
                                f"{offset}), written after the partition was located; locating again")

    async def _source_pid(self, tp: TP, offset: int) -> int | None:
        if self.source is None:
            return None
        self.stats.round_trips += 1
        p = await self.source.fetch_partition(tp, offset, SOURCE_PID_FETCH_BYTES)
        for b in walk_batches(p.records or b""):
            if type(b) is not BatchView or b.is_control or b.last_offset < offset:
                continue
            # On a compacted topic the destination transaction may start with fillers (the source has
            # a hole there): it belongs to the transaction of the first record at or after it.
            if any(r.offset >= offset for r in iter_records(b)):
                return b.producer_id
        raise MarkerWaitError(f"source batch at {offset} not readable ({error_name(p.error_code) if p.error_code else 'no batch'})")

    async def _wait_ended(self, txn_id: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MARKER_WAIT_S
        while loop.time() < deadline:
            d = await self.admin.describe_transaction(txn_id)
            if d is None or d.state not in ("PrepareCommit", "PrepareAbort"):
                return
            await asyncio.sleep(0.05)

    async def _begin(self, tp: TP, dest_tp: TP, pool: PartitionTxns, source_pid: int) -> Slot:
        """Take the lowest free slot of the pool for the source producer's new transaction."""
        while True:
            n = pool.free_index()
            slot = pool.slots.get(n)
            if slot is not None:
                break
            txn_id = pool_id(self.link, tp, n)
            self.stats.round_trips += 2
            producer = await self.admin.init_producer_id(transactional_id=txn_id,
                                                         transaction_timeout_ms=TRANSACTION_TIMEOUT_MS)
            if await self.ids.too_low(producer.producer_id):
                # Close to ids the source hands out: a source idempotent producer could get
                # the same id and write to this partition. Move the coordinator past, take
                # another pool id (this one keeps its low id).
                await self.ids.burn_past(txn_id)
                pool.skipped.add(n)
                continue
            if await self._foreign(dest_tp, pool, producer.producer_id):
                # The destination handed out an id that mirrored idempotent batches of this
                # partition carry: its sequences would clash. Another pool id gets another.
                log.warning("partition %s-%d: %s got producer id %d, which mirrored batches of the "
                            "partition carry; skipping it", tp[0], tp[1], txn_id, producer.producer_id)
                pool.skipped.add(n)
                continue
            slot = pool.slots[n] = Slot(txn_id, producer)
            break
        slot.source_pid = source_pid
        log.debug("partition %s-%d: source producer %d's transaction replayed by %s", tp[0], tp[1],
                  source_pid, slot.txn_id)
        return slot

    async def _foreign(self, dest_tp: TP, pool: PartitionTxns, pid: int) -> bool:
        """The partition holds non-transactional producer state for ``pid``: mirrored idempotent
        batches of a source producer with that id, whose sequences would clash with ours.
        Transactional state (a marker's coordinator epoch, or an open transaction) is this link's
        own: only its pools write transactions to a mirror, and a pool's transactional id keeps
        its producer id across runs (after a restart InitProducerId hands the same id back)."""
        if any(s.producer.producer_id == pid for s in pool.slots.values()):
            return False
        return any(s.producer_id == pid and s.coordinator_epoch < 0 and s.current_txn_start_offset < 0
                   for s in await self._producer_states(dest_tp))

    async def _producer_states(self, dest_tp: TP) -> list[Any]:
        """DescribeProducers of one partition; its error raised (ambiguous: locate and recover
        again), never read as "no producers" (an open transaction would be continued at
        sequence 0, a foreign id taken for a pool's)."""
        states = (await self.admin.describe_producers([dest_tp])).get(dest_tp)
        if isinstance(states, list):
            return states
        raise states if isinstance(states, ClientError) else ClientError(
            f"DescribeProducers gave no answer for {dest_tp[0]}-{dest_tp[1]}")

    async def _end(self, tp: TP, dest_tp: TP, pool: PartitionTxns, marker: BatchView) -> tuple[int, int]:
        ctype = marker_type(marker)
        slot = pool.of_source(marker.producer_id)
        if slot is None:
            # A marker without replayed data (a partition added to the source transaction and
            # never written): the destination transaction still needs the partition.
            slot = await self._begin(tp, dest_tp, pool, marker.producer_id)
        if not slot.added:
            self.stats.round_trips += 1
            await self.admin.add_partitions_to_txn(slot.txn_id, slot.producer, [dest_tp])
            slot.added = True
        self.stats.round_trips += 1
        after = await self.admin.end_txn(slot.txn_id, slot.producer, commit=ctype == ControlType.COMMIT)
        if after.producer_epoch != slot.producer.producer_epoch or after.producer_id != slot.producer.producer_id:
            slot.next_sequence = 0    # transactions v2: every EndTxn bumps the epoch
        slot.producer, slot.source_pid, slot.added = after, None, False
        self.stats.transactions += 1
        await _pause_point("ended")
        return await self._marker_at(dest_tp, marker.base_offset, ctype)

    async def _marker_at(self, dest_tp: TP, offset: int, ctype: ControlType | int) -> tuple[int, int]:
        """Wait for the destination's marker at ``offset`` and check its kind; (0, offset), or
        (0, the other offset) when the first batch there starts elsewhere."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MARKER_WAIT_S
        delay = 0.002
        while True:
            p = await self._read_dest(dest_tp, offset)
            if p.error_code:
                raise MarkerWaitError(f"reading the marker at {offset}: {error_name(p.error_code)}")
            for b in walk_batches(p.records or b""):
                if type(b) is not BatchView or b.next_offset <= offset:
                    continue
                if b.base_offset != offset:
                    return 0, b.base_offset          # the caller's offset check names it
                if not b.is_control or marker_type(b) != ctype:
                    raise ReplayMismatch(f"expected a {ControlType(ctype).name} marker at offset {offset}, "
                                         f"the destination holds {b!r} there")
                return 0, offset
            if loop.time() > deadline:
                raise MarkerWaitError(f"the destination marker did not reach offset {offset} "
                                      f"within {MARKER_WAIT_S:.0f} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)

    async def _read_dest(self, dest_tp: TP, offset: int) -> Any:
        """The destination partition at ``offset``, asked again after a metadata refresh when the
        answer only says the leader epoch the client holds is old: a destination broker restart
        moves it, and failing there re-located the partition while a marker was still on its way
        (the window ``_still_at`` closes)."""
        deadline = asyncio.get_running_loop().time() + LEADER_SETTLE_S
        delay = 0.05
        while True:
            self.stats.round_trips += 1
            p = await self.dest.fetch_partition(dest_tp, offset, 4096)
            # a restarted broker answers UNKNOWN_LEADER_EPOCH until it has caught up with the
            # metadata log (seen in CI): one retry is not enough, ask until the deadline
            if p.error_code not in LEADER_MOVED or asyncio.get_running_loop().time() > deadline:
                return p
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
            await self.dest.refresh_metadata([dest_tp[0]])

    async def _read_sequence(self, dest_tp: TP, slot: Slot) -> None:
        """After an ambiguous produce: continue after the destination's last sequence of the slot."""
        states = (await self.admin.describe_producers([dest_tp])).get(dest_tp)
        if isinstance(states, list):
            for s in states:
                if s.producer_id == slot.producer.producer_id and s.producer_epoch == slot.producer.producer_epoch:
                    slot.next_sequence = s.last_sequence + 1
        slot.sequence_unknown = False


class TransactionEnding(ClientError):
    """A pool id was ending its transaction: locate the partition again once its marker landed."""


class LateWrite(ClientError):
    """An earlier attempt's marker or batch landed after the partition was located: locate again."""


class MarkerWaitError(ClientError):
    """The destination marker could not be read back in time (ambiguous: re-locate)."""


def mark_replayed(pm: PartitionMirror) -> None:
    """A replayed batch or marker of ``pm`` is stored: its transactional batches are equal by
    records, offsets and control type, not by bytes."""
    if pm.status.fidelity is Fidelity.EXACT:
        pm.status.fidelity = Fidelity.TXN_EXACT
    elif pm.status.fidelity is Fidelity.RECORD_EXACT:
        pm.status.fidelity = Fidelity.RECORD_TXN_EXACT


class ReplayMismatch(Exception):
    """The destination holds something other than the replayed marker (the partition fails)."""
