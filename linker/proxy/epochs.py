"""Leader epochs shown to clients, shifted so they never go backwards at a switch (pure).

A client caches the leader epoch of every partition it uses and the epoch of
every record batch it consumed (its position and its commits carry it). A
migration's source has epochs of months of leader changes; a topic the mirror
created on the destination starts at 0. After a switch, clients holding the
source's epochs would see the destination's as older: Metadata ignored as
stale, OffsetForLeaderEpoch for an epoch the destination never had answered
"undefined", which clients read as log truncation and reset their position
(issue 21, finding 7). So a cluster's epochs can be shown shifted by a fixed
amount (`UpstreamConfig.epoch_shift`, set for a link's destination): every
epoch in a response is raised by it, every epoch in a request lowered by it.
An epoch below the shift in a request was learnt from the source before the
switch: as a current leader epoch it is dropped (-1: the broker does not check
it; the client's next Metadata brings a shifted one), as a committed epoch it
is dropped (the destination does not validate an epoch it never had), and as
the epoch a position is validated against (OffsetForLeaderEpoch) it becomes
the destination's current epoch, whose end is the log end: everything the
client read from the source is below it, so no truncation is reported.
"""
from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Any

from kproto import ApiKey

#: Kafka's message format v2 batch header: base offset (8), length (4), partition leader epoch (4), magic (1).
_BATCH_LENGTH_AT, _EPOCH_AT, _MAGIC_AT, _HEADER = 8, 12, 16, 17
_I32 = struct.Struct(">i")
_I16 = struct.Struct(">h")

#: Requests whose epochs are lowered and responses whose epochs are raised.
REQUEST_KEYS = frozenset({ApiKey.FETCH, ApiKey.LIST_OFFSETS, ApiKey.OFFSET_FOR_LEADER_EPOCH,
                          ApiKey.OFFSET_COMMIT, ApiKey.TXN_OFFSET_COMMIT})
RESPONSE_KEYS = frozenset({ApiKey.METADATA, ApiKey.FETCH, ApiKey.LIST_OFFSETS, ApiKey.OFFSET_FOR_LEADER_EPOCH,
                           ApiKey.OFFSET_FETCH, ApiKey.PRODUCE})

#: (topic, partition) -> the upstream's own current leader epoch, when known (from Metadata).
EpochOf = Callable[[str, int], "int | None"]


def down(epoch: int, shift: int) -> int:
    """A client's epoch in the upstream's terms; -1 for one learnt before the switch."""
    return epoch - shift if epoch >= shift else -1


def shift_records(records: Any, shift: int) -> bytearray | memoryview | None:
    """The batches with their partition leader epoch raised (v2 batches only; the field is
    outside the batch CRC, which covers attributes onwards); None if there is none.

    A writable view (records of a response the proxy collected into its own buffer) is
    patched in place, so shifting copies nothing; anything else is copied first."""
    if not records or len(records) < _HEADER:
        return None
    out = records if isinstance(records, memoryview) and not records.readonly else bytearray(records)
    pos, end, changed = 0, len(out), False
    while pos + _HEADER <= end:
        (length,) = _I32.unpack_from(out, pos + _BATCH_LENGTH_AT)
        if out[pos + _MAGIC_AT] >= 2:
            (epoch,) = _I32.unpack_from(out, pos + _EPOCH_AT)
            if epoch >= 0:
                _I32.pack_into(out, pos + _EPOCH_AT, epoch + shift)
                changed = True
        if length <= 0:
            break
        pos += _EPOCH_AT + length
    return out if changed else None


def lower_request(api_key: int, body: Any, shift: int, epoch_of: EpochOf) -> bool:
    """Lower the epochs of a request in place; True if anything changed."""
    changed = False
    if api_key == ApiKey.FETCH:
        for t in body.topics:
            for p in t.partitions:
                if p.current_leader_epoch >= 0:
                    p.current_leader_epoch = down(p.current_leader_epoch, shift)
                    changed = True
                if p.last_fetched_epoch >= 0:
                    p.last_fetched_epoch = down(p.last_fetched_epoch, shift)
                    changed = True
    elif api_key == ApiKey.LIST_OFFSETS:
        for t in body.topics:
            for p in t.partitions:
                if p.current_leader_epoch >= 0:
                    p.current_leader_epoch = down(p.current_leader_epoch, shift)
                    changed = True
    elif api_key == ApiKey.OFFSET_FOR_LEADER_EPOCH:
        for t in body.topics:
            for p in t.partitions:
                current = down(p.current_leader_epoch, shift) if p.current_leader_epoch >= 0 else -1
                if p.leader_epoch >= shift:
                    p.leader_epoch -= shift
                elif p.leader_epoch >= 0:   # the source's: its records all lie below the current end
                    known = current if current >= 0 else epoch_of(t.topic, p.partition)
                    p.leader_epoch = known if known is not None else 0
                p.current_leader_epoch = current
                changed = True
    elif api_key in (ApiKey.OFFSET_COMMIT, ApiKey.TXN_OFFSET_COMMIT):
        for t in body.topics:
            for p in t.partitions:
                if p.committed_leader_epoch >= 0:
                    p.committed_leader_epoch = down(p.committed_leader_epoch, shift)
                    changed = True
    return changed


