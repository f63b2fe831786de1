"""How the test bed runs Java: which binary, which JVM options."""
from __future__ import annotations

import os
import shutil
from pathlib import Path


class JavaNotFound(RuntimeError):
    """No JDK to run Kafka with."""


DEFAULT_HEAP = "384m"
#: Measured in docs/testbed.md: C1-only JIT and the serial GC start a node faster.
DEFAULT_JVM_OPTIONS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:+ExitOnOutOfMemoryError",
                       "-Djava.awt.headless=true", "-Xshare:auto")
#: For benchmarks that load the brokers: full JIT and G1, as Kafka's own scripts run them.
THROUGHPUT_JVM_OPTIONS = ("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:+ExitOnOutOfMemoryError",
                          "-Djava.awt.headless=true")


def java_binary() -> str:
    """$JAVA_HOME/bin/java if set, else the java on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise JavaNotFound("no 'java' on PATH and no JAVA_HOME: a JDK 17+ is needed to run Kafka")
    return found
