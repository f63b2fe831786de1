"""An independent exactness checker for mirror tests.

It judges a mirror without sharing a line with what it judges: no `linker.*`, no
`kproto.*`. Requests are built and parsed by kafka-python's protocol classes over
plain blocking sockets; batch headers are walked here with `struct`; CRCs are
recomputed with the `crc32c` package (zlib's CRC-32 for legacy v0/v1 messages).

A mirror is *exact* when, for every partition, the destination has the same log
start offset, log end offset (high watermark) and last stable offset as the source,
and every batch has the same base offset, last offset delta, record count, producer
id/epoch, base sequence, attributes, timestamps and the same CRC-covered bytes
(attributes to the end), with a valid CRC on both sides. "The destination is a
prefix of the source" is not exact.

    from tests.checker import check_mirror, wait_exact
    result = check_mirror(source, destination, ["t"])        # clusters or "host:port,..." strings
    assert result.exact, result                              # str() names the first difference
    wait_exact(source, destination, ["t"], timeout=60)       # polls until exact, else AssertionError

Plain-text listeners only (kafkabed's INTERNAL listener when given a cluster, so a
fault relay in front of the client listener does not stand in the checker's way).
"""
from __future__ import annotations

import itertools
import socket
import struct
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Sequence

import crc32c
import kafka.errors as Errors
from kafka.protocol.consumer import FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse
from kafka.protocol.metadata import MetadataRequest, MetadataResponse

__all__ = ["Batch", "CheckerError", "Difference", "LogSnapshot", "MirrorCheck", "PartitionCheck", "RawCluster",
           "batches_of", "check_mirror", "compare_logs", "corrupt", "read_log", "walk_batches", "wait_exact"]

FETCH_VERSION = 11        # topic names, no sessions needed; every supported broker (3.9 .. 4.x) has it
LIST_OFFSETS_VERSION = 5
METADATA_VERSION = 8
EARLIEST, LATEST = -2, -1
READ_UNCOMMITTED, READ_COMMITTED = 0, 1
# Error codes retried after a metadata refresh (a leader moved, a broker restarted).
_RETRY_AFTER_REFRESH = {e.errno for e in (
    Errors.UnknownTopicOrPartitionError, Errors.LeaderNotAvailableError, Errors.NotLeaderForPartitionError,
    Errors.ReplicaNotAvailableError, Errors.NetworkExceptionError, Errors.FencedLeaderEpochError,
    Errors.UnknownLeaderEpochError, Errors.KafkaStorageError)}

_SIZE = struct.Struct(">i")
_RESPONSE_HEAD = struct.Struct(">ii")                       # size, correlation id
_LOG_ENTRY_HEAD = struct.Struct(">qi")                      # base offset / offset, batch length / size
# RecordBatch v2 header after base offset and length: leader epoch, magic, crc, attributes,
# last offset delta, base timestamp, max timestamp, producer id, producer epoch, base sequence, count
_V2_HEAD = struct.Struct(">ibIhiqqqhii")
_V2_HEADER_SIZE = 61
_V2_CRC_COVERED_FROM = 21
_LEGACY_HEAD = struct.Struct(">Ibb")                        # crc, magic, attributes (v0 and v1)


class CheckerError(RuntimeError):
    """The checker could not read a log (unreachable broker, persistent error code)."""


# ---------------------------------------------------------------------------- batches
@dataclass(frozen=True)
class Batch:
    """One log entry as stored: a v2 RecordBatch or a legacy (v0/v1) message."""

    base_offset: int
    last_offset_delta: int
    magic: int
    crc: int
    attributes: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    record_count: int
    covered: bytes            # the CRC-covered bytes: attributes..end (v2), magic..end (v0/v1)
    leader_epoch: int = -1    # set by the broker that stores it; not part of exactness

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def crc_valid(self) -> bool:
        if self.magic >= 2:
            return crc32c.crc32c(self.covered) == self.crc
        return zlib.crc32(self.covered) & 0xFFFFFFFF == self.crc


