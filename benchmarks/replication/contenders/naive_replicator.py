"""The naive replicator: what a Python user writes in an afternoon.

A kafka-python consumer feeding a kafka-python producer that uses the
source's compression; partition, key, value, headers and timestamp are kept.
Library defaults otherwise. Runs until killed.

    python -m benchmarks.replication.contenders.naive_replicator SRC DST TOPIC DEST_TOPIC CODEC
"""
from __future__ import annotations

import sys

from kafka import KafkaConsumer, KafkaProducer


def main(argv: list[str]) -> None:
    src, dst, topic, dest_topic, codec = argv
    consumer = KafkaConsumer(topic, bootstrap_servers=src, group_id=None, auto_offset_reset="earliest",
                             enable_auto_commit=False)
    producer = KafkaProducer(bootstrap_servers=dst, compression_type=None if codec == "none" else codec)
    for msg in consumer:
        producer.send(dest_topic, key=msg.key, value=msg.value, partition=msg.partition,
                      timestamp_ms=msg.timestamp, headers=msg.headers or None)


if __name__ == "__main__":
    main(sys.argv[1:])
