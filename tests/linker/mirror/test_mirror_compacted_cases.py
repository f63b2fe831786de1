"""Compacted topics, the last cases of issue 15, mirrored by `linker run` (a subprocess):
tombstones whose ``delete.retention.ms`` expired on the source, and ``compact,delete``
topics whose retention moved the log start.

Judged independently of the linker, as in ``test_mirror_compacted.py`` (whose helpers
are reused): records are read with kafka-python and confluent-kafka consumers, batch
bounds and log starts with ``tests/checker.py``. Nothing here asks ``linker.verify``,
``linker.client`` or ``kproto`` whether the mirror is exact; the linker's /status and
/metrics are only compared with what the consumers found.

The contract (docs/mirror.md, "Compacted topics"): every offset from the source's log
start to its high watermark exists on the destination; every record the source still
holds is there with the same key, value, headers and timestamp; each hole holds a copy
of the next retained record (a filler); a table reader starting anywhere ends in the
same key->value state. Holes with no later record (an empty compact,delete log) wait,
shown as lag, until the source writes a record.
"""
from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

from kafkabed.ports import free_ports
from kafkabed.producers import create_compacted_topic
from tests.checker import LATEST, RawCluster, read_log
from tests.faults.link_process import LinkerRun, write_link

from .test_mirror_compacted import Rec, _cleaned, _extra, _read_confluent, _read_kafka_python, _state, \
    _uncleaned_batches_byte_exact

#: Tombstones expire one second after the cleaning pass that first saw them.
EXPIRE_TOMBSTONES = {"delete.retention.ms": 1000}
#: compact,delete: segments whose newest record is older than an hour are deleted (the
#: test bed's cleaner thread runs retention for compact,delete logs every second).
MIXED = {"cleanup.policy": "compact,delete", "retention.ms": 3_600_000,
         "message.timestamp.before.max.ms": 9_223_372_036_854_775_807, **EXPIRE_TOMBSTONES}
#: Timestamps of records retention must delete: two hours old.
OLD_MS = 2 * 3_600_000
#: No further cleaning while mirroring: a filler copies the next record retained *then*.
FREEZE = {"segment.ms": 3_600_000, "min.cleanable.dirty.ratio": 0.99}
TOMB = (("tomb", b"1"),)


class Writer:
    """kafka-python producers (zstd and uncompressed) writing partition 0 of ``topic``;
    ``batch`` flushes, so each call is one batch of its own on the source. Not idempotent:
    an idempotent producer's vanished batches put it out of sequence on the destination, and
    its batches, uncleaned ones too, are then rebuilt (``test_mirror_compacted.py`` covers
    that); here every uncleaned batch stays byte-exact."""

    def __init__(self, cluster: Any, topic: str) -> None:
        from kafka import KafkaProducer
        self.topic = topic
        self.producers = [KafkaProducer(**cluster.kafka_python_config(), linger_ms=50, batch_size=1 << 20,
                                        enable_idempotence=False, acks=1,
                                        compression_type=codec) for codec in ("zstd", None)]

    def batch(self, i: int, recs: list[tuple[bytes, bytes | None, tuple]], ts: int | None) -> list[int]:
        producer = self.producers[i % 2]
        futures = [producer.send(self.topic, key=k, value=v, headers=list(h) or None, partition=0,
                                 timestamp_ms=None if ts is None else ts + n) for n, (k, v, h) in enumerate(recs)]
        producer.flush(30)
        return [f.get(30).offset for f in futures]

    def round(self, i: int, ts: int | None = None) -> dict[int, str]:
        """Round ``i``: 24 upserts over 8 live keys; doomed keys ``gone-i-a`` (written and deleted
        in a batch of its own: once its tombstone expires the whole batch vanishes) and
        ``gone-i-b`` (deleted at the end of a batch whose first record ``keep-i`` is never
        superseded: the batch keeps its offsets and ends in a hole); a live key's tombstone
        (superseded by the next round). Returns the doomed keys' tombstone offsets -> kind."""
        h = (("round", str(i).encode()),)
        upserts = [(b"key-%d" % (n % 8), b"r%d-%d" % (i, n), h) for n in range(24)]
        self.batch(i, [(b"gone-%d-b" % i, b"doomed", h)] + upserts, ts)
        a = self.batch(i, [(b"gone-%d-a" % i, b"doomed", h), (b"gone-%d-a" % i, None, TOMB)],
                       None if ts is None else ts + 100)
        b = self.batch(i, [(b"keep-%d" % i, b"kept", h), (b"key-%d" % (i % 8), None, TOMB),
                           (b"gone-%d-b" % i, None, TOMB)], None if ts is None else ts + 200)
        return {a[1]: "vanished batch", b[2]: "tail of a cleaned batch"}

    def close(self) -> None:
        for p in self.producers:
            p.close(timeout=10)

    def __enter__(self) -> "Writer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _log(cluster: Any, topic: str):
    with RawCluster(cluster.bootstrap) as c:
        return read_log(c, topic, 0)