def walk_batches(data: bytes | memoryview) -> tuple[list[Batch], int]:
    """Parse the complete log entries of a fetched records blob; returns them and the number of
    bytes they span. A truncated entry at the end (the broker cuts at the byte limit) is left out."""
    view = memoryview(data)
    out: list[Batch] = []
    pos = 0
    while pos + _LOG_ENTRY_HEAD.size <= len(view):
        base_offset, length = _LOG_ENTRY_HEAD.unpack_from(view, pos)
        end = pos + _LOG_ENTRY_HEAD.size + length
        if length < 0 or end > len(view) or pos + 17 > len(view):
            break
        magic = view[pos + 16]
        if magic >= 2:
            if length < _V2_HEADER_SIZE - 12:
                raise CheckerError(f"batch at offset {base_offset}: length {length} below a v2 header")
            (epoch, magic, crc, attrs, delta, base_ts, max_ts, pid, pepoch, base_seq,
             count) = _V2_HEAD.unpack_from(view, pos + 12)
            out.append(Batch(base_offset, delta, magic, crc, attrs, base_ts, max_ts, pid, pepoch, base_seq,
                             count, bytes(view[pos + _V2_CRC_COVERED_FROM:end]), epoch))
        else:
            crc, magic, attrs = _LEGACY_HEAD.unpack_from(view, pos + 12)
            ts = struct.unpack_from(">q", view, pos + 18)[0] if magic == 1 else -1
            # a compressed legacy wrapper carries the offset of its last inner message
            out.append(Batch(base_offset, 0, magic, crc, attrs, ts, ts, -1, -1, -1, 1,
                             bytes(view[pos + 16:end])))
        pos = end
    return out, pos


# ---------------------------------------------------------------------------- raw client
class _Connection:
    """One blocking socket to one broker: framed kafka-python requests in, decoded responses out."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.correlation = itertools.count(1)

    def call(self, request: Any, response_class: Any) -> Any:
        correlation = next(self.correlation)
        request.with_header(correlation_id=correlation, client_id="exactness-checker")
        self.sock.sendall(request.encode(header=True, framed=True))
        size, got = _RESPONSE_HEAD.unpack(self._read(8))
        if got != correlation:
            raise CheckerError(f"correlation id {got} in answer to request {correlation}")
        # the versions used here are not flexible: no tagged fields in the response header
        return response_class.decode(self._read(size - 4), version=request.API_VERSION)

    def _read(self, n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            chunk = self.sock.recv(min(n - got, 1 << 20))
            if not chunk:
                raise CheckerError("broker closed the connection")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self.sock.close()


def _bootstrap_of(cluster: Any) -> str:
    """A kafkabed cluster's direct (non-relayed) listener, or a bootstrap string as given."""
    if isinstance(cluster, str):
        return cluster
    return cluster.bootstrap_for("INTERNAL")


