"""The destination's producer sequences on a compacted partition, and the gaps vanished batches leave.

The destination checks every idempotent batch against its producer state
(``ProducerAppendInfo.checkSequence`` in the broker): with the same epoch the
batch's base sequence must follow the last one (``last + 1``, or 0 after
Int32.MAX); a new epoch must start at 0; a producer the destination does not
know (never seen, expired, removed with the log start) may start anywhere.
When the source cleaner removed whole batches of a producer the destination
already knows, the producer's next retained batch is ahead of that: its
*gap* is the number of sequence numbers that vanished. ``compacted`` hands
that many of the hole offsets before the batch to fillers carrying the
producer's id, epoch and the missing sequences, so the batch itself goes
verbatim and is in sequence.

``Seq`` is (producer epoch, last sequence) as the destination holds it.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from kproto.records.batch import BatchView
from linker.client import ProducerState

#: (producer epoch, last sequence) of one producer on one partition.
Seq = tuple[int, int]
SEQUENCE_WRAP = 1 << 31
#: A sequence distance at least this large is read as "behind", not a gap.
HALF_WRAP = 1 << 30


def next_sequence(last: int) -> int:
    """The base sequence that follows ``last`` (Int32.MAX is followed by 0)."""
    return (last + 1) % SEQUENCE_WRAP


def gap(known: Seq | None, epoch: int, base_sequence: int) -> tuple[int, int]:
    """(first missing sequence, count) a batch of ``epoch``/``base_sequence`` needs before it.

    Count 0: in sequence, or nothing to fill: the destination does not know the
    producer (any sequence goes), the batch has an older epoch (the broker
    fences it whatever precedes it) or a sequence behind the known one (a
    duplicate or a foreign write, left to the broker to judge)."""
    if known is None or base_sequence < 0:
        return 0, 0
    known_epoch, last = known
    if epoch < known_epoch:
        return 0, 0
    first = next_sequence(last) if epoch == known_epoch else 0
    count = (base_sequence - first) % SEQUENCE_WRAP
    return (first, count) if count < HALF_WRAP else (first, 0)


def ahead(source: Seq, dest: Seq) -> bool:
    """The source's producer state is past the destination's: more of its batches follow."""
    if source[0] != dest[0]:
        return source[0] > dest[0]
    return 0 < (source[1] - dest[1]) % SEQUENCE_WRAP < HALF_WRAP


def last_sequence(b: BatchView) -> int:
    """The last sequence of an idempotent batch (wraps like the broker's ``incrementSequence``)."""
    return (b.base_sequence + b.last_offset_delta) % SEQUENCE_WRAP


def note(producers: dict[int, Seq], b: BatchView) -> None:
    """``b`` (source or rebuilt) is planned: its producer's last sequence is now the batch's.
    Transactional batches are re-stamped to the linker's own producers (transactions.py): the
    destination never sees their source producer."""
    if b.producer_id >= 0 and b.base_sequence >= 0 and not b.is_transactional:
        producers[b.producer_id] = (b.producer_epoch, last_sequence(b))


def from_states(states: Iterable[ProducerState]) -> dict[int, Seq]:
    """DescribeProducers' answer for one partition as ``Seq`` per producer id."""
    return {s.producer_id: (s.producer_epoch, s.last_sequence) for s in states if s.producer_epoch >= 0}


def pending(dest: Mapping[int, Seq], source: Mapping[int, Seq]) -> set[int]:
    """Producers the destination knows whose later batches the source holds (so may have gaps)."""
    return {pid for pid, seq in dest.items() if pid in source and ahead(source[pid], seq)}