def _bounds(cluster: Any, topic: str) -> tuple[int, int]:
    """(log start, log end) by ListOffsets."""
    with RawCluster(cluster.bootstrap) as c:
        return c.list_offset(topic, 0, -2), c.list_offset(topic, 0, LATEST)


def _rounds_until_expired(w: Writer, cluster: Any, topic: str, first: int, doomed: dict[int, str],
                          ts: int | None = None, timeout: float = 60.0) -> int:
    """Write rounds (new dirty segments, so the cleaner passes again) until no ``doomed``
    tombstone offset holds a record on the source: the first pass set their delete horizon,
    a later one removed them. Returns the next round number."""
    i, deadline = first, time.monotonic() + timeout
    while True:
        held = _read_confluent(cluster, topic, 0)
        if not set(doomed) & set(held):
            return i
        assert time.monotonic() < deadline, f"tombstones not expired within {timeout}s: " \
                                            f"{sorted(set(doomed) & set(held))}"
        w.round(i, ts)
        i += 1
        time.sleep(0.5)


def _where_tombstones_went(cluster: Any, topic: str, src: dict[int, Rec], doomed: dict[int, str]) -> None:
    """Each expired tombstone left the hole its kind promises: between batches, or after the
    last record a cleaned batch retained (the batch keeps its last offset)."""
    batches = _log(cluster, topic).batches
    for off, kind in doomed.items():
        b = next((b for b in batches if b.base_offset <= off <= b.last_offset), None)
        if kind == "vanished batch":
            assert b is None, f"{off}: the batch of an expired tombstone is still there"
        else:
            assert b is not None and b.record_count < b.last_offset_delta + 1, off
            assert max(o for o in src if o <= b.last_offset) < off, f"{off}: not a tail hole"


