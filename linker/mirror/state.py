"""Per-partition mirror state machine.

States are few and loud: anything that stops a partition names the offset and
the reason, and every change logs exactly one line.
"""
from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass, field

log = logging.getLogger("linker.mirror")


class PartitionState(enum.Enum):
    PENDING = "PENDING"        # selected, not yet looked at
    ALIGNING = "ALIGNING"      # writing leading-gap fillers up to the source log start
    MIRRORING = "MIRRORING"    # copying batches, exact
    BLOCKED = "BLOCKED"        # next source batch cannot be stored exactly
    DIVERGED = "DIVERGED"      # source truncated below what the destination holds
    FAILED = "FAILED"          # destination disagrees with what we wrote, or foreign writes
    DEST_TRUNCATED = "DEST_TRUNCATED"   # destination log end fell below what it acknowledged
    STOPPED = "STOPPED"        # engine shut down cleanly


TERMINAL = frozenset({PartitionState.BLOCKED, PartitionState.DIVERGED, PartitionState.FAILED,
                      PartitionState.DEST_TRUNCATED})

_ALLOWED: dict[PartitionState, frozenset[PartitionState]] = {
    PartitionState.PENDING: frozenset({PartitionState.ALIGNING, PartitionState.MIRRORING,
                                       *TERMINAL, PartitionState.STOPPED}),
    PartitionState.ALIGNING: frozenset({PartitionState.MIRRORING, *TERMINAL, PartitionState.STOPPED}),
    PartitionState.MIRRORING: frozenset({*TERMINAL, PartitionState.STOPPED}),
    PartitionState.BLOCKED: frozenset({PartitionState.STOPPED}),
    PartitionState.DIVERGED: frozenset({PartitionState.STOPPED}),
    PartitionState.FAILED: frozenset({PartitionState.STOPPED}),
    PartitionState.DEST_TRUNCATED: frozenset({PartitionState.STOPPED}),
    PartitionState.STOPPED: frozenset(),
}


class Fidelity(enum.Enum):
    EXACT = "exact"            # offsets and CRC-covered bytes equal so far
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
        if new in (PartitionState.DIVERGED, PartitionState.FAILED, PartitionState.DEST_TRUNCATED):
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
        }
