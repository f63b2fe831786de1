"""Runs one lifecycle command for the `linker` CLI and prints one line per topic."""
from __future__ import annotations

import asyncio
import logging
import sys

from linker.client.errors import ClientError
from linker.settings import LinkConfig
from linker.lifecycle.commands import CommandError, Commands
from linker.lifecycle.state_store import StateStoreError


def run_command(config: LinkConfig, command: str, topics: list[str]) -> int:
    """0 on success; 1 with a one-line reason on stderr otherwise."""
    logging.basicConfig(level="WARNING", stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")

    async def go() -> int:
        cmds = Commands(config)
        try:
            results = await getattr(cmds, command)(list(dict.fromkeys(topics)))
        finally:
            await cmds.close()
        for r in results:
            sys.stdout.write(r.line() + "\n")
        if results and results[0].producer_ids:   # one burn covers every topic of the command
            sys.stdout.write(results[0].producer_ids + "\n")
        for line in results[0].access if results else []:   # one report for the command
            sys.stdout.write(line + "\n")
        return 0

    try:
        return asyncio.run(go())
    except (CommandError, StateStoreError, ClientError) as exc:
        sys.stderr.write(f"linker {command}: {exc}\n")
        return 1
