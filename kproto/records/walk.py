"""Walk the batches of a records blob (a Fetch response's records field).

Brokers cut fetch responses by bytes, so the last batch is often incomplete.
That is not an error: the walk stops there and reports how many bytes it
consumed, so the caller can fetch again from the next offset.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Union

from kproto.records.batch import (
    BatchView,
    Buffer,
    LegacyEntry,
    _new_view,
    as_byte_view,
    legacy_entry_at,
)
from kproto.records.errors import CorruptBatchError
from kproto.records.layout import (
    HEADER,
    HEADER_SIZE,
    IX_BASE_OFFSET,
    IX_BATCH_LENGTH,
    IX_MAGIC,
    LOG_OVERHEAD,
    MIN_BATCH_LENGTH,
    PREFIX,
    PREFIX_SIZE,
)

Entry = Union[BatchView, LegacyEntry]


class BatchWalk:
    """An iterable over the complete batches of a blob.

    During and after iteration, ``consumed`` is the byte position just past
    the last complete batch yielded; ``tail`` is the number of bytes left
    (a truncated trailing batch). Iterate once.
    """

    __slots__ = ("_buf", "consumed")

    def __init__(self, records: Buffer | None, position: int = 0) -> None:
        self._buf = as_byte_view(records if records is not None else b"")
        if not 0 <= position <= len(self._buf):
            raise CorruptBatchError(f"walk start {position} is outside a {len(self._buf)}-byte blob")
        self.consumed = position

    @property
    def tail(self) -> int:
        """Bytes after the last complete batch (0 when the blob ended cleanly)."""
        return len(self._buf) - self.consumed

    @property
    def truncated(self) -> bool:
        """True when the blob ends inside a batch."""
        return self.consumed < len(self._buf)

    def __iter__(self) -> Iterator[Entry]:
        mv = self._buf
        end = len(mv)
        pos = self.consumed
        unpack = HEADER.unpack_from
        new = _new_view
        view_type = BatchView
        while True:
            left = end - pos
            if left >= HEADER_SIZE:
                h = unpack(mv, pos)
                if h[IX_MAGIC] == 2:
                    if h[IX_BATCH_LENGTH] < MIN_BATCH_LENGTH:
                        raise CorruptBatchError(
                            f"batchLength {h[IX_BATCH_LENGTH]} at offset {h[IX_BASE_OFFSET]} "
                            f"is below the minimum {MIN_BATCH_LENGTH}",
                            position=pos,
                        )
                    size = h[IX_BATCH_LENGTH] + LOG_OVERHEAD
                    if size > left:
                        return
                    view = new(view_type)
                    view._buf = mv
                    view._pos = pos
                    view._h = h
                    pos += size
                    self.consumed = pos
                    yield view
                    continue
            elif left < PREFIX_SIZE:
                return
            else:
                offset, length, magic = PREFIX.unpack_from(mv, pos)
                if magic == 2:
                    if length < MIN_BATCH_LENGTH:
                        raise CorruptBatchError(
                            f"batchLength {length} at offset {offset} is below the minimum {MIN_BATCH_LENGTH}",
                            position=pos,
                        )
                    return
            entry = legacy_entry_at(mv, pos)
            if entry is None:
                return
            pos += entry.size
            self.consumed = pos
            yield entry


def walk_batches(records: Buffer | None, position: int = 0) -> BatchWalk:
    """Iterate the complete batches of ``records``; see ``BatchWalk``."""
    return BatchWalk(records, position)


def split_batches(records: Buffer | None) -> tuple[list[Entry], int]:
    """All complete batches of ``records`` and the bytes they cover."""
    walk = BatchWalk(records)
    entries = list(walk)
    return entries, walk.consumed
