"""kproto.records against real clients and a real Apache Kafka broker.

Direction 1: kafka-python, confluent-kafka (librdkafka) and the Java console
producer write records with each codec; we read the stored batches back with
a raw Fetch (kproto messages over a plain socket) and check views, CRCs and
decoded records against what each client sent.

Direction 2: batches built by ``build_batch`` are produced raw; the broker
accepts them, stores the same CRC-covered bytes, and kafka-python and
confluent-kafka consumers read the same records back.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import time
import zlib

import pytest

import kproto
from kafka import codec as kafka_codec
from kafkabed.fetch import classpath as kafka_classpath
from kafkabed import producers
from kafkabed.cluster import java_binary
from kproto import messages
from kproto.records import (
    BatchView,
    Codec,
    ControlType,
    NewRecord,
    Reproducibility,
    build_batch,
    build_control_batch,
    classify,
    decode_records,
    parse_control_record,
    produce_chunks,
    walk_batches,
)

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
def _require_kafka_python_snappy() -> None:
    """kafka-python's snappy codec needs the python-snappy package (a dev extra)."""
    if not kafka_codec.has_snappy():
        pytest.skip("kafka-python's snappy codec needs python-snappy (python-snappy>=0.7 in the dev extras)")


FETCH_VERSION = 12  # last version that names topics (13+ use topic ids)
PRODUCE_VERSION = 9


class RawBroker:
    """A blocking one-connection Kafka client speaking kproto messages (test helper)."""

    def __init__(self, bootstrap: str) -> None:
        host, port = bootstrap.split(",")[0].rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.frames = kproto.FrameDecoder()
        self.correlation = 0
        self.pending: list[memoryview] = []

    def close(self) -> None:
        self.sock.close()

    def call(self, body, version: int):
        self.correlation += 1
        self.sock.sendmsg(kproto.encode_request(body, version, self.correlation, "records-test"))
        while not self.pending:
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("broker closed the connection")
            self.pending.extend(self.frames.feed(data))
        corr, response = kproto.decode_response(body.API_KEY, version, self.pending.pop(0))
        assert corr == self.correlation
        return response

    def fetch(self, topic: str, offset: int, partition_max_bytes: int = 1 << 20):
        req = messages.FetchRequest(
            max_wait_ms=100,
            min_bytes=1,
            max_bytes=8 << 20,
            isolation_level=0,
            topics=[
                messages.FetchRequest.FetchTopic(
                    topic=topic,
                    partitions=[
                        messages.FetchRequest.FetchPartition(
                            partition=0, fetch_offset=offset, partition_max_bytes=partition_max_bytes
                        )
                    ],
                )
            ],
        )
        (topic_resp,) = self.call(req, FETCH_VERSION).responses
        (part,) = topic_resp.partitions
        assert part.error_code == 0, f"fetch error {part.error_code}"
        return part

    def fetch_all(self, topic: str, partition_max_bytes: int = 1 << 20, timeout: float = 30.0) -> list[BatchView]:
        """Every stored batch of partition 0 up to the high watermark, via raw Fetch."""
        views: list[BatchView] = []
        offset, deadline = 0, time.monotonic() + timeout
        while time.monotonic() < deadline:
            part = self.fetch(topic, offset, partition_max_bytes)
            walk = walk_batches(part.records)
            got = list(walk)
            views.extend(got)
            if got:
                offset = got[-1].next_offset
            if offset >= part.high_watermark and part.high_watermark > 0:
                return views
        raise TimeoutError(f"fetched only up to offset {offset} of {topic}")

    def produce(self, topic: str, chunks) -> tuple[int, int]:
        req = messages.ProduceRequest(
            transactional_id=None,
            acks=-1,
            timeout_ms=30_000,
            topic_data=[
                messages.ProduceRequest.TopicProduceData(
                    name=topic,
                    partition_data=[messages.ProduceRequest.PartitionProduceData(index=0, records=chunks)],
                )
            ],
        )
        (topic_resp,) = self.call(req, PRODUCE_VERSION).responses
        (part,) = topic_resp.partition_responses
        return part.error_code, part.base_offset


