"""Destination-side clock for the latency case (a separate process).

A confluent-kafka (librdkafka) consumer assigned to every partition of the
destination topic from given offsets, long-polling with a 5 ms fetch wait.
For each record: latency = wall-clock time of receipt - the record's
timestamp. The source writer stamps each batch (CreateTime) as it builds it,
within a millisecond of the source append, and every contender keeps record
timestamps, so this is source append -> destination readable, plus the
observer's own fetch delay (a few ms, the floor of the method). Records are
stamped as soon as the first of them arrives (``poll``), never after a
batch-collecting wait.

    python -m benchmarks.replication.latency_observer DST TOPIC OFFSETS OUT_JSON
OFFSETS: "0:123,1:98,..."; prints READY once connected; SIGTERM writes OUT_JSON and exits.
"""
from __future__ import annotations

import json
import signal
import sys
import time

from confluent_kafka import Consumer, TopicPartition


def main(argv: list[str]) -> None:
    dst, topic, offsets, out = argv
    starts = [tuple(map(int, kv.split(":"))) for kv in offsets.split(",")]
    c = Consumer({"bootstrap.servers": dst, "group.id": "bench-latency-observer", "enable.auto.commit": False,
                  "fetch.wait.max.ms": 5, "fetch.min.bytes": 1, "fetch.error.backoff.ms": 5,
                  "enable.partition.eof": False})
    c.assign([TopicPartition(topic, p, o) for p, o in starts])
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    lat: list[int] = []
    ready_at = time.monotonic() + 1.0
    ready = False
    while not stop:
        # consume(n, timeout) returns only when n records or the timeout are reached (librdkafka
        # collects a batch): consume(10000, 0.05) added up to 50 ms to every latency at 5 MiB/s.
        # poll returns with the first record; what else has arrived is taken without waiting.
        first = c.poll(0.05)
        now = int(time.time() * 1000)
        msgs = [first, *c.consume(10000, 0)] if first is not None else []
        for m in msgs:
            if m.error() is None:
                lat.append(now - m.timestamp()[1])
        if not ready and time.monotonic() >= ready_at:
            print("READY", flush=True)
            ready = True
    c.close()
    lat.sort()
    n = len(lat)
    pick = (lambda q: lat[min(n - 1, int(q * n))]) if n else (lambda q: None)
    with open(out, "w") as f:
        json.dump({"records": n, "p50_ms": pick(0.50), "p99_ms": pick(0.99), "max_ms": lat[-1] if n else None}, f)


if __name__ == "__main__":
    main(sys.argv[1:])
