"""No child outlives the Python process that started it, however that process ends."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from kafkabed import procs

_PARENT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from kafkabed import procs
    child = procs.spawn(["sleep", "300"], Path(sys.argv[1]))
    print(child.pid, flush=True)
    time.sleep(300)
""")


def _gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # a zombie of an already-dead parent is reaped by init; check its state
        try:
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=lambda s: s.name)
def test_child_dies_with_its_parent(tmp_path, how):
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, str(tmp_path / "child.log")],
                              stdout=subprocess.PIPE, text=True)
    try:
        child_pid = int(parent.stdout.readline())
        assert not _gone(child_pid, within=0.2), "child should be running before the parent ends"
        parent.send_signal(how)
        parent.wait(10)
        assert _gone(child_pid), f"child {child_pid} outlived its parent killed by {how.name}"
    finally:
        parent.kill()
        parent.wait()


def test_spawn_from_a_short_lived_thread_survives_the_thread(tmp_path):
    import threading
    box: dict = {}
    t = threading.Thread(target=lambda: box.update(p=procs.spawn(["sleep", "30"], tmp_path / "x.log")))
    t.start()
    t.join()
    time.sleep(0.3)
    proc = box["p"]
    try:
        assert proc.poll() is None, "the parent-death signal must not fire when the spawning thread ends"
        assert proc.pid in procs.live_pids()
    finally:
        procs.stop(proc)
    assert proc.pid not in procs.live_pids()


def test_stop_escalates_from_term_to_kill(tmp_path):
    proc = procs.spawn(["sh", "-c", "trap '' TERM; sleep 30"], tmp_path / "x.log")
    time.sleep(0.2)
    t0 = time.monotonic()
    code = procs.stop(proc, timeout=0.5)
    assert code == -signal.SIGKILL
    assert time.monotonic() - t0 < 5
