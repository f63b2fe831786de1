"""`make demo`, stage 1: two local Apache Kafka clusters and some data on the source.

Starts a "source" and a "destination" cluster with the test bed, writes a demo
topic on the source with three codecs, prints where everything listens and
waits for Ctrl-C (or exits at once with --once / LINKER_DEMO_ONCE=1), then
stops both clusters. The mirror engine will be wired in here next.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from contextlib import ExitStack

DEMO_TOPIC = "demo"
CODECS = ("gzip", "lz4", "zstd")


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m linker.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", default=os.environ.get("LINKER_DEMO_ONCE") == "1",
                        help="exit after printing the addresses instead of waiting for Ctrl-C")
    parser.add_argument("--records", type=int, default=1000, help="records per codec (default 1000)")
    args = parser.parse_args(argv)
    if args.records < 1:
        parser.error("--records must be at least 1")
    # Ctrl-C stops the demo even if started where SIGINT was ignored (a background job of a
    # script); SIGTERM (e.g. from a process supervisor) stops it the same way.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)

    from kafkabed import KafkaCluster, PINNED
    from kafkabed.producers import produce

    try:
        with ExitStack() as stack:
            print(f"Starting two Apache Kafka {PINNED} clusters ...", flush=True)
            clusters = {}
            for name in ("source", "destination"):
                cluster = KafkaCluster(name)
                cluster.start()
                stack.callback(cluster.stop)
                clusters[name] = cluster
                print(f"  {name:12} {cluster.bootstrap}   (up in {cluster.startup_seconds:.1f}s, "
                      f"pid {cluster.brokers[0].pid})", flush=True)
            source = clusters["source"]
            source.create_topic(DEMO_TOPIC, partitions=3, configs={"compression.type": "producer"})
            end = 0
            for codec in CODECS:
                done = produce(source, DEMO_TOPIC, args.records, compression=codec, idempotent=True)
                end += len(done.offsets)
            print(f"Produced {end} records to '{DEMO_TOPIC}' on the source "
                  f"({args.records} each with {', '.join(CODECS)}).")
            print(f"Broker logs: {source.directory.parent}")
            print("Try: kcat -b " + source.bootstrap + f" -C -t {DEMO_TOPIC} -e -q | head")
            if args.once:
                print("Stopping (--once).", flush=True)
                return 0
            print("Running. Press Ctrl-C to stop both clusters.", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("\nStopping the clusters ... done.", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
