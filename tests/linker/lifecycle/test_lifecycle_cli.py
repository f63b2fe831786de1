"""The CLI wiring: `linker run` (subprocess) applies `linker pause/resume/promote` (subprocesses);
a bad command exits 1 with a reason."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

from kafkabed.producers import produce


def linker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "linker.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_cli_commands_against_running_linker(source, destination, topic_name, tmp_path):
    source.create_topic(topic_name, partitions=2)
    produce(source, topic_name, 30)
    link = tmp_path / "link.toml"
    link.write_text(f'''name = "cli-{topic_name[-8:]}"
[source]
bootstrap_servers = "{source.bootstrap}"
[destination]
bootstrap_servers = "{destination.bootstrap}"
[topics]
names = ["{topic_name}"]
[mirror]
fetch_max_wait_ms = 100
[lifecycle]
state_poll_ms = 300
offset_sync_interval_ms = 1000
''')
    run = subprocess.Popen([sys.executable, "-m", "linker.cli", "run", "-c", str(link)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        bad = linker("pause", "-c", str(link), "no-such-topic-here")
        assert bad.returncode == 1 and "not a mirror topic on the destination: no-such-topic-here" in bad.stderr
        deadline = time.monotonic() + 60
        while True:   # until the running linker has created the mirror topic
            out = linker("pause", "-c", str(link), topic_name)
            if out.returncode == 0:
                break
            assert time.monotonic() < deadline, out.stderr
            time.sleep(0.5)
        assert out.stdout.strip() == f"{topic_name}: PAUSED"
        assert linker("resume", "-c", str(link), topic_name).returncode == 0
        out = linker("promote", "-c", str(link), topic_name)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(f"{topic_name}: STOPPED final offsets 0:")
        ends = dict(x.split(":") for x in out.stdout.split("final offsets ")[1].strip().split(", "))
        assert sum(int(v) for v in ends.values()) == 30
        out = linker("resume", "-c", str(link), topic_name)
        assert out.returncode == 1 and "STOPPED" in out.stderr
    finally:
        run.send_signal(signal.SIGTERM)
        try:
            _, err = run.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            run.kill()
            raise
    assert run.returncode == 0, err[-2000:]
    assert "promoted" in err
