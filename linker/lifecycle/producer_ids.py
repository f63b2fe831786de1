"""Keep the producer ids the destination hands out clear of the ids mirrored batches carry.

Mirrored batches keep the source's producer ids, epochs and sequences, so each
mirrored partition holds producer state for them. A new idempotent producer on
the destination handed one of those ids fails its first send (or, worse, has
it taken for a duplicate) while that state lives: until
``producer.id.expiration.ms`` after the producer's last batch timestamp.

The decision comes from the ranges (``plan_move``, pure): brokers hand out ids
from blocks the controller allocates in increasing order, so after a broker
returned id ``b`` it only returns larger ones. Mirrored ids at or below every
broker's position can never be handed out again; ids just above are passed by
burning ids (pipelined InitProducerId) on the brokers below them; ids too far
above to burn past (a source whose ids are in the billions) are left and
reported with the headroom and the time their state expires, since a clash
then needs the destination to hand out that many ids first.
docs/lifecycle.md, "Producer ids after promote/failover".
"""
from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from linker.client import Admin, Client, ClientError, ConfigResourceType, KafkaError, TopicPartition as TP

log = logging.getLogger("linker.lifecycle")


MAX_IDS_PER_BROKER = 2_000_000
MAX_SECONDS = 60.0
IN_FLIGHT = 128
EXPIRATION_KEY = "producer.id.expiration.ms"
DEFAULT_EXPIRATION_MS = 86_400_000
# A broker drops expired producer state on a timer (producer.id.expiration.check.interval.ms,
# an internal config, default 10 min): state outlives its expiry by up to that much.
EXPIRY_CHECK_MS = 600_000
# Below this many ids per second before the state expires, a clash with ids left ahead is
# plausible (a cluster creating that many idempotent producers a second); above it the line is INFO.
PLAUSIBLE_IDS_PER_S = 1_000.0


class ProducerIdError(RuntimeError):
    """A broker refused DescribeProducers or InitProducerId; the message names it and the error."""


@dataclass(frozen=True)
class IdRange:
    """Live mirrored ids of one kind: how many, the lowest and highest, when the last state expires."""

    count: int
    low: int
    high: int
    expires_ms: float     # inf: unknown (no timestamp, or a producer still writing)

    @classmethod
    def of(cls, ids: Mapping[int, float]) -> IdRange | None:
        return cls(len(ids), min(ids), max(ids), max(ids.values())) if ids else None

    def until(self) -> str:
        if math.isinf(self.expires_ms):
            return "an unknown time (no batch timestamp)"
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.expires_ms / 1000))


@dataclass(frozen=True)
class IdPlan:
    """What the ranges call for (``plan_move``)."""

    positions: dict[int, int]    # broker -> the id it handed our probe
    live: int                    # live mirrored ids considered
    highest: int = -1            # the highest of them
    burn_to: int = -1            # move every broker past this id (-1: no move)
    far: IdRange | None = None   # ids left ahead: too far above the destination's allocation to burn past
    behind: IdRange | None = None  # ids the destination handed out before (not to our probe)


def plan_move(live: Mapping[int, float], positions: Mapping[int, int],
              max_ids: int = MAX_IDS_PER_BROKER) -> IdPlan:
    """From live mirrored ids (id -> expiry ms) and each broker's position: burn up to which id,
    and which ids are left ahead (too far) or behind (handed out already)."""
    if not positions:
        raise ProducerIdError("no destination broker answered InitProducerId")
    floor = min(positions.values())
    probes = set(positions.values())
    behind = {i: e for i, e in live.items() if i <= floor and i not in probes}
    near = [i for i in live if floor < i <= floor + max_ids]
    far = {i: e for i, e in live.items() if i > floor + max_ids}
    return IdPlan(dict(positions), len(live), max(live, default=-1), max(near, default=-1), IdRange.of(far),
                  IdRange.of(behind))


@dataclass
class BurnReport:
    """What was decided and done for the destination's producer-id allocation."""

    plan: IdPlan
    burned: dict[int, int] = field(default_factory=dict)   # broker -> ids requested
    last_id: dict[int, int] = field(default_factory=dict)  # broker -> last id it returned
    unsafe: list[int] = field(default_factory=list)        # brokers still at or below plan.burn_to
    now_ms: float = field(default_factory=lambda: time.time() * 1000)

    @property
    def max_pid(self) -> int:
        return self.plan.burn_to

    @property
    def safe(self) -> bool:
        return not self.unsafe and not self._far_plausible()

    def _position(self) -> int:
        return max([*self.plan.positions.values(), *self.last_id.values()])

    def _far_plausible(self) -> bool:
        far = self.plan.far
        if far is None:
            return False
        seconds = (far.expires_ms - self.now_ms) / 1000
        return seconds > 0 and (far.low - self._position()) / seconds < PLAUSIBLE_IDS_PER_S

    def line(self) -> str:
        if not self.plan.live:
            return "producer ids: no live mirrored producer state, nothing to move"
        parts = []
        per = ", ".join(f"broker {b}: {n}" for b, n in sorted(self.burned.items()))
        if self.plan.burn_to < 0 and self.plan.far is None:
            parts.append(f"the live mirrored ids (up to {self.plan.highest}) are below the destination's "
                         f"allocation (at {self._position()}): nothing to move")
        elif self.plan.burn_to < 0:
            parts.append("nothing moved")
        elif self.unsafe:
            parts.append(f"WARNING bound hit on broker(s) {', '.join(map(str, self.unsafe))}: new idempotent "
                         f"producers there may get an id <= mirrored id {self.plan.burn_to} and fail ({per} ids used)")
        else:
            parts.append(f"destination allocation moved past mirrored id {self.plan.burn_to} ({per} ids used)")
        if far := self.plan.far:
            gap = far.low - self._position()
            seconds = (far.expires_ms - self.now_ms) / 1000
            rate = f"{gap / seconds:,.0f} ids/s" if seconds > 0 and not math.isinf(seconds) else "any rate"
            parts.append(f"{'WARNING ' if self._far_plausible() else ''}{far.count} mirrored ids from {far.low} "
                         f"are {gap:,} ids ahead of the destination's allocation, too far to move past: a clash "
                         f"needs the destination to hand out that many ids before their state expires "
                         f"({far.until()}; {rate}); lower {EXPIRATION_KEY} on the destination to shorten it")
        if behind := self.plan.behind:
            parts.append(f"{behind.count} live mirrored ids ({behind.low}..{behind.high}) are ids the destination "
                         f"handed out before (e.g. to the linker's own state-topic producers): a destination "
                         f"producer holding one would be refused on these partitions until {behind.until()}")
        return "producer ids: " + "; ".join(parts)


