"""The rules that keep a mirror exact, as pure functions.

Two decisions live here: whether a fetched source batch sits where the
destination expects it, and what a produce response means for the partition.
(Whether a batch can be produced verbatim at all is kproto.records.classify;
``blocking_reason`` says where the engine stops because of it.)
"""
from __future__ import annotations

import enum

from kproto.errors import ErrorCode
from kproto.records.batch import BatchView, LegacyEntry
from kproto.records.control import ControlType, parse_control_record
from kproto.records.reproducibility import Reproducibility, classify

def position_problem(base_offset: int, next_offset: int, expected: int) -> tuple[str, str] | None:
    """Check a fetched batch against the offset the destination expects next.

    Returns (state, reason) for a batch that does not start exactly at
    ``expected``; None when it does or when it lies wholly before it (a fetch
    may return the batch that contains the fetch offset: callers skip those).
    """
    if base_offset == expected:
        return None
    if next_offset <= expected:
        return None
    if base_offset < expected:
        return ("FAILED", f"destination log end {expected} falls inside source batch "
                          f"{base_offset}..{next_offset - 1}: the destination "
                          "holds a partial batch (foreign or corrupt writes)")
    return ("BLOCKED", f"source has no offsets {expected}..{base_offset - 1} "
                       "(removed by compaction), cannot be reproduced")


def truncation_problem(acked_end: int, dest_end: int) -> str | None:
    """The destination log end fell below what it acknowledged (acks=all).

    The destination lost acknowledged batches (an unclean leader election, a
    replaced disk, a recreated topic): consumers may already have read offsets
    that are gone. Re-mirroring would hide it, so the partition stops."""
    if dest_end < acked_end:
        return (f"destination log end {dest_end} is below the highest acknowledged end {acked_end}: "
                f"the destination lost {acked_end - dest_end} acknowledged offsets")
    return None


LOG_APPEND_TIME_BIT = 0x08
#: what a compacted topic's batch may be and still be mirrored by records (linker.mirror.compacted)
_REBUILT_KINDS = frozenset({Reproducibility.COMPACTION_HOLES, Reproducibility.EMPTY})
#: what a batch may be and still be replayed through a destination transaction
#: (linker.mirror.transactions)
_REPLAYED_KINDS = frozenset({Reproducibility.TRANSACTIONAL, Reproducibility.CONTROL})


def replay_problem(batch: BatchView) -> str | None:
    """Why a transactional or control batch cannot be replayed, or None."""
    if batch.is_control:
        if batch.record_count != 1:
            return f"control batch at offset {batch.base_offset} holds {batch.record_count} records, not one marker"
        ctype = marker_type(batch)
        if ctype not in (ControlType.COMMIT, ControlType.ABORT):
            return f"control batch at offset {batch.base_offset} is {ctype!r}, not a transaction marker"
        return None
    if batch.producer_id < 0:
        return f"transactional batch at offset {batch.base_offset} has no producer id"
    return None


def marker_type(batch: BatchView) -> ControlType | int:
    """The control type (COMMIT, ABORT, ...) of a one-record control batch."""
    return parse_control_record(next(iter(batch.records()))).type


def timestamp_problem(attributes: int, base_offset: int) -> str | None:
    """A LogAppendTime batch cannot be stored exactly: the destination broker
    rewrites its timestamp type (CreateTime topic) or its max timestamp
    (LogAppendTime topic), and so its CRC. Found by test, not in the facts file."""
    if attributes & LOG_APPEND_TIME_BIT:
        return (f"LogAppendTime batch at offset {base_offset}: the destination broker rewrites its "
                "timestamp fields and CRC, so it cannot be stored exactly")
    return None


def blocking_reason(entry: BatchView | LegacyEntry, compacted: bool) -> str | None:
    """Why the engine stops a partition at this source batch, or None when it mirrors it: the one
    rule for the fetcher, the compacted planner and `linker plan`. A compacted topic's batches
    with compaction holes (or empty) are rebuilt by records (record-exact), so they do not block;
    transactional batches and COMMIT/ABORT markers are replayed through destination
    transactions; legacy batches, other control batches and LogAppendTime batches block. On a
    compacted topic a transactional or control batch the
    source cleaner emptied (kept empty as its producer's last batch) is holes, filled like any
    emptied batch (compacted.py); a cleaned transactional batch is rebuilt inside the replayed
    destination transaction."""
    if type(entry) is not BatchView:
        return classify(entry).reason
    verdict = classify(entry)
    if verdict.kind in _REPLAYED_KINDS:
        if compacted and entry.record_count == 0:
            return timestamp_problem(entry.attributes, entry.base_offset)
        return replay_problem(entry) or timestamp_problem(entry.attributes, entry.base_offset)
    if not verdict.exact and not (compacted and verdict.kind in _REBUILT_KINDS):
        return verdict.reason
    return timestamp_problem(entry.attributes, entry.base_offset)


class Verdict(enum.Enum):
    OK = "ok"
    AMBIGUOUS = "ambiguous"   # may or may not be written: re-read the destination log end
    RETRY = "retry"           # certainly not written (leader moved etc.): resend as is
    FAILED = "failed"


# Errors where the broker certainly did not append (it refused before writing).
_NOT_WRITTEN = frozenset({
    ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.LEADER_NOT_AVAILABLE,
    ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.UNSTABLE_OFFSET_COMMIT, ErrorCode.THROTTLING_QUOTA_EXCEEDED, ErrorCode.KAFKA_STORAGE_ERROR,
    # The mirror topic was deleted or recreated: the locator re-reads it (and names a lost tail).
    ErrorCode.UNKNOWN_TOPIC_ID, ErrorCode.INCONSISTENT_TOPIC_ID,
})
# Errors after which the write may have happened.
_MAYBE_WRITTEN = frozenset({
    ErrorCode.REQUEST_TIMED_OUT, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, ErrorCode.UNKNOWN_SERVER_ERROR,
    ErrorCode.NETWORK_EXCEPTION,
})


def judge_produce(expected_base: int, error_code: int, base_offset: int,
                  error_name: str = "") -> tuple[Verdict, str]:
    """Judge one partition's produce response against the source offset."""
    if not error_code:
        if base_offset == expected_base:
            return Verdict.OK, ""
        return Verdict.FAILED, (f"destination assigned base offset {base_offset} to the source batch "
                                f"at offset {expected_base}")
    name = error_name or _code_name(error_code)
    if error_code in _NOT_WRITTEN:
        return Verdict.RETRY, name
    if error_code in _MAYBE_WRITTEN:
        return Verdict.AMBIGUOUS, name
    return Verdict.FAILED, f"produce of source offset {expected_base} refused: {name}"


def _code_name(error_code: int) -> str:
    try:
        return ErrorCode(error_code).name
    except ValueError:
        return f"error {error_code}"
