"""Helpers for scale-out tests: N `linker run` subprocesses of one link file with a [group]
table, and where each member's log says what it did (the process, link file and writer are
those of ``tests/linker/run_process.py``)."""
from __future__ import annotations

import re
from pathlib import Path

from ..run_process import LinkerProcess, Writer
from ..run_process import link_file as plain_link_file

__all__ = ["HEARTBEAT_MS", "LEASE_MS", "SESSION_MS", "Member", "Writer", "link_file"]

SESSION_MS = 6000        # the brokers' group.min.session.timeout.ms
HEARTBEAT_MS = 1000
LEASE_MS = 4000


def link_file(tmp_path: Path, source, destination, topics: list[str], name: str, metrics: bool = False,
              file: str = "link.toml") -> Path:
    """The link file every member runs (``metrics``: each its own port, so each needs its own file)."""
    return plain_link_file(tmp_path, source, destination, topics, name, metrics, file, tables=f'''[group]
session_timeout_ms = {SESSION_MS}
heartbeat_interval_ms = {HEARTBEAT_MS}
lease_ms = {LEASE_MS}
''')


class Member(LinkerProcess):
    """One member's `linker run` subprocess, with what its log says it owns and its metrics."""

    def owned(self) -> int:
        """Partitions owned after the last assignment this member logged."""
        n = 0
        for line in self.text().splitlines():
            if "assigned" in line and "partition(s)" in line and "group" in line:
                n += int(re.search(r"assigned (\d+) partition", line).group(1))
            elif "revoking" in line:
                n -= int(re.search(r"revoking (\d+) partition", line).group(1))
            elif "stopped producing at once" in line:
                n = 0
        return n

    def metrics(self) -> str:
        """The member's /metrics text (its port from the log line naming it)."""
        import urllib.request
        port = self.wait_log(r"metrics and status on http://[^:]+:(\d+)/", 30).group(1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            return r.read().decode()
