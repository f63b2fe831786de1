"""Command line: `python -m kafkabed fetch [--version V]`, `python -m kafkabed classpath`,
`python -m kafkabed up` (start a cluster until Ctrl-C)."""
from __future__ import annotations

import argparse
import signal
import sys
import time

from .fetch import FetchError, cache_root, classpath, fetch
from .versions import MATRIX, PINNED, RELEASES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kafkabed", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help=f"fetch Kafka jars into the cache (default: {', '.join(MATRIX)})")
    f.add_argument("--version", choices=sorted(RELEASES), action="append")
    c = sub.add_parser("classpath", help="print the classpath of a Kafka version")
    c.add_argument("--version", choices=sorted(RELEASES), default=PINNED)
    u = sub.add_parser("up", help="start a cluster, print its addresses, stop on Ctrl-C")
    u.add_argument("--version", choices=sorted(RELEASES), default=PINNED)
    u.add_argument("--nodes", type=int, default=1)
    u.add_argument("--listeners", default="PLAINTEXT", help="comma-separated, e.g. PLAINTEXT,SASL_SSL")
    u.add_argument("--authorizer", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            for version in args.version or MATRIX:
                jars = fetch(version)
                print(f"Kafka {version}: {len(jars)} jars in {cache_root() / version / 'libs'}")
        elif args.command == "classpath":
            print(classpath(args.version))
        else:
            from .cluster import KafkaCluster
            # Ctrl-C must stop the cluster even when started from a shell that ignores SIGINT
            # for background jobs; SIGTERM stops it the same way.
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            with KafkaCluster("kafka", nodes=args.nodes, version=args.version,
                              listeners=args.listeners.split(","), authorizer=args.authorizer) as cluster:
                print(f"Kafka {args.version}, {args.nodes} node(s), up in {cluster.startup_seconds:.1f}s")
                for name in cluster.listeners:
                    print(f"  {name:15} {cluster.bootstrap_for(name)}")
                print(f"  logs: {cluster.directory}\nCtrl-C to stop.", flush=True)
                while True:
                    time.sleep(3600)
    except FetchError as e:
        print(f"kafkabed: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.command == "up":
            print("Stopped.", flush=True)
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
