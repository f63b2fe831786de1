"""Replay producer ids kept clear of the ids the source hands out (docs/mirror.md, "Producer ids").

A destination producer id used to replay transactions must not be an id a source
idempotent producer has or will have: verbatim-mirrored batches of that producer
would meet the replay producer's state on the same partition. Replay ids are moved
above the source's position plus a margin by burning destination ids on the
transaction coordinator (pipelined non-transactional InitProducerId: the same id
blocks), within bounds.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from linker.client import Admin, Client
from linker.client.admin import TRANSACTION_KEY

log = logging.getLogger("linker.txn")

#: How far above the source's producer id position a replay producer id must start: the
#: source may hand out this many more ids before one could equal a replay producer's.
PID_MARGIN = 10_000
#: Non-transactional InitProducerId requests in flight while burning destination ids.
BURN_IN_FLIGHT = 128
#: Bounds of one burn (a source whose ids are in the billions cannot be passed): then the
#: replay ids stay below the source's position (docs/mirror.md, "Producer ids").
MAX_BURN_IDS = 2_000_000
MAX_BURN_S = 60.0


@dataclass
class ReplayStats:
    """What the replay did (measurements, tests)."""

    transactions: int = 0
    batches: int = 0
    round_trips: int = 0        # requests of the replay itself (burned ids not counted)
    burned_ids: int = 0         # destination producer ids burned to clear the source's (``burn_past``)


class ReplayIds:
    """The floor replay ids must exceed, and the burn that gets the coordinator past it."""

    def __init__(self, source: Client | None, admin: Admin, stats: ReplayStats) -> None:
        self.source = source
        self.admin = admin
        self.stats = stats
        self._floor_value: int | None = None
        # A burn hit its bounds: replay ids are taken as they come (below the source's position).
        self.gave_up = False

    async def floor(self) -> int:
        """The source's highest producer id position (asked of every source broker) + PID_MARGIN."""
        if self._floor_value is None:
            if self.source is None:
                self._floor_value = -1
            else:
                src = Admin(self.source)
                snap = await self.source.refresh_metadata()
                ids = await asyncio.gather(*(src.init_producer_id(node=b) for b in sorted(snap.brokers)))
                self._floor_value = max(i.producer_id for i in ids) + PID_MARGIN
                self.stats.round_trips += 1 + len(ids)
        return self._floor_value

    async def too_low(self, pid: int) -> bool:
        """``pid`` is at or below the floor and the floor can still be passed."""
        return not self.gave_up and pid <= await self.floor()

    async def burn_past(self, txn_id: str) -> None:
        """Pipelined non-transactional InitProducerId on the transaction coordinator of
        ``txn_id`` until it hands out ids above the floor (they come from the same id blocks)."""
        floor = await self.floor()
        node = await self.admin.find_coordinator(txn_id, TRANSACTION_KEY)
        loop = asyncio.get_running_loop()
        started = loop.time()
        burned, last = await self.admin.burn_producer_ids(node, floor, max_ids=MAX_BURN_IDS, max_seconds=MAX_BURN_S,
                                                          in_flight=BURN_IN_FLIGHT)
        if last <= floor:
            self.gave_up = True
            log.warning("destination broker %d: stopped burning producer ids at %d after %d ids "
                        "(the source's position + %d is %d); replay producer ids stay below it",
                        node, last, burned, PID_MARGIN, floor)
        self.stats.burned_ids += burned
        log.info("destination broker %d: burned %d producer ids in %.1f s to hand out ids above %d",
                 node, burned, asyncio.get_running_loop().time() - started, floor)
