"""`linker run` as subprocesses of one link file, for the tests that run the CLI as a user does
(scale-out members, the owner record): the link file, the process with its log, and a writer
keeping the source busy meanwhile."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from kafka import KafkaProducer

POLL_MS = 300            # lifecycle.state_poll_ms of the link file


def link_file(tmp_path: Path, source, destination, topics: list[str], name: str, metrics: bool = False,
              file: str = "link.toml", tables: str = "") -> Path:
    """A link file mirroring ``topics`` by name (``metrics``: its own port; ``tables``: TOML
    appended, e.g. a [group] table)."""
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
{tables}''')
    return link


class LinkerProcess:
    """One `python -m linker.app.cli run` subprocess, stderr kept in a file."""

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

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self) -> int:
        """SIGTERM (after SIGCONT, should a test have stopped it) and wait; kill -9 after 30 s."""
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