@pytest.fixture
def raw(source):
    broker = RawBroker(source.bootstrap)
    yield broker
    broker.close()


def _records(topic: str, n: int = 120) -> list[producers.Record]:
    # padded values so every client's compression pays off (librdkafka sends
    # uncompressed when compressing does not help)
    return producers.make_records(n, prefix=topic, value_size=150)


def _java_console_produce(cluster, topic: str, recs: list[producers.Record], codec: str) -> None:
    lines = []
    for r in recs:
        headers = ",".join(f"{k}:{v.decode()}" for k, v in r.headers)
        lines.append(f"{headers}\t{r.key.decode()}\t{r.value.decode()}")
    cmd = [
        java_binary(), "-Xmx256m", "-cp", kafka_classpath(),
        "org.apache.kafka.tools.ConsoleProducer",
        "--bootstrap-server", cluster.bootstrap,
        "--topic", topic,
        "--compression-codec", codec,
        "--property", "parse.key=true",
        "--property", "parse.headers=true",
        "--producer-property", "linger.ms=50",
    ]
    done = subprocess.run(cmd, input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def _check_batches_match(views: list[BatchView], recs: list[producers.Record], codec: str) -> None:
    assert views, "no batches fetched"
    decoded = []
    for view in views:
        assert view.magic == 2
        assert view.crc_valid(), f"CRC mismatch in {view!r}"
        assert view.codec == Codec[codec.upper()], f"{view!r} is not {codec}"
        assert view.record_count == view.last_offset_delta + 1
        assert classify(view).kind is Reproducibility.EXACT
        for rec in view.records():
            decoded.append(rec)
    assert [r.offset for r in decoded] == list(range(len(recs)))
    assert [(r.key, r.value, tuple(r.headers)) for r in decoded] == [(r.key, r.value, r.headers) for r in recs]
    # the produce-ready form keeps the CRC-covered bytes and zeroes baseOffset
    head, rest = produce_chunks(views[-1])
    assert BatchView(head + bytes(rest)).crc == views[-1].crc


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("client", ["kafka-python", "confluent", "java"])
def test_batches_written_by_real_clients_read_back_through_raw_fetch(source, raw, topic_name, client, codec):
    if client == "kafka-python" and codec == "snappy":
        _require_kafka_python_snappy()
    source.create_topic(topic_name, 1)
    recs = _records(topic_name)
    if client == "java":
        _java_console_produce(source, topic_name, recs, codec)
    else:
        producers.produce(source, topic_name, recs, client=client, compression=codec, linger_ms=20)
    views = raw.fetch_all(topic_name)
    _check_batches_match(views, recs, codec)


@pytest.mark.parametrize(
    ("client", "codec"),
    [("confluent", "none"), ("kafka-python", "gzip"), ("confluent", "snappy"), ("kafka-python", "lz4"),
     ("confluent", "zstd")],
)
def test_batches_stored_by_the_migration_source_broker(source39, client, codec, topic_name):
    """The 3.9.x broker (the migration source pin) stores and serves the same v2 batches."""
    if client == "kafka-python" and codec == "snappy":
        _require_kafka_python_snappy()
    source39.create_topic(topic_name, 1)
    recs = _records(topic_name, 60)
    producers.produce(source39, topic_name, recs, client=client, compression=codec, linger_ms=20)
    broker = RawBroker(source39.bootstrap)
    try:
        views = broker.fetch_all(topic_name)
    finally:
        broker.close()
    _check_batches_match(views, recs, codec)


def test_small_fetches_end_in_a_truncated_tail_that_the_walk_reports(source, raw, topic_name):
    source.create_topic(topic_name, 1)
    recs = _records(topic_name, 400)
    producers.produce(source, topic_name, recs, compression="none", linger_ms=50)
    part = raw.fetch(topic_name, 0, partition_max_bytes=10_000)
    walk = walk_batches(part.records)
    views = list(walk)
    assert views and walk.consumed == sum(v.size for v in views)
    assert walk.consumed + walk.tail == len(part.records)
    # reading on from the last complete batch covers everything
    all_views = raw.fetch_all(topic_name, partition_max_bytes=10_000)
    _check_batches_match(all_views, recs, "none")


def test_transaction_markers_from_a_real_broker(source, raw, topic_name):
    source.create_topic(topic_name, 1)
    producers.produce(source, topic_name, _records(topic_name, 10), transaction="commit")
    producers.produce(source, topic_name, _records(topic_name, 5), transaction="abort")
    # the coordinator writes markers after EndTxn returns: poll until both are in the log
    deadline = time.monotonic() + 30
    views = raw.fetch_all(topic_name)
    while sum(v.is_control for v in views) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        views = raw.fetch_all(topic_name)
    kinds = [classify(v).kind for v in views]
    assert Reproducibility.TRANSACTIONAL in kinds and kinds.count(Reproducibility.CONTROL) == 2
    markers = [parse_control_record(decode_records(v)[0]) for v in views if v.is_control]
    assert [m.type for m in markers] == [ControlType.COMMIT, ControlType.ABORT]
    assert all(m.coordinator_epoch is not None and m.coordinator_epoch >= 0 for m in markers)
    assert all(v.crc_valid() for v in views)


def _built(codec: Codec, start: int, n: int, **kwargs) -> tuple[bytes, list[NewRecord]]:
    now = int(time.time() * 1000)
    recs = [
        NewRecord(
            b"built-%d-" % (start + i) + b"x" * 100,
            key=None if i % 5 == 0 else b"k%d" % (start + i),
            headers=[("n", b"%d" % i)] if i % 2 else [],
            timestamp=now + i,
        )
        for i in range(n)
    ]
    return build_batch(recs, codec=codec, **kwargs), recs


@pytest.mark.parametrize("codec", list(Codec), ids=lambda c: c.name.lower())
def test_builder_batches_are_accepted_stored_verbatim_and_read_by_clients(source, raw, topic_name, codec):
    if codec is Codec.SNAPPY:
        _require_kafka_python_snappy()
    source.create_topic(topic_name, 1)
    sent: list[NewRecord] = []
    built: list[bytes] = []
    for i, n in enumerate((30, 1, 50)):
        batch, recs = _built(codec, len(sent), n, base_offset=12345 * i)
        view = BatchView(batch)
        error, base = raw.produce(topic_name, list(produce_chunks(view)))
        assert (error, base) == (0, len(sent))
        sent.extend(recs)
        built.append(batch)
    stored = raw.fetch_all(topic_name)
    assert len(stored) == len(built)
    for view, original in zip(stored, built):
        # the broker kept the CRC-covered bytes: same CRC, same payload
        assert bytes(view.buffer)[21:] == original[21:]
    expected = [(r.key, r.value, tuple(r.headers)) for r in sent]
    for client in ("kafka-python", "confluent"):
        got = producers.consume(source, topic_name, len(sent), client=client)
        assert [c.offset for c in got] == list(range(len(sent)))
        assert [(c.key, c.value, tuple(c.headers)) for c in got] == expected, client


def test_builder_idempotent_batches_from_an_unknown_producer_are_accepted(source, raw, topic_name):
    source.create_topic(topic_name, 1)
    seq = 0
    for n in (10, 20):
        batch, _ = _built(Codec.ZSTD, seq, n, producer_id=987_654, producer_epoch=0, base_sequence=seq)
        assert raw.produce(topic_name, list(produce_chunks(BatchView(batch)))) == (0, seq)
        seq += n
    stored = raw.fetch_all(topic_name)
    assert [(v.producer_id, v.base_sequence) for v in stored] == [(987_654, 0), (987_654, 10)]


@pytest.mark.parametrize("policy", ["delete", "compact"])
def test_delete_horizon_batches_are_stored_verbatim(source, raw, topic_name, policy):
    """A compacted source can hold batches with the delete-horizon bit (KIP-534); a
    client produce of such a batch keeps the bit and the CRC-covered bytes, so
    classify() rightly calls them exact."""
    source.create_topic(topic_name, 1, configs={"cleanup.policy": policy})
    now = int(time.time() * 1000)
    batch = build_batch([NewRecord(b"v", key=b"k%d" % i, timestamp=now) for i in range(3)], delete_horizon=True)
    view = BatchView(batch)
    assert view.has_delete_horizon and classify(view).exact
    assert raw.produce(topic_name, list(produce_chunks(view))) == (0, 0)
    (stored,) = raw.fetch_all(topic_name)
    assert stored.has_delete_horizon and bytes(stored.buffer)[21:] == batch[21:]


def _legacy_v1(value: bytes) -> bytes:
    body = struct.pack(">bbqii", 1, 0, int(time.time() * 1000), -1, len(value)) + value
    message = struct.pack(">I", zlib.crc32(body)) + body
    return struct.pack(">qi", 0, len(message)) + message


def _non_reproducible_cases() -> dict[str, tuple[bytes, Reproducibility, set[int]]]:
    now = int(time.time() * 1000)
    holes = [NewRecord(b"a", offset_delta=0, timestamp=now), NewRecord(b"c", offset_delta=2, timestamp=now)]
    return {
        "holes": (build_batch(holes), Reproducibility.COMPACTION_HOLES, {87}),
        "holes-zstd": (build_batch(holes, codec=Codec.ZSTD), Reproducibility.COMPACTION_HOLES, {87}),
        "empty": (build_batch([], last_offset_delta=0, base_timestamp=now), Reproducibility.EMPTY, {87}),
        "control": (
            build_control_batch(ControlType.COMMIT, coordinator_epoch=0, producer_id=5, producer_epoch=0, timestamp=now),
            Reproducibility.CONTROL,
            set(),
        ),
        "transactional": (
            build_batch([NewRecord(b"a", timestamp=now)], transactional=True, producer_id=5, producer_epoch=0,
                        base_sequence=0),
            Reproducibility.TRANSACTIONAL,
            set(),
        ),
        "legacy-v1": (_legacy_v1(b"old"), Reproducibility.LEGACY_MAGIC, set()),
    }


@pytest.mark.parametrize("case", list(_non_reproducible_cases()))
def test_what_classify_calls_non_reproducible_the_broker_refuses(source, raw, topic_name, case):
    blob, kind, codes = _non_reproducible_cases()[case]
    (entry,) = list(walk_batches(blob))
    assert classify(entry).kind is kind
    source.create_topic(topic_name, 1)
    error, _ = raw.produce(topic_name, [bytes(8), blob[8:]])
    assert error != 0
    if codes:
        assert error in codes


@pytest.mark.parametrize("client", ["kafka-python", "confluent"])
def test_idempotent_client_batches_carry_contiguous_sequences(source, raw, topic_name, client):
    source.create_topic(topic_name, 1)
    recs = _records(topic_name, 300)
    producers.produce(source, topic_name, recs, client=client, compression="lz4", idempotent=True, linger_ms=5)
    views = raw.fetch_all(topic_name)
    assert len({(v.producer_id, v.producer_epoch) for v in views}) == 1 and views[0].producer_id >= 0
    expected_sequence = 0
    for view in views:
        assert view.base_sequence == expected_sequence and not view.is_transactional
        assert classify(view).exact
        expected_sequence += view.record_count
    _check_batches_match(views, recs, "lz4")
