"""Runs `linker failback` for the CLI: prints the report, writes the reverse link file."""
from __future__ import annotations

import asyncio
import logging
import sys
import tomllib
from pathlib import Path

from linker.client.errors import ClientError
from linker.lifecycle.failback import Failback, FailbackError
from linker.lifecycle.state_store import StateStoreError
from linker.settings import ConfigError, LinkConfig


def default_reverse_path(config_path: str) -> Path:
    """Beside the forward link file: ``<stem>-failback.toml``."""
    p = Path(config_path)
    return p.with_name(f"{p.stem}-failback.toml")


def run_failback(config: LinkConfig, config_path: str, topics: list[str], *, fence: bool, recreate: bool,
                 export_dir: str | None, reverse_path: str | None) -> int:
    """0 when the old topics are ready for the reverse link; 1 with the reason on stderr otherwise."""
    logging.basicConfig(level="WARNING", stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    forward = tomllib.loads(Path(config_path).read_text(encoding="utf-8"))
    target = Path(reverse_path) if reverse_path else default_reverse_path(config_path)

    async def go() -> int:
        fb = Failback(config)
        try:
            report = await fb.run(list(dict.fromkeys(topics)), fence=fence, recreate=recreate,
                                  export_dir=export_dir, forward_doc=forward, reverse_path=target)
        finally:
            await fb.close()
        for line in report.lines():
            sys.stdout.write(line + "\n")
        if report.refusal:
            sys.stderr.write(f"linker failback: {report.refusal}\n")
            return 1
        return 0

    try:
        return asyncio.run(go())
    except (FailbackError, StateStoreError, ClientError, ConfigError, OSError) as exc:
        sys.stderr.write(f"linker failback: {exc}\n")
        return 1