def raise_response(api_key: int, body: Any, shift: int) -> bool:
    """Raise the epochs of a response in place; True if anything changed."""
    changed = False
    if api_key == ApiKey.METADATA:
        for t in body.topics:
            for p in t.partitions:
                if p.leader_epoch >= 0:
                    p.leader_epoch += shift
                    changed = True
    elif api_key == ApiKey.FETCH:
        for t in body.responses:
            for p in t.partitions:
                for e in (p.current_leader, p.diverging_epoch):
                    if e is not None:
                        if hasattr(e, "leader_epoch") and e.leader_epoch >= 0:
                            e.leader_epoch += shift
                            changed = True
                        elif hasattr(e, "epoch") and e.epoch >= 0:
                            e.epoch += shift
                            changed = True
                records = shift_records(p.records, shift)
                if records is not None:
                    p.records = records
                    changed = True
    elif api_key == ApiKey.LIST_OFFSETS or api_key == ApiKey.OFFSET_FOR_LEADER_EPOCH:
        for t in body.topics:
            for p in t.partitions:
                if p.leader_epoch >= 0:
                    p.leader_epoch += shift
                    changed = True
    elif api_key == ApiKey.OFFSET_FETCH:
        groups = body.groups or [body]
        for g in groups:
            for t in g.topics:
                for p in t.partitions:
                    if p.committed_leader_epoch >= 0:
                        p.committed_leader_epoch += shift
                        changed = True
    elif api_key == ApiKey.PRODUCE:
        for t in body.responses:
            for p in t.partition_responses:
                if p.current_leader is not None and p.current_leader.leader_epoch >= 0:
                    p.current_leader.leader_epoch += shift
                    changed = True
    return changed


def leader_epochs(metadata: Any) -> Mapping[tuple[str, int], int]:
    """(topic, partition) -> leader epoch of a Metadata response (the upstream's own)."""
    return {(t.name, p.partition_index): p.leader_epoch for t in metadata.topics if t.name
            for p in t.partitions if p.leader_epoch >= 0}


