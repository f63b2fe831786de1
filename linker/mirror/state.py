"""Per-partition mirror state machine.

States are few and loud: anything that stops a partition names the offset and
the reason, and every change logs exactly one line.
"""
from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kproto.errors import ErrorCode
from linker.client import (STALE_METADATA_CODES, AuthenticationError, AuthorizationError, ClientClosed, ClientError,
                           KafkaError, TlsError, UnsupportedVersion)

log = logging.getLogger("linker.mirror")


class PartitionState(enum.Enum):
    PENDING = "PENDING"        # selected, not yet looked at
    ALIGNING = "ALIGNING"      # writing leading-gap fillers up to the source log start
    MIRRORING = "MIRRORING"    # copying batches, exact
    BLOCKED = "BLOCKED"        # next source batch cannot be stored exactly
    DIVERGED = "DIVERGED"      # source truncated below what the destination holds
    FAILED = "FAILED"          # destination disagrees with what we wrote, or foreign writes
    DEST_TRUNCATED = "DEST_TRUNCATED"   # destination log end fell below what it acknowledged
    TOPIC_RECREATED = "TOPIC_RECREATED"   # the source or mirror topic's id changed (deleted, recreated)
    STOPPED = "STOPPED"        # engine shut down cleanly


TERMINAL = frozenset({PartitionState.BLOCKED, PartitionState.DIVERGED, PartitionState.FAILED,
                      PartitionState.DEST_TRUNCATED, PartitionState.TOPIC_RECREATED})

_ALLOWED: dict[PartitionState, frozenset[PartitionState]] = {
    PartitionState.PENDING: frozenset({PartitionState.ALIGNING, PartitionState.MIRRORING,
                                       *TERMINAL, PartitionState.STOPPED}),
    PartitionState.ALIGNING: frozenset({PartitionState.MIRRORING, *TERMINAL, PartitionState.STOPPED}),
    PartitionState.MIRRORING: frozenset({*TERMINAL, PartitionState.STOPPED}),
    PartitionState.BLOCKED: frozenset({PartitionState.STOPPED}),
    PartitionState.DIVERGED: frozenset({PartitionState.STOPPED}),
    PartitionState.FAILED: frozenset({PartitionState.STOPPED}),
    PartitionState.DEST_TRUNCATED: frozenset({PartitionState.STOPPED}),
    PartitionState.TOPIC_RECREATED: frozenset({PartitionState.STOPPED}),
    PartitionState.STOPPED: frozenset(),
}


class Fidelity(enum.Enum):
    EXACT = "exact"            # offsets and CRC-covered bytes equal so far
    RECORD_EXACT = "record-exact (compacted)"   # same offsets; cleaned ranges equal by records (compacted.py)
    # same offsets and records; transactional batches carry the linker's producer fields (transactions.py)
    TXN_EXACT = "offset-exact (transactional, headers re-stamped)"
    # both: a transactional compacted topic with cleaned ranges (compacted.py, transactions.py)
    RECORD_TXN_EXACT = "record-exact (compacted, transactional, headers re-stamped)"
    NOT_EXACT = "not-exact"    # something was found that breaks exactness
    UNKNOWN = "unknown"        # not checked yet


class IllegalTransition(RuntimeError):
    pass


