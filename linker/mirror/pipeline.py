"""When one partition may have more than one produce in flight.

Only a run of batches of one idempotent producer (same producer id >= 0 and
epoch, contiguous sequences) that continues the producer's batch the
destination acknowledged last, at the log end, in this run; at most
``MAX_DEPTH`` deep; every request of the run on one connection (the producer
checks that); acks=all. Then the destination knows the producer and its last
sequence, so a request N that is not written makes every later one of the run
fail with OUT_OF_ORDER_SEQUENCE_NUMBER: nothing lands out of place. The
argument and the broker code it rests on: docs/mirror.md, "Pipelining".
"""
from __future__ import annotations

from typing import Any, NamedTuple

from kproto.records.batch import BatchView
from kproto.records.layout import CONTROL_BIT, TRANSACTIONAL_BIT

#: The broker remembers the last 5 batches of a producer (ProducerStateEntry.NUM_BATCHES_TO_RETAIN):
#: a resent batch among them is answered as a duplicate with its first offset.
MAX_DEPTH = 5
_INT_MAX = 0x7FFFFFFF
_TXN_BITS = CONTROL_BIT | TRANSACTIONAL_BIT


class AckedMark(NamedTuple):
    """The idempotent producer of the batch the destination acknowledged last, and where it ended."""

    producer_id: int
    producer_epoch: int
    last_sequence: int
    end_offset: int


def _plain_idempotent(b: Any) -> bool:
    return type(b) is BatchView and b.producer_id >= 0 and b.base_sequence >= 0 and not b.attributes & _TXN_BITS


def last_sequence(b: BatchView) -> int:
    """The batch's last sequence (sequences wrap from Int.MAX to 0, as the broker's inSequence)."""
    return (b.base_sequence + b.last_offset_delta) % (_INT_MAX + 1)


def next_sequence(last: int) -> int:
    return 0 if last == _INT_MAX else last + 1


def mark_of(b: Any) -> AckedMark | None:
    """What to remember of an acknowledged batch: its producer when idempotent, else nothing."""
    if not _plain_idempotent(b):
        return None
    return AckedMark(b.producer_id, b.producer_epoch, last_sequence(b), b.next_offset)


def _follows(pid: int, epoch: int, last: int, b: Any) -> bool:
    return (_plain_idempotent(b) and b.producer_id == pid and b.producer_epoch == epoch
            and b.base_sequence == next_sequence(last))


def may_follow(acked: AckedMark | None, acked_end: int, flight: list[Any], head: Any) -> bool:
    """``head`` may be sent while ``flight`` (non-empty, oldest first) is unanswered.

    The chain acked batch -> flight -> head must be one producer, one epoch, contiguous
    sequences, anchored on the batch acknowledged at the current log end."""
    if not flight or len(flight) >= MAX_DEPTH or acked is None or acked.end_offset != acked_end:
        return False
    pid, epoch, last = acked.producer_id, acked.producer_epoch, acked.last_sequence
    for b in (*flight, head):
        if not _follows(pid, epoch, last, b):
            return False
        last = last_sequence(b)
    return True
