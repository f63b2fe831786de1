"""Helpers for scale-out tests: N `linker run` subprocesses of one link file with a [group]
table, a writer keeping the source busy, and where each member's log says what it did."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from kafka import KafkaProducer

SESSION_MS = 6000        # the brokers' group.min.session.timeout.ms
HEARTBEAT_MS = 1000
LEASE_MS = 4000
POLL_MS = 300


def link_file(tmp_path: Path, source, destination, topics: list[str], name: str, metrics: bool = False,
              file: str = "link.toml") -> Path:
    """The link file every member runs (``metrics``: each its own port, so each needs its own file)."""
    link = tmp_path / file
    names = ", ".join(f'"{t}"' for t in topics)
    listen = '[metrics]\nlisten = "127.0.0.1:0"\n' if metrics else ""
    link.write_text(f'''name = "{name}"
{listen}
[source]
bootstrap_servers = "{source.bootstrap}"
[destination]
bootstrap_servers = "{destination.bootstrap}"
[topics]
names = [{names}]
[mirror]
fetch_max_wait_ms = 100
stop_timeout_ms = 5000
[lifecycle]
state_poll_ms = {POLL_MS}
offset_sync_interval_ms = 1000
[group]
session_timeout_ms = {SESSION_MS}
heartbeat_interval_ms = {HEARTBEAT_MS}
lease_ms = {LEASE_MS}
''')
    return link


class Member:
    """One `linker run` subprocess, stderr kept in a file."""

    def __init__(self, link: Path, log: Path) -> None:
        self.log = log
        self.started = time.monotonic()
        with open(log, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "linker.app.cli", "run", "-c", str(link)],
                                         stdout=subprocess.DEVNULL, stderr=err)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_log(self, pattern: str, timeout: float = 60.0, after: int = 0) -> re.Match[str]:
        """The first match of ``pattern`` in the log at or after character ``after``."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.compile(pattern).search(self.text(), after)
            if m is not None:
                return m
            assert self.alive(), f"linker run exited ({self.proc.returncode}):\n{self.text()[-3000:]}"
            assert time.monotonic() < deadline, f"no {pattern!r} within {timeout}s:\n{self.text()[-3000:]}"
            time.sleep(0.05)

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

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        return self.proc.returncode


class Writer(threading.Thread):
    """Keeps producing to the source topics (one producer, acks=all) while the test runs."""

    def __init__(self, source, topics: list[str], per_round: int = 50, pause: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.source, self.topics, self.per_round, self.pause = source, topics, per_round, pause
        self.halt, self.sent = threading.Event(), 0
        self.error: BaseException | None = None

    def run(self) -> None:
        producer = KafkaProducer(**self.source.kafka_python_config(), acks="all", linger_ms=5)
        try:
            i = 0
            while not self.halt.is_set():
                futures = [producer.send(self.topics[(i + k) % len(self.topics)], value=b"v%d" % (i + k))
                           for k in range(self.per_round)]
                for f in futures:
                    f.get(30)
                i += self.per_round
                self.sent = i
                time.sleep(self.pause)
        except BaseException as exc:
            self.error = exc
        finally:
            producer.close(10)

    def finish(self) -> int:
        self.halt.set()
        self.join(60)
        assert self.error is None, self.error
        return self.sent
