"""Test data through real clients: kafka-python and confluent-kafka (librdkafka).

Both clients produce the same deterministic records, so a test can check what
comes out of a mirror byte for byte. Every codec, idempotence, transactions
(commit and abort), keys, headers and compacted topics are covered.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Sequence

if TYPE_CHECKING:
    from .cluster import KafkaCluster

COMPRESSIONS = ("none", "gzip", "snappy", "lz4", "zstd")
CLIENTS = ("kafka-python", "confluent")
Client = Literal["kafka-python", "confluent"]
Transaction = Literal["commit", "abort"] | None


@dataclass(frozen=True)
class Record:
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass
class Produced:
    """What a helper wrote: the records and the (partition, offset) each got."""

    topic: str
    records: list[Record]
    offsets: list[tuple[int, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Consumed:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


def make_records(count: int, prefix: str = "r", keys: bool = True, headers: bool = True,
                 value_size: int = 0, key_space: int | None = None) -> list[Record]:
    """Deterministic records; `key_space` repeats keys (for compaction), `value_size` pads values."""
    out = []
    for i in range(count):
        key = f"{prefix}-key-{i % key_space if key_space else i}".encode() if keys else None
        value = f"{prefix}-value-{i}".encode()
        if value_size > len(value):
            value += b"." * (value_size - len(value))
        hdrs = (("index", str(i).encode()), ("source", prefix.encode())) if headers else ()
        out.append(Record(key, value, hdrs))
    return out


def _check(client: str, compression: str, transaction: Transaction) -> None:
    if client not in CLIENTS:
        raise ValueError(f"unknown client {client!r}; choose from {', '.join(CLIENTS)}")
    if compression not in COMPRESSIONS:
        raise ValueError(f"unknown compression {compression!r}; choose from {', '.join(COMPRESSIONS)}")
    if transaction not in (None, "commit", "abort"):
        raise ValueError(f"transaction must be None, 'commit' or 'abort', got {transaction!r}")


def produce(cluster: "KafkaCluster", topic: str, records: int | Sequence[Record] = 10, *,
            client: Client = "kafka-python", compression: str = "none", idempotent: bool = False,
            transaction: Transaction = None, partition: int | None = None,
            listener: str | None = None, user: str | None = None, mechanism: str | None = None,
            linger_ms: int = 5, timeout: float = 60.0) -> Produced:
    """Produce `records` (a count or explicit records) and wait for every acknowledgement.

    transaction="commit"/"abort" wraps all records in one transaction (and
    implies idempotence); the offsets returned are those of the data records.
    """
    _check(client, compression, transaction)
    recs = make_records(records, prefix=topic) if isinstance(records, int) else list(records)
    if client == "kafka-python":
        offsets = _produce_kafka_python(cluster.kafka_python_config(listener, user, mechanism), topic, recs,
                                        compression, idempotent, transaction, partition, linger_ms, timeout)
    else:
        offsets = _produce_confluent(cluster.confluent_config(listener, user, mechanism), topic, recs,
                                     compression, idempotent, transaction, partition, linger_ms, timeout)
    return Produced(topic, recs, offsets)


def _produce_kafka_python(cfg: dict[str, Any], topic: str, recs: list[Record], compression: str,
                          idempotent: bool, transaction: Transaction, partition: int | None,
                          linger_ms: int, timeout: float) -> list[tuple[int, int]]:
    from kafka import KafkaProducer
    opts: dict[str, Any] = dict(cfg, linger_ms=linger_ms,
                                compression_type=None if compression == "none" else compression)
    if transaction:
        opts["transactional_id"] = f"kafkabed-{uuid.uuid4().hex[:12]}"
    if idempotent or transaction:
        opts.update(enable_idempotence=True, acks="all")
    producer = KafkaProducer(**opts)
    try:
        if transaction:
            producer.init_transactions()
            producer.begin_transaction()
        futures = [producer.send(topic, key=r.key, value=r.value, headers=list(r.headers) or None,
                                 partition=partition) for r in recs]
        producer.flush(timeout)
        metas = [f.get(timeout) for f in futures]
        if transaction == "commit":
            producer.commit_transaction()
        elif transaction == "abort":
            producer.abort_transaction()
        return [(m.partition, m.offset) for m in metas]
    finally:
        producer.close(timeout=10)


def _produce_confluent(cfg: dict[str, Any], topic: str, recs: list[Record], compression: str,
                       idempotent: bool, transaction: Transaction, partition: int | None,
                       linger_ms: int, timeout: float) -> list[tuple[int, int]]:
    from confluent_kafka import KafkaException, Producer
    conf = dict(cfg, **{"linger.ms": linger_ms, "compression.type": compression})
    if transaction:
        conf["transactional.id"] = f"kafkabed-{uuid.uuid4().hex[:12]}"
    if idempotent or transaction:
        conf["enable.idempotence"] = True
    producer = Producer(conf)
    results: list[tuple[int, int] | None] = [None] * len(recs)
    errors: list[str] = []

    def on_delivery(index: int):
        def callback(err: Any, msg: Any) -> None:
            if err is not None:
                errors.append(f"record {index}: {err}")
            else:
                results[index] = (msg.partition(), msg.offset())
        return callback

    if transaction:
        producer.init_transactions(timeout)
        producer.begin_transaction()
    for i, r in enumerate(recs):
        kwargs: dict[str, Any] = {"key": r.key, "value": r.value, "on_delivery": on_delivery(i)}
        if r.headers:
            kwargs["headers"] = list(r.headers)
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                producer.produce(topic, **kwargs)
                break
            except BufferError:
                producer.poll(0.1)
    left = producer.flush(timeout)
    if left:
        raise TimeoutError(f"confluent producer: {left} records to {topic!r} not acknowledged in {timeout}s")
    if errors:
        raise KafkaException(f"confluent producer to {topic!r} failed: {errors[:5]}")
    if transaction == "commit":
        producer.commit_transaction(timeout)
    elif transaction == "abort":
        producer.abort_transaction(timeout)
    return [r for r in results if r is not None]


def consume(cluster: "KafkaCluster", topic: str, expected: int, *, client: Client = "kafka-python",
            read_committed: bool = True, listener: str | None = None, user: str | None = None,
            mechanism: str | None = None, timeout: float = 30.0) -> list[Consumed]:
    """Read every partition of `topic` from the beginning until `expected` records
    arrived (or the timeout, then return what came); no consumer group is committed."""
    _check(client, "none", None)
    if client == "kafka-python":
        got = _consume_kafka_python(cluster.kafka_python_config(listener, user, mechanism), topic,
                                    expected, read_committed, timeout)
    else:
        got = _consume_confluent(cluster.confluent_config(listener, user, mechanism), topic,
                                 expected, read_committed, timeout)
    return sorted(got, key=lambda c: (c.partition, c.offset))


def _consume_kafka_python(cfg: dict[str, Any], topic: str, expected: int, read_committed: bool,
                          timeout: float) -> list[Consumed]:
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(**cfg, enable_auto_commit=False, auto_offset_reset="earliest",
                             isolation_level="read_committed" if read_committed else "read_uncommitted")
    try:
        deadline = time.monotonic() + timeout
        parts = None
        while not parts and time.monotonic() < deadline:
            parts = consumer.partitions_for_topic(topic)
            if not parts:
                time.sleep(0.2)
        if not parts:
            raise TimeoutError(f"topic {topic!r} has no partitions visible after {timeout}s")
        consumer.assign([TopicPartition(topic, p) for p in sorted(parts)])
        consumer.seek_to_beginning()
        out: list[Consumed] = []
        while len(out) < expected and time.monotonic() < deadline:
            for tp, msgs in consumer.poll(timeout_ms=500).items():
                for m in msgs:
                    out.append(Consumed(m.partition, m.offset, m.key, m.value,
                                        tuple((k, v) for k, v in (m.headers or []))))
        return out
    finally:
        consumer.close()


def _consume_confluent(cfg: dict[str, Any], topic: str, expected: int, read_committed: bool,
                       timeout: float) -> list[Consumed]:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    consumer = Consumer(dict(cfg, **{
        "group.id": f"kafkabed-{uuid.uuid4().hex[:12]}", "enable.auto.commit": False,
        "isolation.level": "read_committed" if read_committed else "read_uncommitted"}))
    try:
        deadline = time.monotonic() + timeout
        meta = consumer.list_topics(topic, timeout=timeout)
        parts = sorted(meta.topics[topic].partitions) if topic in meta.topics else []
        if not parts:
            raise TimeoutError(f"topic {topic!r} has no partitions visible")
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        out: list[Consumed] = []
        while len(out) < expected and time.monotonic() < deadline:
            for m in consumer.consume(num_messages=1000, timeout=0.5):
                if m.error():
                    continue  # partition EOF and transient errors
                out.append(Consumed(m.partition(), m.offset(), m.key(), m.value(),
                                    tuple(m.headers() or ())))
        return out
    finally:
        consumer.close()


def create_compacted_topic(cluster: "KafkaCluster", name: str, partitions: int = 1,
                           configs: dict[str, Any] | None = None) -> str:
    """A compacted topic whose cleaner runs within seconds (small segments, no lag)."""
    settings = {"cleanup.policy": "compact", "segment.ms": 100, "min.cleanable.dirty.ratio": 0.01,
                "delete.retention.ms": 100, "min.compaction.lag.ms": 0}
    settings.update(configs or {})
    return cluster.create_topic(name, partitions, configs=settings)
