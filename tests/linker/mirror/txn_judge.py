"""An independent verdict for replayed transactional topics (shares no code with the linker).

Two views must agree between the clusters, per partition:

- records: kafka-python and confluent-kafka consumers, read_committed and
  read_uncommitted, see the same (partition, offset, key, value, headers)
  sequences;
- raw batches (``tests/checker.py``: kafka-python protocol classes, ``struct``):
  the same log start, log end and last stable offset; every batch at the same
  base offset with the same last offset delta, record count, attributes and
  timestamps; a data batch's CRC-covered bytes equal except the producer id,
  epoch and base sequence (re-stamped); a marker of the same type (COMMIT/ABORT)
  where the source has one (a marker's timestamp and coordinator epoch are the
  destination coordinator's); and a valid CRC on both sides.
"""
from __future__ import annotations

import struct
from typing import Any

from kafkabed.producers import consume
from tests.checker import Batch, RawCluster, read_log

_CONTROL, _TRANSACTIONAL = 0x20, 0x10
# In ``Batch.covered`` (attributes .. end): attributes 2, last offset delta 4, two timestamps 16,
# then producer id 8, epoch 2, base sequence 4, then record count and the records.
_PRODUCER_FROM, _PRODUCER_TO = 22, 36


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return (value >> 1) ^ -(value & 1), pos
        shift += 7


def control_type(b: Batch) -> int:
    """The type in a (uncompressed) control record's key: 0 ABORT, 1 COMMIT."""
    pos = 40                                  # past the rest of the header
    _, pos = _varint(b.covered, pos)          # record length
    pos += 1                                  # record attributes
    _, pos = _varint(b.covered, pos)          # timestamp delta
    _, pos = _varint(b.covered, pos)          # offset delta
    _, pos = _varint(b.covered, pos)          # key length
    return struct.unpack_from(">h", b.covered, pos + 2)[0]


def batch_difference(s: Batch, d: Batch) -> str | None:
    for name in ("base_offset", "last_offset_delta", "record_count", "attributes"):
        if getattr(s, name) != getattr(d, name):
            return f"{name}: source {getattr(s, name)}, destination {getattr(d, name)}"
    if not (s.crc_valid and d.crc_valid):
        return "invalid CRC"
    if s.attributes & _CONTROL:
        if control_type(s) != control_type(d):
            return f"marker type: source {control_type(s)}, destination {control_type(d)}"
        return None
    if (s.base_timestamp, s.max_timestamp) != (d.base_timestamp, d.max_timestamp):
        return "timestamps"
    if s.attributes & _TRANSACTIONAL:
        if d.producer_id < 0:
            return "destination batch has no producer id"
        if (s.covered[:_PRODUCER_FROM] != d.covered[:_PRODUCER_FROM]
                or s.covered[_PRODUCER_TO:] != d.covered[_PRODUCER_TO:]):
            return "records or header fields other than the producer's differ"
        return None
    if s.covered != d.covered or s.crc != d.crc:
        return "bytes of a non-transactional batch differ"
    return None


def raw_difference(source: Any, destination: Any, topic: str, partition: int) -> str | None:
    with RawCluster(source.bootstrap) as sc, RawCluster(destination.bootstrap) as dc:
        src, dst = read_log(sc, topic, partition), read_log(dc, topic, partition)
    for name in ("log_start", "log_end", "last_stable"):
        if getattr(src, name) != getattr(dst, name):
            return f"{topic}-{partition} {name}: source {getattr(src, name)}, destination {getattr(dst, name)}"
    if len(src.batches) != len(dst.batches):
        return f"{topic}-{partition}: {len(src.batches)} source batches, {len(dst.batches)} destination batches"
    for s, d in zip(src.batches, dst.batches):
        why = batch_difference(s, d)
        if why:
            return f"{topic}-{partition} batch at {s.base_offset}: {why}"
    return None


def record_views(cluster: Any, topic: str, committed: int, everything: int) -> dict[str, list[tuple]]:
    out = {}
    for client in ("kafka-python", "confluent"):
        for rc, n in ((True, committed), (False, everything)):
            got = consume(cluster, topic, n, client=client, read_committed=rc, timeout=20)
            out[f"{client} {'read_committed' if rc else 'read_uncommitted'}"] = [
                (c.partition, c.offset, c.key, c.value, c.headers) for c in got]
    return out


def assert_same(source: Any, destination: Any, topic: str, partitions: int, committed: int,
                everything: int) -> None:
    """The mirror of ``topic`` is offset-exact for every reader (see the module doc)."""
    for p in range(partitions):
        why = raw_difference(source, destination, topic, p)
        assert why is None, why
    s_views = record_views(source, topic, committed, everything)
    d_views = record_views(destination, topic, committed, everything)
    for name, seq in s_views.items():
        assert len(seq) == (committed if "read_committed" in name else everything), (name, len(seq))
        assert d_views[name] == seq, f"{name}: destination differs"
