"""`make demo` (stage 1) starts two clusters, produces, and exits cleanly on Ctrl-C."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from kafkabed.procs import processes_mentioning

ROOT = Path(__file__).resolve().parents[2]


def _start_demo(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "linker.demo", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _read_until(proc: subprocess.Popen, marker: str, timeout: float = 180) -> str:
    out = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        out.append(line)
        if marker in line:
            return "".join(out)
    proc.kill()
    raise AssertionError(f"demo never printed {marker!r}; output:\n{''.join(out)}")


def test_demo_runs_and_stops_on_ctrl_c():
    proc = _start_demo("--records", "50")
    try:
        text = _read_until(proc, "Press Ctrl-C")
        assert re.search(r"source\s+127\.0\.0\.1:\d+", text)
        assert re.search(r"destination\s+127\.0\.0\.1:\d+", text)
        assert "Produced 150 records to 'demo'" in text
        log_dir = re.search(r"Broker logs: (\S+)", text).group(1)
        assert len(processes_mentioning(log_dir)) == 2, "two broker JVMs are running"
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, rest
    assert "Stopping the clusters" in rest
    assert processes_mentioning(log_dir) == [], "no JVM outlives the demo"


def test_ctrl_c_during_start_up_leaves_no_jvm():
    proc = _start_demo()
    try:
        _read_until(proc, "Starting two")
        # wait until the first broker JVM exists, then interrupt while it boots
        deadline = time.monotonic() + 60
        jvms: list[int] = []
        while not jvms and time.monotonic() < deadline:
            jvms = [p for p in processes_mentioning("kafka.Kafka") if _child_of(p, proc.pid)]
            time.sleep(0.05)
        assert jvms, "the demo started no broker"
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    time.sleep(0.2)
    assert not [p for p in jvms if Path(f"/proc/{p}").exists() and
                Path(f"/proc/{p}/stat").read_text().split()[2] != "Z"]


def _child_of(pid: int, parent: int) -> bool:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) == parent
    except (OSError, IndexError, ValueError):
        return False