@dataclass
class RawCluster:
    """A minimal blocking Kafka client: metadata, ListOffsets and Fetch to partition leaders."""

    bootstrap: str
    timeout: float = 10.0
    _conns: dict[int, _Connection] = field(default_factory=dict)
    _brokers: dict[int, tuple[str, int]] = field(default_factory=dict)
    _leaders: dict[tuple[str, int], int] = field(default_factory=dict)

    def close(self) -> None:
        for c in self._conns.values():
            c.close()
        self._conns.clear()

    def __enter__(self) -> "RawCluster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def partitions(self, topic: str) -> list[int] | None:
        """The topic's partition ids, or None if it does not exist; refreshes leaders."""
        last: Exception | None = None
        for hostport in self.bootstrap.split(","):
            host, port = hostport.rsplit(":", 1)
            try:
                conn = _Connection(host, int(port), self.timeout)
            except OSError as e:
                last = e
                continue
            try:
                req = MetadataRequest[METADATA_VERSION](topics=[MetadataRequest.MetadataRequestTopic(name=topic)],
                                                        allow_auto_topic_creation=False,
                                                        include_topic_authorized_operations=False)
                resp = conn.call(req, MetadataResponse)
            except (OSError, CheckerError) as e:
                last = e
                continue
            finally:
                conn.close()
            self._brokers = {b.node_id: (b.host, b.port) for b in resp.brokers}
            (t,) = resp.topics
            if t.error_code == Errors.UnknownTopicOrPartitionError.errno:
                return None
            for p in t.partitions:
                self._leaders[(topic, p.partition_index)] = p.leader_id
            return sorted(p.partition_index for p in t.partitions)
        raise CheckerError(f"no broker of {self.bootstrap} answered Metadata: {last}")

    def leaders(self, topic: str) -> dict[int, int]:
        """partition -> leader node id (-1: none), from fresh metadata."""
        parts = self.partitions(topic) or []
        return {p: self._leaders.get((topic, p), -1) for p in parts}

    def _leader_call(self, topic: str, partition: int, make: Any, response_class: Any, attempts: int = 20) -> Any:
        """Send to the partition leader; refresh metadata and retry on leader changes."""
        last = ""
        for _ in range(attempts):
            leader = self._leaders.get((topic, partition), -1)
            if leader < 0 or leader not in self._brokers:
                self.partitions(topic)
                leader = self._leaders.get((topic, partition), -1)
                if leader < 0 or leader not in self._brokers:
                    last = f"no leader for {topic}-{partition}"
                    time.sleep(0.2)
                    continue
            try:
                conn = self._conns.get(leader)
                if conn is None:
                    conn = self._conns[leader] = _Connection(*self._brokers[leader], self.timeout)
                resp = conn.call(make(), response_class)
            except (OSError, CheckerError) as e:
                self._drop(leader)
                last = f"node {leader}: {e}"
                time.sleep(0.2)
                continue
            (t,) = resp.topics if hasattr(resp, "topics") else resp.responses
            (p,) = t.partitions
            if p.error_code in _RETRY_AFTER_REFRESH:
                self._drop(leader)
                last = f"{topic}-{partition} error code {p.error_code}"
                time.sleep(0.2)
                continue
            return p
        raise CheckerError(f"{self.bootstrap}: {last}")

    def _drop(self, leader: int) -> None:
        conn = self._conns.pop(leader, None)
        if conn is not None:
            conn.close()
        self._leaders = {k: v for k, v in self._leaders.items() if v != leader}

    def list_offset(self, topic: str, partition: int, spec: int, isolation: int = READ_UNCOMMITTED) -> int:
        def make() -> Any:
            return ListOffsetsRequest[LIST_OFFSETS_VERSION](
                replica_id=-1, isolation_level=isolation,
                topics=[ListOffsetsRequest.ListOffsetsTopic(name=topic, partitions=[
                    ListOffsetsRequest.ListOffsetsTopic.ListOffsetsPartition(
                        partition_index=partition, current_leader_epoch=-1, timestamp=spec)])])
        p = self._leader_call(topic, partition, make, ListOffsetsResponse)
        if p.error_code:
            raise CheckerError(f"ListOffsets {topic}-{partition}: error code {p.error_code}")
        return p.offset

    def fetch(self, topic: str, partition: int, offset: int, max_bytes: int = 1 << 20) -> Any:
        def make() -> Any:
            return FetchRequest[FETCH_VERSION](
                replica_id=-1, max_wait_ms=0, min_bytes=0, max_bytes=4 * max_bytes,
                isolation_level=READ_UNCOMMITTED, session_id=0, session_epoch=-1,
                topics=[FetchRequest.FetchTopic(topic=topic, partitions=[FetchRequest.FetchTopic.FetchPartition(
                    partition=partition, current_leader_epoch=-1, fetch_offset=offset, log_start_offset=-1,
                    partition_max_bytes=max_bytes)])],
                forgotten_topics_data=[], rack_id="")
        return self._leader_call(topic, partition, make, FetchResponse)


# ---------------------------------------------------------------------------- one log
@dataclass
class LogSnapshot:
    """A partition's bounds and every batch from its log start up to the end read."""

    topic: str
    partition: int
    log_start: int
    log_end: int              # ListOffsets latest (read_uncommitted): the high watermark
    last_stable: int          # ListOffsets latest (read_committed)
    batches: list[Batch]


