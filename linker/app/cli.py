"""The `linker` command: run, status, verify, proxy, and the lifecycle commands (pause, resume, promote, failover,
failback)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from linker.preflight.sample import SAMPLE_BYTES
from linker.reach import REACH_TIMEOUT_S
from linker.settings import ConfigError, LinkConfig, load_config


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds above 0 and at most 3600")
    return value


def _sample_bytes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of bytes") from None
    if not 1024 <= value <= 64 * 1024 * 1024:
        raise argparse.ArgumentTypeError(f"{text!r}: give between 1024 and 67108864 bytes")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="linker", description="Exact Kafka mirroring into unmodified Apache Kafka.")
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_text in (("run", "mirror the link's topics until stopped (SIGTERM/SIGINT drain and exit)"),
                            ("status", "show each mirrored partition: state, offsets, lag, fidelity"),
                            ("verify", "compare source and destination batch by batch"),
                            ("plan", "read-only preflight: what `linker run` would do to each topic, "
                                     "fidelity, conflicts, missing rights, an ETA (exit 3: something would block)"),
                            ("proxy", "serve the link's [proxy]: read-only guard from the state topic, "
                                      "cutover on promote")):
        sp = sub.add_parser(name, help=help_text)
        sp.add_argument("--config", "-c", required=True, help="the link file (TOML)")
        if name in ("status", "plan"):
            sp.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "status":
            sp.add_argument("--watch", nargs="?", const=2.0, type=_seconds, metavar="SECONDS",
                            help="refresh every SECONDS (default 2): a terminal gets the table redrawn, "
                                 "a pipe one summary line per refresh (with --json: one JSON document "
                                 "per line)")
        if name == "plan":
            sp.add_argument("--sample-bytes", type=_sample_bytes, default=SAMPLE_BYTES, metavar="BYTES",
                            help="bytes fetched from the head and from the tail of each partition "
                                 f"(default {SAMPLE_BYTES})")
        if name == "verify":
            sp.add_argument("--topic", help="only this topic")
            sp.add_argument("--allow-lag", action="store_true",
                            help="exit 0 when the destination is exact so far but behind (BEHIND); "
                                 "without it BEHIND exits 3")
        if name in ("status", "verify", "plan"):
            sp.add_argument("--timeout", type=_seconds, default=REACH_TIMEOUT_S, metavar="SECONDS",
                            help="how long each cluster may take to answer before it is shown as "
                                 f"unreachable (exit 4); default {REACH_TIMEOUT_S:g}")
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
            sp.add_argument("--per-topic", action="store_true",
                            help="with proxy.control: move only these topics' clients (and groups that "
                                 "use only promoted topics) to the destination; the proxy's other "
                                 "topics stay on the source (see docs/proxy.md)")
    fb = sub.add_parser("failback", help="after a failover: fence the old source, report (and export) what the "
                                         "failover lost, reuse or recreate its topics, write the reverse link")
    fb.add_argument("--config", "-c", required=True, help="the forward link file (the one failed over)")
    fb.add_argument("topics", nargs="+", metavar="TOPIC")
    fb.add_argument("--export", metavar="DIR", help="write the lost records as JSON lines into DIR")
    fb.add_argument("--recreate", action="store_true",
                    help="delete and recreate old topics that hold records beyond the failover offsets")
    fb.add_argument("--no-fence", action="store_true",
                    help="go on without a DENY WRITE on the old source (its producers are stopped otherwise)")
    fb.add_argument("--reverse-link", metavar="FILE",
                    help="where to write the reverse link file (default: <link file>-failback.toml beside it)")
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
        if args.watch is not None:
            from linker.status import watch
            return watch(config, args.watch, args.timeout, sys.stdout, sys.stdout.isatty(), as_json=args.json)
        return _status(config, args.json, args.timeout)
    if args.command == "plan":
        return _plan(config, args.json, args.sample_bytes, args.timeout)
    if args.command == "proxy":
        return _proxy(config, args.log_level)
    if args.command == "failback":
        from linker.lifecycle.cli_failback import run_failback
        return run_failback(config, args.config, args.topics, fence=not args.no_fence, recreate=args.recreate,
                            export_dir=args.export, reverse_path=args.reverse_link)
    if args.command in ("promote", "failover") and config.proxy is not None and config.proxy.control is not None:
        from linker.app.control import command_via_proxy
        return command_via_proxy(config, args.command, list(dict.fromkeys(args.topics)),
                                 force=getattr(args, "force", False), per_topic=getattr(args, "per_topic", False))
    for flag in ("force", "per_topic"):
        if getattr(args, flag, False):
            print(f"linker: promote --{flag.replace('_', '-')} applies only to a link with proxy.control (it "
                  "concerns the proxy's clients)", file=sys.stderr)
            return 2
    if args.command in ("pause", "resume", "promote", "failover"):
        from linker.lifecycle.cli_commands import run_command
        return run_command(config, args.command, args.topics)
    return _verify(config, args.topic, args.allow_lag, args.timeout)


def _logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")


def _run(config: LinkConfig, level: str) -> int:
    from linker.app.run import run_until_stopped

    _logging(level)
    return run_until_stopped(config)


def _proxy(config: LinkConfig, level: str) -> int:
    if config.proxy is None:
        print("linker proxy: the link file has no [proxy] table (see docs/proxy.md)", file=sys.stderr)
        return 2
    _logging(level)
    from linker.app.linked_proxy import run_proxy
    return run_proxy(config)


def _status(config: LinkConfig, as_json: bool, timeout: float) -> int:
    """Exit 0, or 4 when a cluster could not be read (what is known is still printed)."""
    from linker.status import status_output

    text, code = status_output(config, as_json, timeout)
    sys.stdout.write(text)
    return code


def _plan(config: LinkConfig, as_json: bool, sample_bytes: int, timeout: float) -> int:
    """Exit 0 nothing would block, 3 something would be BLOCKED, conflict or lack a right,
    4 a cluster could not be read (linker.preflight.report)."""
    from linker.preflight.run import plan_output

    text, code = plan_output(config, as_json, sample_bytes, timeout)
    sys.stdout.write(text)
    return code


def _verify(config: LinkConfig, topic: str | None, allow_lag: bool, timeout: float) -> int:
    """Exit 0 exact (or only behind, with --allow-lag), 1 not exact or a link problem,
    3 exact so far but behind or incomplete, 4 a cluster could not be read."""
    from linker.verify import verify_link

    report = asyncio.run(verify_link(config, topic, timeout))
    sys.stdout.write(report.render(allow_lag))
    return report.exit_code(allow_lag)


if __name__ == "__main__":
    raise SystemExit(main())
