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
