"""A pytest session holding a cluster leaves no JVM behind, however it is stopped."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

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


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_no_jvm_survives_an_interrupted_pytest(tmp_path, sig):
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