class FetchEpochPatcher:
    """Raise the epochs of one Fetch response as its bytes pass, in place (sans-I/O).

    What `raise_response` does to a decoded Fetch response, done on the wire form:
    every epoch it raises is a fixed-width int32 (a partition's diverging_epoch.epoch
    and current_leader.leader_epoch, tagged fields from v12; each v2 batch header's
    partition leader epoch), so the length never changes and the response can be
    relayed as it arrives. `feed(chunk)` takes the next bytes after the correlation
    id as a writable view, patches them, and returns what may be sent now, in order
    (views of the chunk, plus a copy of a field that began in the previous chunk);
    the few bytes of a field cut by the chunk's end are held until it completes.
    `close()` returns what is still held when the frame ends. Records are not
    looked into beyond batch headers; anything after the partitions (top-level
    tagged fields) passes unread.
    """

    __slots__ = ("_shift", "_walker", "_need", "_skip", "_held", "_records", "_batch_rest")

    def __init__(self, version: int, shift: int) -> None:
        self._shift = shift
        self._walker = self._walk(version)
        self._held = bytearray()     # the start of a field cut by the last chunk's end
        self._need = 0               # bytes of the field waited for (0: none)
        self._skip = 0               # bytes to pass unread (-1: all the rest)
        self._records = 0            # bytes left of the records field being walked (batch by batch)
        self._batch_rest = 0         # bytes left of the current batch after its header
        self._advance(None)

    def _advance(self, value: Any) -> None:
        """Run the walker to its next request: n > 0 to read n bytes, n < 0 to skip -n, a
        1-tuple (size,) for a records field (walked here, batch headers only)."""
        try:
            n = self._walker.send(value)
        except StopIteration:
            self._need, self._skip = 0, -1   # the rest passes unread
            return
        if n.__class__ is tuple:
            self._need, self._skip, self._records, self._batch_rest = 0, 0, n[0], 0
        elif n < 0:
            self._need, self._skip = 0, -n
        else:
            self._need, self._skip = n, 0

    def _batch_header(self, header: Any) -> None:
        """Raise a batch header's epoch (v2 batches; as shift_records) and skip to the next one."""
        (length,) = _I32.unpack_from(header, _BATCH_LENGTH_AT)
        if header[_MAGIC_AT] >= 2:
            (epoch,) = _I32.unpack_from(header, _EPOCH_AT)
            if epoch >= 0:
                _I32.pack_into(header, _EPOCH_AT, epoch + self._shift)
        rest = self._records - _HEADER
        self._need = 0
        self._records = rest
        # a length shorter than the header's own (malformed): the rest passes unread
        self._batch_rest = rest if length < _HEADER - _EPOCH_AT else min(_EPOCH_AT + length - _HEADER, rest)
        if not rest:
            self._advance(None)

    def feed(self, chunk: memoryview) -> list[Any]:
        out: list[Any] = []
        pos, end, emit = 0, len(chunk), 0
        while pos < end:
            if self._skip < 0:           # done: everything else as is
                pos = end
                break
            if self._skip:
                take = min(self._skip, end - pos)
                pos += take
                self._skip -= take
                if not self._skip:
                    self._advance(None)
                continue
            if self._records and not self._need:
                if self._batch_rest:
                    take = min(self._batch_rest, end - pos)
                    pos += take
                    self._batch_rest -= take
                    self._records -= take
                    if not self._records:
                        self._advance(None)
                    continue
                if self._records < _HEADER:  # a batch cut by the fetch: its start passes
                    self._batch_rest = self._records
                    continue
                if end - pos >= _HEADER:
                    pos += _HEADER
                    self._batch_header(chunk[pos - _HEADER:pos])   # patched in place
                    continue
                self._need = _HEADER         # cut by the chunk's end: held below
            need = self._need
            held = self._held
            if held:                     # a field begun in the last chunk
                take = min(need - len(held), end - pos)
                held += chunk[pos:pos + take]
                pos += take
                emit = pos
                if len(held) < need:
                    break
                field = memoryview(bytearray(held))
                held.clear()
                self._field(field)       # patched in this copy
                out.append(field)
                continue
            if end - pos < need:         # cut by the end of the chunk: hold it
                if pos > emit:
                    out.append(chunk[emit:pos])
                held += chunk[pos:end]
                return out
            field = chunk[pos:pos + need]
            pos += need
            self._field(field)           # patched in place
        if pos > emit:
            out.append(chunk[emit:pos])
        return out

    def _field(self, field: Any) -> None:
        if self._records:
            self._batch_header(field)
        else:
            self._advance(field)

    def close(self) -> list[Any]:
        """What is still held when the frame ends (only a truncated response leaves any)."""
        held, self._held = self._held, bytearray()
        return [bytes(held)] if held else []

    # -- the walk: yields n > 0 to read n bytes (sent back, writable), n < 0 to skip -n ----
    def _walk(self, v: int) -> Any:
        flexible = v >= 12
        if flexible:
            yield from self._skip_tagged()           # response header v1
        yield -(4 + (6 if v >= 7 else 0))            # throttle_time_ms, error_code, session_id
        topics = yield from self._array_length(flexible)
        for _ in range(topics):
            if v >= 13:
                yield -16                            # topic_id
            else:
                n = yield from self._string_length(flexible)
                if n > 0:
                    yield -n
            partitions = yield from self._array_length(flexible)
            for _ in range(partitions):
                yield -(4 + 2 + 8 + (8 if v >= 4 else 0) + (8 if v >= 5 else 0))
                if v >= 4:
                    aborted = yield from self._array_length(flexible)
                    for _ in range(aborted):
                        yield -16
                        if flexible:
                            yield from self._skip_tagged()
                if v >= 11:
                    yield -4                         # preferred_read_replica
                if flexible:
                    size = (yield from self._uvarint()) - 1
                else:
                    size = _I32.unpack((yield 4))[0]
                if size > 0:
                    yield (size,)                    # records: walked by feed()
                if flexible:
                    yield from self._partition_tags()
            if flexible:
                yield from self._skip_tagged()

    def _partition_tags(self) -> Any:
        """diverging_epoch (tag 0: epoch first) and current_leader (tag 1: leader id, epoch)."""
        for _ in range((yield from self._uvarint())):
            tag = yield from self._uvarint()
            size = yield from self._uvarint()
            at = {0: 0, 1: 4}.get(tag)
            if at is None or size < at + 4:
                if size:
                    yield -size
                continue
            field = yield size
            (epoch,) = _I32.unpack_from(field, at)
            if epoch >= 0:
                _I32.pack_into(field, at, epoch + self._shift)

    def _skip_tagged(self) -> Any:
        for _ in range((yield from self._uvarint())):
            yield from self._uvarint()
            size = yield from self._uvarint()
            if size:
                yield -size

    def _array_length(self, flexible: bool) -> Any:
        if flexible:
            return max((yield from self._uvarint()) - 1, 0)
        return max(_I32.unpack((yield 4))[0], 0)

    def _string_length(self, flexible: bool) -> Any:
        if flexible:
            return (yield from self._uvarint()) - 1
        return _I16.unpack((yield 2))[0]

    @staticmethod
    def _uvarint() -> Any:
        n, shift = 0, 0
        while True:
            b = (yield 1)[0]
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7
            if shift > 28:
                raise ValueError("varint longer than 5 bytes in a Fetch response")
