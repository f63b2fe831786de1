"""The data helpers write what they claim through both real clients."""
from __future__ import annotations

import struct
import time

import pytest

from kafkabed.producers import (COMPRESSIONS, consume, create_compacted_topic, make_records,
                                produce)
from kafkabed.probe import ProbeConnection


@pytest.mark.parametrize("client", ["kafka-python", "confluent"])
@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_every_codec_round_trips(source, topic_name, client, compression):
    source.create_topic(topic_name)
    produced = produce(source, topic_name, 50, client=client, compression=compression, idempotent=True)
    got = consume(source, topic_name, 50, client=client)
    assert [(c.key, c.value, c.headers) for c in got] == [
        (r.key, r.value, r.headers) for r in produced.records]
    assert [o for _, o in produced.offsets] == list(range(50))


def test_codec_reaches_the_log(source, topic_name):
    """The stored batches carry the requested codec (attributes bits 0-2)."""
    source.create_topic(topic_name)
    produce(source, topic_name, 20, compression="zstd")
    raw = _read_first_batch(source, topic_name)
    attributes = int.from_bytes(raw[21:23], "big")
    assert attributes & 7 == 4  # zstd


def _read_first_batch(cluster, topic: str) -> bytes:
    """Fetch v4 of partition 0 at offset 0 with the test bed's raw probe connection."""
    b = cluster.brokers[0]
    name = topic.encode()
    body = struct.pack(">iiiib", -1, 1000, 1, 10 * 1024 * 1024, 0)  # replica, wait, min, max bytes, isolation
    body += struct.pack(">i", 1) + struct.pack(">h", len(name)) + name
    body += struct.pack(">i", 1) + struct.pack(">iqi", 0, 0, 1024 * 1024)
    with ProbeConnection(b.host, b.ports["PLAINTEXT"]) as conn:
        conn.api_versions()
        r = conn.call(1, 4, body)
    data = r.data
    pos = r.pos + 4  # throttle
    pos += 4  # topics count
    (n,) = struct.unpack_from(">h", data, pos); pos += 2 + n
    pos += 4  # partitions count
    _partition, err, _hw, _lso = struct.unpack_from(">ihqq", data, pos)
    pos += 4 + 2 + 8 + 8
    (aborted,) = struct.unpack_from(">i", data, pos); pos += 4
    pos += max(aborted, 0) * 16
    (size,) = struct.unpack_from(">i", data, pos); pos += 4
    assert err == 0 and size > 61, f"fetch error {err}, {size} bytes"
    return bytes(data[pos:pos + size])


@pytest.mark.parametrize("client", ["kafka-python", "confluent"])
def test_transactions_commit_and_abort(source, topic_name, client):
    source.create_topic(topic_name)
    committed = produce(source, topic_name, 5, client=client, transaction="commit")
    aborted = produce(source, topic_name, make_records(5, prefix="aborted"), client=client,
                      transaction="abort")
    after = produce(source, topic_name, make_records(3, prefix="after"), client=client, transaction="commit")
    visible = consume(source, topic_name, 8, client=client, read_committed=True)
    assert [c.value for c in visible] == [r.value for r in committed.records + after.records]
    # Each transaction ends with a marker, so offsets skip one after every transaction.
    assert [o for _, o in committed.offsets] == [0, 1, 2, 3, 4]
    assert [o for _, o in aborted.offsets] == [6, 7, 8, 9, 10]
    assert [o for _, o in after.offsets] == [12, 13, 14]
    everything = consume(source, topic_name, 13, client=client, read_committed=False)
    assert len(everything) == 13  # aborted records are there for read_uncommitted


def test_compacted_topic_is_compacted(source, topic_name):
    create_compacted_topic(source, topic_name)
    records = make_records(200, prefix="c", key_space=10)
    produce(source, topic_name, records)
    deadline = time.monotonic() + 60
    count = 200
    while time.monotonic() < deadline:
        time.sleep(1.0)
        # each produce rolls the (100 ms) segment so the cleaner has closed segments to clean
        produce(source, topic_name, make_records(1, prefix="roll"))
        count = len(consume(source, topic_name, 10_000, timeout=2))
        if count < 150:
            break
    assert count < 150, "the log cleaner never compacted the topic"


def test_compacted_topic_rejects_records_without_key(source, topic_name):
    from kafka.errors import KafkaError
    create_compacted_topic(source, topic_name)
    with pytest.raises(KafkaError):
        produce(source, topic_name, make_records(1, keys=False))


def test_bad_arguments_are_named(source, topic_name):
    with pytest.raises(ValueError, match="compression 'brotli'"):
        produce(source, topic_name, 1, compression="brotli")
    with pytest.raises(ValueError, match="client 'java'"):
        produce(source, topic_name, 1, client="java")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="transaction"):
        produce(source, topic_name, 1, transaction="maybe")  # type: ignore[arg-type]