def read_log(cluster: RawCluster, topic: str, partition: int, max_bytes: int = 1 << 20) -> LogSnapshot:
    """Read one partition's bounds, then fetch in a loop from the log start to that end."""
    for _ in range(5):
        start = cluster.list_offset(topic, partition, EARLIEST)
        end = cluster.list_offset(topic, partition, LATEST)
        stable = cluster.list_offset(topic, partition, LATEST, READ_COMMITTED)
        batches: list[Batch] = []
        offset = start
        stalls = 0
        restarted = False
        while offset < end:
            p = cluster.fetch(topic, partition, offset, max_bytes)
            if p.error_code == Errors.OffsetOutOfRangeError.errno:   # retention or DeleteRecords moved the start
                restarted = True
                break
            if p.error_code:
                raise CheckerError(f"Fetch {topic}-{partition} at {offset}: error code {p.error_code}")
            got, _ = walk_batches(p.records or b"")
            got = [b for b in got if b.last_offset >= offset]
            if not got:
                stalls += 1
                if stalls > 50:
                    raise CheckerError(f"Fetch {topic}-{partition} at {offset} (end {end}) returns no batch")
                if len(p.records or b"") >= max_bytes:
                    max_bytes *= 2         # one batch larger than the limit
                time.sleep(0.05)
                continue
            stalls = 0
            batches.extend(got)
            offset = got[-1].last_offset + 1
        if not restarted:
            return LogSnapshot(topic, partition, start, end, stable, [b for b in batches if b.base_offset < end])
    raise CheckerError(f"{topic}-{partition}: the log start kept moving while reading")


# ---------------------------------------------------------------------------- comparison
@dataclass(frozen=True)
class Difference:
    """The first place where the destination is not what the source holds."""

    topic: str
    partition: int
    offset: int
    field: str
    source: Any
    destination: Any

    def __str__(self) -> str:
        return (f"{self.topic}-{self.partition} at offset {self.offset}: {self.field} "
                f"source={_short(self.source)} destination={_short(self.destination)}")


