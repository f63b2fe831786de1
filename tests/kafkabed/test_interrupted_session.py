"""A pytest session holding a cluster leaves no JVM behind when it is interrupted."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

from kafkabed.procs import processes_mentioning

_SESSION = textwrap.dedent("""
    import time
    import pytest
    from kafkabed import KafkaCluster

    @pytest.fixture(scope="session")
    def cluster():
        with KafkaCluster("interrupted") as c:
            yield c

    def test_hangs(cluster):
        print("READY", cluster.directory, flush=True)
        time.sleep(300)
""")


# SIGKILL of the parent (no Python clean-up at all) is covered by test_procs.py: the same
# parent-death signal that kills `sleep` there kills a JVM here.
def test_no_jvm_survives_ctrl_c_of_pytest(tmp_path):
    sig = signal.SIGINT
    (tmp_path / "test_hang.py").write_text(_SESSION)
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider",
                             "test_hang.py"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        directory = None
        for line in proc.stdout:
            if line.startswith("READY "):
                directory = line.split()[1]
                break
        assert directory, "the inner session never got its cluster"
        assert len(processes_mentioning(directory)) == 1
        proc.send_signal(sig)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    deadline = time.monotonic() + 10
    while processes_mentioning(directory) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_mentioning(directory) == []
