"""A real Kafka Streams application (a count per key with a state store) as a test workload.

`java/StreamsCount.java` is compiled once per (source, jars) into the cache,
against the `kafka-streams` jar of the pinned Kafka version fetched through
Maven (`fetch_artifacts`), as javacodec.py does for its helper. The JVM runs
with a small heap as a child that cannot outlive the test (kafkabed.procs).
Its changelog, ``<application.id>-counts-changelog``, is compacted and rolls
segments every 100 ms, so the test bed's cleaner (1 s backoff) cleans it
within seconds. With ``guarantee="exactly_once_v2"`` every write is transactional and
the records pass through a repartition topic, ``<application.id>-counts-repartition``.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from . import procs
from .fetch import fetch_artifacts
from .javacodec import compile_helper
from .jvm import java_binary
from .versions import PINNED

SOURCE = Path(__file__).with_name("java") / "StreamsCount.java"
MAIN_CLASS = "StreamsCount"


def streams_classpath(version: str = PINNED) -> list[Path]:
    """kafka-streams of `version` and its runtime dependencies (fetched on first use)."""
    cp = fetch_artifacts(f"streams-{version}", [f"org.apache.kafka:kafka-streams:{version}"])
    return [Path(p) for p in cp.split(os.pathsep)]


class StreamsCountApp:
    """One run of the count application; a context manager that always stops the JVM.

    Several runs may share an ``application_id`` (one after the other): a new
    ``state_dir`` makes the run restore its store from the changelog."""

    def __init__(self, bootstrap: str, application_id: str, input_topic: str, output_topic: str,
                 state_dir: Path, log_path: Path, heap: str = "128m", version: str = PINNED,
                 guarantee: str = "at_least_once") -> None:
        jars = streams_classpath(version)
        classes = compile_helper(jars, SOURCE, MAIN_CLASS, cache="streams")
        self.log_path = log_path
        self.changelog = f"{application_id}-counts-changelog"
        #: Only with exactly_once_v2 (at_least_once groups by the input's own key).
        self.repartition = f"{application_id}-counts-repartition"
        self._cmd = [java_binary(), f"-Xmx{heap}", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                     "-cp", os.pathsep.join([str(classes), *map(str, jars)]), MAIN_CLASS,
                     bootstrap, application_id, input_topic, output_topic, str(state_dir), guarantee]
        self._proc = None

    def __enter__(self) -> StreamsCountApp:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.write_bytes(b"")
        self._proc = procs.spawn(self._cmd, self.log_path)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_running(self, timeout: float = 60.0) -> None:
        """Until Kafka Streams reports RUNNING (after its rebalance and any restore)."""
        deadline = time.monotonic() + timeout
        while "STATE RUNNING" not in self.text():
            if self._proc is None or self._proc.poll() is not None:
                raise RuntimeError(f"the Streams application exited: {self.text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Streams application not RUNNING within {timeout}s: "
                                   f"{self.text()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> int | None:
        """SIGTERM: Kafka Streams closes (commits its offsets); SIGKILL after 30 s."""
        if self._proc is None:
            return None
        code = procs.stop(self._proc, timeout=30)
        self._proc = None
        return code