def _short(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes {bytes(value[:16]).hex()}...>"
    return repr(value)


_BATCH_FIELDS = ("base_offset", "last_offset_delta", "record_count", "magic", "producer_id", "producer_epoch",
                 "base_sequence", "attributes", "base_timestamp", "max_timestamp")


@dataclass
class PartitionCheck:
    """The verdict for one source partition and its mirror."""

    source: LogSnapshot
    destination: LogSnapshot | None
    differences: list[Difference]
    batches_compared: int

    @property
    def exact(self) -> bool:
        return not self.differences

    @property
    def first(self) -> Difference | None:
        return min(self.differences, key=lambda d: d.offset) if self.differences else None

    def __str__(self) -> str:
        s = self.source
        if self.exact:
            return (f"{s.topic}-{s.partition}: exact, offsets {s.log_start}..{s.log_end}, "
                    f"{self.batches_compared} batches")
        return str(self.first)


def compare_logs(src: LogSnapshot, dst: LogSnapshot, compare_stable: bool = True) -> PartitionCheck:
    """Compare bounds and every batch; batch comparison stops at the first differing batch."""
    diffs: list[Difference] = []

    def differ(offset: int, name: str, a: Any, b: Any) -> None:
        diffs.append(Difference(src.topic, src.partition, offset, name, a, b))

    if src.log_start != dst.log_start:
        differ(min(src.log_start, dst.log_start), "log_start_offset", src.log_start, dst.log_start)
    if src.log_end != dst.log_end:
        differ(min(src.log_end, dst.log_end), "log_end_offset", src.log_end, dst.log_end)
    if compare_stable and src.last_stable != dst.last_stable:
        differ(min(src.last_stable, dst.last_stable), "last_stable_offset", src.last_stable, dst.last_stable)
    for side, log in (("source", src), ("destination", dst)):
        for b in log.batches:
            if not b.crc_valid:
                crc = crc32c.crc32c(b.covered) if b.magic >= 2 else zlib.crc32(b.covered) & 0xFFFFFFFF
                bad = f"stored {b.crc:#010x}, computed {crc:#010x}"
                differ(b.base_offset, f"crc ({side} batch fails its CRC)",
                       bad if side == "source" else None, bad if side == "destination" else None)
                break
    lo, hi = max(src.log_start, dst.log_start), max(src.log_end, dst.log_end)
    a = [b for b in src.batches if b.last_offset >= lo and b.base_offset < hi]
    b_ = [b for b in dst.batches if b.last_offset >= lo and b.base_offset < hi]
    compared = 0
    for x, y in zip(a, b_):
        before = len(diffs)
        for name in _BATCH_FIELDS:
            if getattr(x, name) != getattr(y, name):
                differ(min(x.base_offset, y.base_offset), name, getattr(x, name), getattr(y, name))
                break
        else:
            if x.covered != y.covered:
                at = next(i for i, (p, q) in enumerate(zip(x.covered, y.covered)) if p != q) \
                    if len(x.covered) == len(y.covered) else min(len(x.covered), len(y.covered))
                differ(x.base_offset, f"crc_covered_bytes (first differing byte {at})", x.covered, y.covered)
        if len(diffs) > before:
            break
        compared += 1
    else:
        if len(a) > len(b_):
            differ(a[len(b_)].base_offset, "batch missing in destination", a[len(b_)].base_offset, None)
        elif len(b_) > len(a):
            differ(b_[len(a)].base_offset, "extra batch in destination", None, b_[len(a)].base_offset)
    return PartitionCheck(src, dst, diffs, compared)


@dataclass
class MirrorCheck:
    """Every partition of every checked topic."""

    partitions: list[PartitionCheck]
    topic_differences: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return not self.topic_differences and all(p.exact for p in self.partitions)

    @property
    def first(self) -> Difference | str | None:
        if self.topic_differences:
            return self.topic_differences[0]
        return next((p.first for p in self.partitions if not p.exact), None)

    @property
    def records(self) -> int:
        """Source offsets covered (end minus start, summed over partitions)."""
        return sum(p.source.log_end - p.source.log_start for p in self.partitions)

    def __str__(self) -> str:
        head = "exact" if self.exact else f"NOT exact: {self.first}"
        return "\n".join([f"mirror check: {head}", *self.topic_differences, *(str(p) for p in self.partitions)])


def check_mirror(source: Any, destination: Any, topics: Sequence[str], prefix: str = "",
                 compare_stable: bool = True, timeout: float = 10.0) -> MirrorCheck:
    """Compare every partition of `topics` on the source with `prefix + topic` on the destination.
    `source`/`destination` are kafkabed clusters (read on their direct listener) or bootstrap strings."""
    with RawCluster(_bootstrap_of(source), timeout) as src, RawCluster(_bootstrap_of(destination), timeout) as dst:
        checks: list[PartitionCheck] = []
        problems: list[str] = []
        for topic in topics:
            src_parts = src.partitions(topic)
            dst_parts = dst.partitions(prefix + topic)
            if src_parts is None:
                problems.append(f"source topic {topic!r} does not exist")
                continue
            if dst_parts is None:
                problems.append(f"destination topic {prefix + topic!r} does not exist")
                continue
            if src_parts != dst_parts:
                problems.append(f"{topic}: source partitions {src_parts}, destination {dst_parts}")
            for part in src_parts:
                if part not in dst_parts:
                    continue
                d = read_log(dst, prefix + topic, part)
                s = read_log(src, topic, part)
                d.topic = topic   # differences are named by the source topic
                checks.append(compare_logs(s, d, compare_stable))
        return MirrorCheck(checks, problems)


def wait_exact(source: Any, destination: Any, topics: Sequence[str], timeout: float = 60.0, prefix: str = "",
               min_records: int = 0, poll: float = 0.5, compare_stable: bool = True) -> MirrorCheck:
    """Poll until the mirror is exact (and the source holds at least `min_records` offsets); on the
    deadline raise AssertionError naming the last difference."""
    deadline = time.monotonic() + timeout
    last: MirrorCheck | str = "never checked"
    while True:
        try:
            last = check_mirror(source, destination, topics, prefix, compare_stable)
            if last.exact and last.records >= min_records:
                return last
        except CheckerError as e:
            last = f"checker could not read: {e}"
        if time.monotonic() > deadline:
            raise AssertionError(f"mirror not exact after {timeout:.0f}s: {last}")
        time.sleep(poll)


def batches_of(source: Any, topic: str, partition: int = 0) -> list[Batch]:
    """Every batch of one partition (for tests that build logs by hand)."""
    with RawCluster(_bootstrap_of(source)) as c:
        return read_log(c, topic, partition).batches


def corrupt(batch: Batch, at: int = -1) -> Batch:
    """A copy of `batch` with one CRC-covered byte flipped (its stored CRC no longer matches)."""
    covered = bytearray(batch.covered)
    covered[at] ^= 0xFF
    return Batch(**{**batch.__dict__, "covered": bytes(covered)})