@dataclass
class PartitionStatus:
    """What the engine knows about one mirrored partition."""
    topic: str
    partition: int
    state: PartitionState = PartitionState.PENDING
    reason: str = ""
    offset: int | None = None           # the offset the reason is about
    fidelity: Fidelity = Fidelity.UNKNOWN
    since: float = field(default_factory=time.time)
    # progress, updated by the engine
    dest_log_end: int | None = None
    source_log_start: int | None = None
    source_high_watermark: int | None = None
    last_mirrored_timestamp_ms: int | None = None
    # why the last lookup of this partition's ends failed (a leader not elected, its broker down)
    waiting: str | None = None
    # a long piece of work under way (leading-gap alignment): done, total, rate, ETA
    work: dict[str, object] | None = None

    @property
    def key(self) -> str:
        return f"{self.topic}-{self.partition}"

    def move(self, new: PartitionState, reason: str = "", offset: int | None = None) -> None:
        """Change state, logging one line; terminal states need a reason."""
        if new is self.state:
            return
        if new not in _ALLOWED[self.state]:
            raise IllegalTransition(f"{self.key}: {self.state.value} -> {new.value} is not allowed")
        if new in TERMINAL and not reason:
            raise ValueError(f"{self.key}: moving to {new.value} needs a reason")
        old = self.state
        self.state, self.reason, self.offset, self.since = new, reason, offset, time.time()
        if new in (PartitionState.DIVERGED, PartitionState.FAILED, PartitionState.DEST_TRUNCATED,
                   PartitionState.TOPIC_RECREATED):
            self.fidelity = Fidelity.NOT_EXACT
        elif new is PartitionState.MIRRORING and self.fidelity is Fidelity.UNKNOWN:
            self.fidelity = Fidelity.EXACT
        at = f" at offset {offset}" if offset is not None else ""
        sep = ": " if reason else ""
        log.log(logging.WARNING if new in TERMINAL else logging.INFO,
                "partition %s %s -> %s%s%s%s", self.key, old.value, new.value, at, sep, reason)

    def as_dict(self) -> dict[str, object]:
        return {
            "topic": self.topic, "partition": self.partition, "state": self.state.value,
            "reason": self.reason, "offset": self.offset, "fidelity": self.fidelity.value,
            "since": self.since, "dest_log_end": self.dest_log_end,
            "source_log_start": self.source_log_start,
            "source_high_watermark": self.source_high_watermark,
            "last_mirrored_timestamp_ms": self.last_mirrored_timestamp_ms,
            "waiting": self.waiting, "work": self.work,
        }


# -- waiting for a cluster ----------------------------------------------------------
#: Non-retriable for Kafka's clients, yet healed by time for a sidecar: a topic creation asking
#: for more replicas than brokers are up (one of three restarting).
TIME_HEALS_CODES = frozenset({ErrorCode.INVALID_REPLICATION_FACTOR})


def needs_person(exc: BaseException) -> bool:
    """Whether ``exc`` is something time does not heal (so ``linker run`` exits with it).

    Refused credentials or rights, TLS failures, unsupported versions, a closed client and
    Kafka errors Kafka itself calls non-retriable need a person; a broker not reachable,
    a lost connection, a timeout or a leader not elected yet heal by themselves."""
    if isinstance(exc, (AuthenticationError, AuthorizationError, TlsError, UnsupportedVersion, ClientClosed)):
        return True
    if isinstance(exc, KafkaError):
        if exc.code in STALE_METADATA_CODES or exc.code in TIME_HEALS_CODES:
            return False
        try:
            return not ErrorCode(exc.code).retriable
        except ValueError:
            return True
    return not isinstance(exc, ClientError)


@dataclass
class ClusterWait:
    """What the linker is waiting for (None: nothing), shown in ``/status`` and ``/metrics``.

    Components that hit a condition time heals record it here rather than exit."""
    reason: str | None = None
    since: float | None = None
    retries: int = 0
    on_change: list[Callable[[ClusterWait], None]] = field(default_factory=list)

    def waiting(self, reason: str) -> None:
        if self.reason is None:
            log.warning("waiting for the cluster: %s", reason)
            self.since = time.time()
        self.reason = reason
        self.retries += 1
        for hook in self.on_change:
            hook(self)

    def ready(self) -> None:
        if self.reason is not None:
            log.info("cluster ready again after %.1f s; resuming", time.time() - (self.since or time.time()))
            self.reason, self.since = None, None
            for hook in self.on_change:
                hook(self)

    def as_dict(self) -> dict[str, Any]:
        return {"waiting": self.reason is not None, "reason": self.reason, "since": self.since,
                "retries": self.retries}


#: Back-off between attempts while a cluster is not ready, doubled up to the maximum
#: (as Kafka's clients do with retry.backoff.ms / retry.backoff.max.ms).
WAIT_BACKOFF_S = 0.2
WAIT_BACKOFF_MAX_S = 5.0


T = TypeVar("T")


async def until_ready(what: str, attempt: Callable[[], Awaitable[T]], wait: ClusterWait) -> T:
    """Run ``attempt()`` until it succeeds; wait (backing off) on what time heals.

    Raises at once what needs a person (see ``needs_person``)."""
    delay = WAIT_BACKOFF_S
    while True:
        try:
            result = await attempt()
        except Exception as exc:
            if needs_person(exc):
                raise
            wait.waiting(f"{what}: {exc}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, WAIT_BACKOFF_MAX_S)
            continue
        wait.ready()
        return result