async def _expiration_ms(dest: Client, node: int) -> int:
    """The destination's producer.id.expiration.ms (the default when it cannot be read)."""
    try:
        found = await Admin(dest).describe_configs([(ConfigResourceType.BROKER, str(node))], keys=[EXPIRATION_KEY])
        entry = next(iter(found.values())).get(EXPIRATION_KEY)
        return int(entry.value) if entry is not None and entry.value else DEFAULT_EXPIRATION_MS
    except (ClientError, ValueError, StopIteration) as exc:
        log.info("producer ids: %s not readable (%s); assuming the default %d ms", EXPIRATION_KEY, exc,
                 DEFAULT_EXPIRATION_MS)
        return DEFAULT_EXPIRATION_MS


async def live_mirrored_ids(dest: Client, tps: Iterable[TP], expiration_ms: int) -> dict[int, float]:
    """{producer id: when its state expires (ms)} over ``tps``, expired state left out."""
    try:
        states = await Admin(dest).describe_producers(list(tps))
    except KafkaError as exc:
        raise ProducerIdError(str(exc)) from exc
    now = time.time() * 1000
    live: dict[int, float] = {}
    for found in states.values():
        for s in found:
            expires = (s.last_timestamp + expiration_ms + EXPIRY_CHECK_MS if s.last_timestamp >= 0
                       else math.inf)
            if expires > now:
                live[s.producer_id] = max(live.get(s.producer_id, expires), expires)
    return live


async def _position(admin: Admin, node: int) -> int:
    """The id ``node`` hands out now (one InitProducerId; every later one is larger)."""
    try:
        return (await admin.init_producer_id(node=node)).producer_id
    except KafkaError as exc:   # retriable ones (no id block yet) were retried up to the request timeout
        raise ProducerIdError(f"InitProducerId on destination broker {node}: {exc.name}") from exc


async def _burn_on(admin: Admin, node: int, start: int, report: BurnReport, max_ids: int, deadline: float) -> None:
    """Burn ids on one broker until it hands out one above ``burn_to`` (within the bounds)."""
    try:
        used, last = await admin.burn_producer_ids(node, report.plan.burn_to, max_ids=max_ids, in_flight=IN_FLIGHT,
                                                   max_seconds=max(0.0, deadline - time.monotonic()), start=start)
    except KafkaError as exc:   # retriable ones (no id block yet) were retried up to the request timeout
        raise ProducerIdError(f"InitProducerId on destination broker {node}: {exc.name}") from exc
    report.burned[node], report.last_id[node] = used, last
    if last <= report.plan.burn_to:
        report.unsafe.append(node)


async def move_past_mirrored_ids(dest: Client, tps: Iterable[TP], *, extra_ids: Iterable[int] = (),
                                 max_ids: int = MAX_IDS_PER_BROKER, max_seconds: float = MAX_SECONDS) -> BurnReport:
    """Keep every destination broker's next producer ids clear of those mirrored into ``tps``
    (and of ``extra_ids``: producers that keep writing, e.g. ones a proxy moved from the source)."""
    snap = await dest.refresh_metadata()
    brokers = sorted(snap.brokers)
    expiration = await _expiration_ms(dest, brokers[0])
    live = await live_mirrored_ids(dest, tps, expiration)
    live.update({i: math.inf for i in extra_ids})
    if not live:
        return BurnReport(IdPlan({}, 0))
    admin = Admin(dest)
    probes = await asyncio.gather(*(_position(admin, b) for b in brokers))
    report = BurnReport(plan_move(live, dict(zip(brokers, probes)), max_ids))
    deadline = time.monotonic() + max_seconds
    await asyncio.gather(*(_burn_on(admin, b, pos, report, max_ids, deadline)
                           for b, pos in report.plan.positions.items() if pos <= report.plan.burn_to))
    (log.info if report.safe else log.warning)("%s", report.line())
    return report
