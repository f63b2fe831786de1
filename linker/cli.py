"""The `linker` command: run, status, verify, proxy, and the lifecycle commands (pause, resume, promote, failover)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from linker.config import ConfigError, LinkConfig, load_config


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="linker", description="Exact Kafka mirroring into unmodified Apache Kafka.")
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_text in (("run", "mirror the link's topics until stopped (SIGTERM/SIGINT drain and exit)"),
                            ("status", "show each mirrored partition: state, offsets, lag, fidelity"),
                            ("verify", "compare source and destination batch by batch"),
                            ("proxy", "serve the link's [proxy]: read-only guard from the state topic, "
                                      "cutover on promote")):
        sp = sub.add_parser(name, help=help_text)
        sp.add_argument("--config", "-c", required=True, help="the link file (TOML)")
        if name == "status":
            sp.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "verify":
            sp.add_argument("--topic", help="only this topic")
        if name in ("run", "proxy"):
            sp.add_argument("--log-level", default="INFO")
    for name, help_text in (("pause", "stop mirroring topics for now (state topic; applies to a running linker)"),
                            ("resume", "mirror paused topics again"),
                            ("promote", "planned migration: catch up, final offset sync, STOPPED (writable)"),
                            ("failover", "disaster recovery: STOPPED at once; reports what was not mirrored")):
        sp = sub.add_parser(name, help=help_text)
        sp.add_argument("--config", "-c", required=True, help="the link file (TOML)")
        sp.add_argument("topics", nargs="+", metavar="TOPIC")
        if name == "promote":
            sp.add_argument("--force", action="store_true",
                            help="with proxy.control: switch the proxy's clients even when they use topics "
                                 "the destination cannot serve as the source does (see docs/proxy.md)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"linker: {exc}", file=sys.stderr)
        return 2
    if args.command == "run":
        return _run(config, args.log_level)
    if args.command == "status":
        return _status(config, args.json)
    if args.command == "proxy":
        return _proxy(config, args.log_level)
    if args.command in ("promote", "failover") and config.proxy is not None and config.proxy.control is not None:
        from linker.proxy_link import command_via_proxy
        return command_via_proxy(config, args.command, list(dict.fromkeys(args.topics)),
                                 force=getattr(args, "force", False))
    if getattr(args, "force", False):
        print("linker: promote --force applies only to a link with proxy.control (it concerns the "
              "proxy's clients)", file=sys.stderr)
        return 2
    if args.command in ("pause", "resume", "promote", "failover"):
        from linker.lifecycle.cli_commands import run_command
        return run_command(config, args.command, args.topics)
    return _verify(config, args.topic)


def _run(config: LinkConfig, level: str) -> int:
    from linker.metrics import MetricsServer, MirrorMetrics
    from linker.mirror.engine import MirrorEngine
    from linker.connect import connect

    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def main_async() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        metrics = MirrorMetrics()
        source = connect(config.source, "source", f"{config.source.client_id}-{config.name}")
        dest = connect(config.destination, "destination", f"{config.destination.client_id}-{config.name}")
        engine = MirrorEngine(config.name, config.mirror, config.topics, source, dest, metrics)
        from linker.lifecycle.controller import LifecycleController
        lifecycle = LifecycleController(engine, config, source, dest)
        server = None
        if config.metrics.port is not None:
            server = MetricsServer(metrics, lifecycle.status_doc, config.metrics.host, config.metrics.port)
            await server.start()
            logging.getLogger("linker").info("metrics and status on http://%s:%d/",
                                             config.metrics.host, server.port)
        await lifecycle.prepare()
        lifecycle_task = asyncio.create_task(lifecycle.run(stop))
        try:
            await engine.run(stop)
        finally:
            stop.set()
            await lifecycle_task
            if server is not None:
                await server.close()
            await source.close()
            await dest.close()

    try:
        asyncio.run(main_async())
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a start-up failure: say what, not a traceback
        logging.getLogger("linker").error("linker run failed: %s", exc)
        return 1
    return 0


def _proxy(config: LinkConfig, level: str) -> int:
    if config.proxy is None:
        print("linker proxy: the link file has no [proxy] table (see docs/proxy.md)", file=sys.stderr)
        return 2
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from linker.proxy_link import run_proxy
    return run_proxy(config)


def _status(config: LinkConfig, as_json: bool) -> int:
    from linker.status import status_text

    sys.stdout.write(status_text(config, as_json))
    return 0


def _verify(config: LinkConfig, topic: str | None) -> int:
    from linker.verify import verify_link

    report = asyncio.run(verify_link(config, topic))
    sys.stdout.write(report.render())
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
