"""Move the destination's producer-id allocation past the ids mirrored batches carry.

Mirrored batches keep the source's producer ids, epochs and sequences, so each
mirrored partition holds producer state for them. A new idempotent producer on
the destination could be handed one of those ids and fail its first send
(OUT_OF_ORDER_SEQUENCE_NUMBER or INVALID_PRODUCER_EPOCH). Brokers allocate ids
from blocks the controller hands out in increasing order, so once a broker has
returned an id above the largest mirrored one, every later id it returns is
larger too: we ask every broker for non-transactional ids until that holds.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Iterable

from linker.client import Admin, Client, KafkaError, TopicPartition as TP

log = logging.getLogger("linker.lifecycle")


MAX_IDS_PER_BROKER = 2_000_000
MAX_SECONDS = 60.0
IN_FLIGHT = 128
TRANSACTION_TIMEOUT_MS = 60_000


class ProducerIdError(RuntimeError):
    """A broker refused DescribeProducers or InitProducerId; the message names it and the error."""


@dataclass
class BurnReport:
    """What was done to move the destination's producer-id allocation past ``max_pid``."""

    max_pid: int                                       # largest mirrored producer id (-1: none)
    burned: dict[int, int] = field(default_factory=dict)   # broker -> ids requested
    last_id: dict[int, int] = field(default_factory=dict)  # broker -> last id it returned
    unsafe: list[int] = field(default_factory=list)        # brokers still at or below max_pid

    @property
    def safe(self) -> bool:
        return not self.unsafe

    def line(self) -> str:
        if self.max_pid < 0:
            return "producer ids: no mirrored producer state, nothing to move"
        per = ", ".join(f"broker {b}: {n}" for b, n in sorted(self.burned.items()))
        if self.safe:
            return f"producer ids: destination allocation moved past mirrored id {self.max_pid} ({per} ids used)"
        return (f"producer ids: WARNING bound hit on broker(s) {', '.join(map(str, self.unsafe))}: new idempotent "
                f"producers there may get an id <= mirrored id {self.max_pid} and fail ({per} ids used)")


async def max_mirrored_producer_id(dest: Client, tps: Iterable[TP]) -> int:
    """The largest producer id with state in any of ``tps`` (asked of each partition's leader)."""
    try:
        states = await Admin(dest).describe_producers(list(tps))
    except KafkaError as exc:
        raise ProducerIdError(str(exc)) from exc
    return max((s.producer_id for found in states.values() for s in found), default=-1)


async def _burn_on(dest: Client, node: int, max_pid: int, report: BurnReport,
                   max_ids: int, deadline: float) -> None:
    """Pipelined InitProducerId(non-transactional) on one broker until an id exceeds ``max_pid``."""
    admin = Admin(dest)
    used, last = 0, -1
    while last <= max_pid and used < max_ids and time.monotonic() < deadline:
        n = min(IN_FLIGHT, max_ids - used)
        answers = await asyncio.gather(*(admin.init_producer_id(
            node=node, transaction_timeout_ms=TRANSACTION_TIMEOUT_MS) for _ in range(n)),
            return_exceptions=True)
        used += n
        for a in answers:
            if isinstance(a, KafkaError):
                # Retriable ones (a broker with no id block yet) were retried up to the request timeout.
                raise ProducerIdError(f"InitProducerId on destination broker {node}: {a.name}") from a
            if isinstance(a, BaseException):
                raise a
            last = max(last, a.producer_id)
    report.burned[node], report.last_id[node] = used, last
    if last <= max_pid:
        report.unsafe.append(node)


async def move_past_mirrored_ids(dest: Client, tps: Iterable[TP], *, max_ids: int = MAX_IDS_PER_BROKER,
                                 max_seconds: float = MAX_SECONDS) -> BurnReport:
    """Make every destination broker hand out only producer ids above those mirrored into ``tps``."""
    report = BurnReport(await max_mirrored_producer_id(dest, tps))
    if report.max_pid < 0:
        return report
    snap = await dest.refresh_metadata()
    deadline = time.monotonic() + max_seconds
    await asyncio.gather(*(_burn_on(dest, b, report.max_pid, report, max_ids, deadline)
                           for b in sorted(snap.brokers)))
    (log.info if report.safe else log.warning)("%s", report.line())
    return report
