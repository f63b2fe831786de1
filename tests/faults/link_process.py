"""`linker run` as a user runs it: a link file and the CLI in a subprocess (no linker imports,
so these tests judge the product from outside)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def _servers(side: Any) -> list[str]:
    """A kafkabed cluster's client listener, or a bootstrap string (e.g. FaultRelays.bootstrap)."""
    return (side if isinstance(side, str) else side.bootstrap).split(",")


def write_link(path: Path, source: Any, destination: Any, topics: list[str], name: str = "faults",
               **mirror: Any) -> Path:
    """A link file mirroring `topics` by name; `mirror` adds [mirror] settings."""
    settings = {"fetch_max_wait_ms": 100, "stop_timeout_ms": 5000, **mirror}
    lines = [
        f"name = {json.dumps(name)}",
        "[source]", f"bootstrap_servers = {json.dumps(_servers(source))}",
        "[destination]", f"bootstrap_servers = {json.dumps(_servers(destination))}",
        "[topics]", f"names = {json.dumps(topics)}",
        "[mirror]", *(f"{k} = {json.dumps(v)}" for k, v in settings.items()),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


class LinkerRun:
    """One `python -m linker.app.cli run` process at a time for a link file; stderr to `log`."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.kills = 0
        self.log_from = 0     # where this run's lines start in the log

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.log_from = len(self.text())
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "linker.app.cli", "run", "--config", str(self.config)],
                                         stdout=subprocess.DEVNULL, stderr=err)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self.kills += 1

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait; kill -9 if it does not end in time. Returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
            return None

    def wait_log(self, text: str, timeout: float = 60.0) -> None:
        """Wait until the current run has logged `text` (the process must stay alive)."""
        deadline = time.monotonic() + timeout
        while text not in self.text()[self.log_from:]:
            if not self.running:
                raise AssertionError(f"linker run exited ({self.proc.returncode if self.proc else None}):\n"
                                     f"{self.text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in the linker log after {timeout}s:\n{self.text()[-3000:]}")
            time.sleep(0.05)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def __enter__(self) -> "LinkerRun":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.running:
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(30)