class Mirror:
    """`linker run` over one topic with /status and /metrics on a free port."""

    def __init__(self, source: Any, destination: Any, topic: str, tmp_path: Path) -> None:
        self.topic, self.port = topic, free_ports(1)[0]
        link = write_link(tmp_path / "link.toml", source, destination, [topic])
        with open(link, "a") as f:
            f.write(f'[metrics]\nlisten = "127.0.0.1:{self.port}"\n')
        self.run = LinkerRun(link, tmp_path / "run.log")

    def _get(self, path: str) -> str | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.read().decode()
        except OSError:
            return None

    def partition(self) -> dict | None:
        body = self._get("/status")
        parts = [p for p in json.loads(body)["partitions"] if p["topic"] == self.topic] if body else []
        return parts[0] if parts else None

    def metric(self, name: str, labels: str = "") -> float | None:
        body = self._get("/metrics") or ""
        for line in body.splitlines():
            if line.startswith(f"{name}{labels} "):
                return float(line.split()[-1])
        return None

    def wait(self, what: str, done, timeout: float = 60.0) -> Any:
        """Poll ``done()`` until it is truthy; the process must stay up."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.run.running, f"linker run exited: {self.run.text()[-3000:]}"
            got = done()
            if got:
                return got
            assert time.monotonic() < deadline, f"{what} not within {timeout}s: {self.partition()}\n" \
                                                f"{self.run.text()[-3000:]}"
            time.sleep(0.2)

    def caught_up(self, end: int, timeout: float = 60.0) -> dict:
        """Until /status shows the partition MIRRORING with the destination at ``end``."""
        return self.wait(f"destination end {end}", lambda: (lambda p: p if p and p["state"] == "MIRRORING"
                                                            and p["dest_log_end"] == end else None)(self.partition()),
                         timeout)

    def stop(self) -> str:
        assert self.run.stop() == 0, self.run.text()[-3000:]
        log = self.run.text()
        for bad in ("FAILED", "DIVERGED", "BLOCKED"):
            assert bad not in log, log[-3000:]
        return log

    def __enter__(self) -> "Mirror":
        self.run.__enter__()
        self.run.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.run.__exit__(*exc)


def _frozen(cluster: Any, topic: str) -> dict[int, Rec]:
    """Stop the source cleaner for ``topic`` and return its records once a pass under way ended."""
    cluster.set_topic_config(topic, FREEZE)
    time.sleep(1.5)      # a cleaning pass that began before the change ends (1 s cleaner back-off)
    return _read_kafka_python(cluster, topic, 0)


def _same_records(source: Any, destination: Any, topic: str, before: dict[int, Rec]) -> tuple[
        dict[int, Rec], dict[int, Rec], list[int]]:
    """Both clients read both sides; the source is unchanged since ``before``; every source
    offset up to its end exists on the destination, every retained record in place, every
    other destination offset a copy of the next retained record. Returns src, dst, fillers."""
    src, dst = _read_kafka_python(source, topic, 0), _read_kafka_python(destination, topic, 0)
    assert src == before, "the source was cleaned while mirroring"
    assert _read_confluent(source, topic, 0) == src and _read_confluent(destination, topic, 0) == dst
    s_log, d_log = _log(source, topic), _log(destination, topic)
    assert (d_log.log_start, d_log.log_end) == (s_log.log_start, s_log.log_end), (d_log.log_start, d_log.log_end)
    assert sorted(dst) == list(range(s_log.log_start, s_log.log_end))   # every offset, none shifted
    fillers = _extra(src, dst, copies=True)
    # A table reader starting at any offset ends in the same state on both sides.
    for start in range(s_log.log_start, s_log.log_end):
        assert _state({o: r for o, r in src.items() if o >= start}) == \
            _state({o: r for o, r in dst.items() if o >= start}), f"state read from {start}"
    assert _uncleaned_batches_byte_exact(source, destination, topic) > 0
    return src, dst, fillers


def test_expired_tombstones_mirror_as_fillers_and_the_tables_stay_equal(source, destination, topic_name, tmp_path):
    """A compact source whose cleaner removed tombstones after ``delete.retention.ms`` (1 s):
    a batch emptied by it vanished (a hole between batches) and a batch that kept its first
    record ends in a hole. `linker run` mirrors it: every retained record at its offset with
    the same key, value, headers and timestamp, each expired tombstone's offset a copy of the
    next retained record, the same key->value state read from every offset (the deleted keys
    absent on both sides), log start and end equal, uncleaned batches byte-exact, fillers as
    counted by /metrics, fidelity ``record-exact (compacted)``.

    The tail: the docs say holes with no later record wait for a new source record. On a
    compact-only topic that never happens: the active segment is never cleaned, so the source
    log always ends with a record it holds; the test asserts that and that the destination
    reaches the source's log end with no further write. (The waiting case is the empty
    compact,delete log of the last test.) ~8 s on the shared 2-core machine (clusters up):
    two cleaner passes and a process start."""
    create_compacted_topic(source, topic_name, configs=EXPIRE_TOMBSTONES)
    with Writer(source, topic_name) as w:
        doomed: dict[int, str] = {}
        for i in range(3):
            doomed.update(w.round(i))
        i = _rounds_until_expired(w, source, topic_name, 3, doomed)
        w.round(i)                      # tombstones not expired yet, some of them uncleaned
    before = _frozen(source, topic_name)
    assert not [k for o, (k, *_) in before.items() if o in doomed]
    assert any(r[1] is None for r in before.values()), "no live tombstone left to mirror"
    _where_tombstones_went(source, topic_name, before, doomed)
    s_start, s_end = _bounds(source, topic_name)
    assert s_start == 0 and max(before) == s_end - 1     # the last offset holds a record: no tail hole

    began = time.monotonic()
    with Mirror(source, destination, topic_name, tmp_path) as m:
        part = m.caught_up(s_end)
        took = time.monotonic() - began
        fillers_metric = m.metric("linker_compaction_fillers_total")
        m.stop()
    assert part["fidelity"] == "record-exact (compacted)", part
    src, dst, fillers = _same_records(source, destination, topic_name, before)
    assert set(doomed) <= set(fillers)
    assert not any(k.startswith(b"gone-") for k in _state(dst))
    assert fillers_metric == len(fillers), (fillers_metric, len(fillers))
    print(f"\n{len(src)} records held of {s_end} offsets, {len(doomed)} expired tombstones, {len(fillers)} fillers; "
          f"caught up {took:.1f}s after `linker run` started")


def test_compact_delete_topic_with_retention_moved_log_start_and_cleaning_mirrors_exactly(
        source, destination, topic_name, tmp_path):
    """A ``compact,delete`` source: rounds timestamped two hours ago are deleted by retention
    (1 h; the log start moves to the first recent record, no DeleteRecords), then recent rounds
    are cleaned (holes, expired tombstones). `linker run` mirrors it into a compact,delete
    mirror (same retention): the destination's log start and end equal the source's (the
    offsets below the start are fillers deleted by DeleteRecords, so none is readable), every
    retained record at its offset, every hole a copy of the next retained record, the same
    state read from every offset. ~8 s (clusters up): retention, two cleaner passes, a process
    start."""
    create_compacted_topic(source, topic_name, configs=MIXED)
    old = int(time.time() * 1000) - OLD_MS
    with Writer(source, topic_name) as w:
        for i in range(3):
            w.round(i, old + i * 1000)      # each a segment of its own (100 ms of record time)
        first = w.batch(3, [(b"key-0", b"first recent", ())], None)[0]
        deadline = time.monotonic() + 30
        while _bounds(source, topic_name)[0] != first:
            assert time.monotonic() < deadline, f"retention did not move the log start to {first}: " \
                                                f"{_bounds(source, topic_name)}"
            time.sleep(0.3)
        doomed: dict[int, str] = {}
        for i in range(4, 7):
            doomed.update(w.round(i))
        i = _rounds_until_expired(w, source, topic_name, 7, doomed)
        w.round(i)
    before = _frozen(source, topic_name)
    assert _cleaned(source, topic_name)
    _where_tombstones_went(source, topic_name, before, doomed)
    s_start, s_end = _bounds(source, topic_name)
    # key-0 at ``first`` is superseded: the source's first batch starts above its log start.
    assert s_start == first and min(before) > first and max(before) == s_end - 1

    with Mirror(source, destination, topic_name, tmp_path) as m:
        part = m.caught_up(s_end)
        fillers_metric = m.metric("linker_compaction_fillers_total")
        m.wait("destination log start", lambda: _bounds(destination, topic_name)[0] == s_start, 30)
        m.stop()
    assert part["fidelity"] == "record-exact (compacted)", part
    src, dst, fillers = _same_records(source, destination, topic_name, before)
    assert set(doomed) <= set(fillers)
    # The fillers below the log start (copies of the first retained record) are counted too.
    assert fillers_metric == len(fillers) + s_start, (fillers_metric, len(fillers), s_start)
    from kafka.admin import ConfigResource
    described = destination.admin().describe_configs([ConfigResource("TOPIC", topic_name)])["topic"][topic_name]
    assert described["cleanup.policy"]["value"] == "compact,delete"
    assert described["retention.ms"]["value"] == "3600000"
    print(f"\nlog start {s_start}, {len(src)} records held of {s_end - s_start} offsets, {len(fillers)} fillers")


def test_compact_delete_log_emptied_by_retention_waits_for_a_record_then_starts_there(
        source, destination, topic_name, tmp_path):
    """The tail that waits (docs/mirror.md: holes with no later record wait, shown as lag,
    until the source writes a record): retention deleted every record of a ``compact,delete``
    source, so its log start equals its end S > 0 and there is no record to copy into the
    offsets below S. `linker run` writes nothing and shows lag S (its lag gauge, /status);
    once the source writes one record at S, the destination fills up to it and starts at S
    too: that record at S, nothing readable below. ~6 s (clusters up): retention and a process
    start."""
    create_compacted_topic(source, topic_name, configs=MIXED)
    old = int(time.time() * 1000) - OLD_MS
    with Writer(source, topic_name) as w:
        for i in range(2):
            w.round(i, old + i * 1000)
        deadline = time.monotonic() + 30
        while (b := _bounds(source, topic_name))[0] != b[1]:
            assert time.monotonic() < deadline, f"retention did not empty the log: {b}"
            time.sleep(0.3)
        s = b[1]
        assert s > 0
        labels = f'{{partition="0",topic="{topic_name}"}}'
        with Mirror(source, destination, topic_name, tmp_path) as m:
            part = m.wait("the partition located", lambda: (lambda p: p if p and p["state"] == "MIRRORING"
                                                            and p["source_log_start"] == s else None)(m.partition()))
            m.wait("lag shown", lambda: m.metric("linker_partition_lag_records", labels) == s)
            part = m.partition()
            assert part["dest_log_end"] == 0 and part["source_high_watermark"] == s, part
            assert _bounds(destination, topic_name) == (0, 0)
            w.batch(9, [(b"key-1", b"after the empty log", (("n", b"1"),))], None)
            part = m.caught_up(s + 1)
            m.wait("destination log start", lambda: _bounds(destination, topic_name)[0] == s, 30)
            fillers_metric = m.metric("linker_compaction_fillers_total")
            m.stop()
    src = _read_kafka_python(source, topic_name, 0)
    assert sorted(src) == [s]
    _same_records(source, destination, topic_name, src)
    assert fillers_metric == s, fillers_metric
