"""What the engine tracks for one mirrored partition between fetch and ack.

A row of the partition table (``table.py``), which is the only code that
changes the queue, the in-flight batch and the state; components read the
positions and set the ones they own (the fetcher ``next_fetch``, the locator
the located ends, the producer ``acked_end``).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from kproto.records.batch import BatchView
from linker.mirror.pipeline import AckedMark, may_follow
from linker.mirror.sequences import Seq
from linker.mirror.state import PartitionState, PartitionStatus
from linker.client import TopicPartition as TP



class FrameCharge:
    """The byte budget's charge for one fetch response frame.

    A ``BatchView`` is a memoryview into the whole response frame, so the frame
    stays in memory until the last batch taken from it is acknowledged or
    dropped: the budget is charged the frame's size, given back when its last
    holder lets go (``PartitionTable.release``).
    """

    __slots__ = ("size", "holders")

    def __init__(self, size: int) -> None:
        self.size = size
        self.holders = 0


class Blocker:
    """A queue marker: everything before it is produced, then the partition is BLOCKED."""

    size = 0
    next_offset = -1

    def __init__(self, offset: int, reason: str) -> None:
        self.offset, self.reason = offset, reason


#: A queued item and the frame it pins (None for a Blocker).
Entry = tuple[BatchView | Blocker, FrameCharge | None]


@dataclass
class PartitionMirror:
    tp: TP
    status: PartitionStatus
    # The destination's log end as far as acknowledged produces tell.
    acked_end: int = 0
    # acked_end plus the batches in flight: where the next produced batch must land.
    produced_end: int = 0
    # Next source offset to fetch and the epoch of the batch that ended there.
    next_fetch: int = 0
    fetch_epoch: int = -1
    produced_epoch: int = -1
    queue: deque[Entry] = field(default_factory=deque)
    # Batch bytes queued or in flight (the per-partition share; the budget charges frames).
    queued_bytes: int = 0
    # Batches sent and not answered yet, oldest first (more than one only for a pipelined run of
    # one idempotent producer, ``pipeline.py``), and the connection they all went on.
    flight: deque[Entry] = field(default_factory=deque)
    flight_connection: object | None = None
    # A pipelined batch was answered with a failure: later answers of the run are expected to fail.
    flight_broken: bool = False
    # The idempotent producer of the batch acknowledged last (``pipeline.AckedMark``).
    acked_mark: AckedMark | None = None
    resync_needed: bool = False
    # The next source batch cannot be stored exactly: stop fetching, block after the queue drains.
    fetch_done: bool = False
    # A source batch larger than the per-partition fetch limit: ask for this many bytes.
    max_bytes_hint: int = 0
    # Source log start inside the first batch to mirror: DeleteRecords to it once that batch is stored.
    pending_log_start: int | None = None
    # The base offset the first fetched batch must have when fetching from inside it.
    first_base: int | None = None
    # Not located yet since it joined the engine (destination data found then gets a prefix check).
    first_locate: bool = False
    locating: bool = False
    last_mirrored_ts: int | None = None
    mirrored_bytes: int = 0
    mirrored_records: int = 0
    # Paused by a lifecycle command: neither fetched nor produced until resumed.
    paused: bool = False
    # Scale-out: another member of the link's group owns it (neither located, fetched nor produced here).
    unowned: bool = False
    # The source topic is compacted: cleaned ranges are rebuilt (``compacted.py``).
    compacted: bool = False
    # Fetched batches (own copies) whose holes wait for a later record, and where they start.
    held: list[BatchView] = field(default_factory=list)
    held_from: int = 0
    held_bytes: int = 0   # charged to the byte budget (PartitionTable.keep_held)
    rebuilt_batches: int = 0
    # Compacted: the destination's producer sequences once the planned batches are stored, and the
    # source's at locate (``sequences``): which sequence gaps fillers must carry.
    dest_producers: dict[int, Seq] = field(default_factory=dict)
    source_producers: dict[int, Seq] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.status.state is PartitionState.MIRRORING and not self.resync_needed and not self.locating \
            and not self.paused and not self.unowned

    @property
    def in_flight(self) -> BatchView | None:
        """The oldest batch in flight (None: nothing in flight)."""
        return self.flight[0][0] if self.flight else None  # type: ignore[return-value]

    @property
    def wants_fetch(self) -> bool:
        return self.active and not self.fetch_done

    @property
    def ready_to_produce(self) -> bool:
        """The head batch may be sent now: nothing in flight, or it continues a pipelined run."""
        if not self.active or not self.queue:
            return False
        if not self.flight:
            return True
        if self.flight_broken or self.compacted:
            return False
        return may_follow(self.acked_mark, self.acked_end, [b for b, _ in self.flight], self.queue[0][0])

    def avg_record_bytes(self) -> float:
        return self.mirrored_bytes / self.mirrored_records if self.mirrored_records else 0.0

