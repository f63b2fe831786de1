"""The leading-gap plan: make an empty destination partition start where the
source starts.

No client API sets a log end offset, and a produced batch must have as many
records as offsets, so each of the S gap offsets is a real (tiny, null) record.
The plan writes them in large compressed batches and calls DeleteRecords every
``delete_every`` offsets so the filler bytes on disk stay bounded, ending with
DeleteRecords(S) so no filler is readable.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WriteFillers:
    base_offset: int   # the offset the broker must assign to the first filler
    count: int


@dataclass(frozen=True)
class DeleteBefore:
    offset: int        # DeleteRecords to this offset (new log start)


Step = WriteFillers | DeleteBefore


def plan_alignment(dest_end: int, dest_start: int, target: int,
                   batch_records: int, delete_every: int) -> list[Step]:
    """Steps that take a destination from [dest_start, dest_end) to start = end = target."""
    if batch_records <= 0 or delete_every <= 0:
        raise ValueError("batch_records and delete_every must be positive")
    if dest_end > target:
        raise ValueError(f"destination end {dest_end} is already past the target {target}")
    steps: list[Step] = []
    pos = dest_end
    since_delete = 0
    while pos < target:
        n = min(batch_records, target - pos)
        steps.append(WriteFillers(pos, n))
        pos += n
        since_delete += n
        if since_delete >= delete_every and pos < target:
            steps.append(DeleteBefore(pos))
            since_delete = 0
    if dest_start < target:
        steps.append(DeleteBefore(target))
    return steps


def max_filler_offsets_on_disk(steps: list[Step], dest_start: int) -> int:
    """The most filler offsets readable at any moment while following a plan."""
    start, end, peak = dest_start, dest_start, 0
    for s in steps:
        if isinstance(s, WriteFillers):
            end = s.base_offset + s.count
        else:
            start = s.offset
        peak = max(peak, end - start)
    return peak
