"""What time heals never ends `linker run`, and `linker status` says what it waits for
(issue 14 finding 0(b), and the waiting state in `status`). Exactness by tests/checker.py."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from kafkabed.ports import free_ports
from kafkabed.producers import produce
from tests.checker import check_mirror, wait_exact

from .link_process import LinkerRun, write_link
from .workload import Writer, wait_growth

BIG = 1000
RECORDS = 2000


def status(cfg: Path) -> str:
    """`linker status` as a user runs it (stdout; exit 4 when a cluster is unreachable)."""
    r = subprocess.run([sys.executable, "-m", "linker.app.cli", "status", "--config", str(cfg)],
                       capture_output=True, text=True, timeout=90)
    return r.stdout + r.stderr


def with_status_port(cfg: Path) -> Path:
    cfg.write_text(cfg.read_text() + f'[metrics]\nlisten = "127.0.0.1:{free_ports(1)[0]}"\n')
    return cfg


def test_status_shows_the_linker_waiting(source, destination, topic_name, tmp_path):
    """The destination broker killed under a running linker: `linker status` names the wait and
    its reason (before: only the /status JSON had it); the mirror is exact once it is back."""
    source.create_topic(topic_name, partitions=2)
    produce(source, topic_name, 200, listener="INTERNAL")
    cfg = with_status_port(write_link(tmp_path / "link.toml", source, destination, [topic_name]))
    with LinkerRun(cfg, tmp_path / "run.log") as run:
        run.start()
        wait_exact(source, destination, [topic_name], timeout=60, min_records=200)
        destination.kill(1)
        try:
            run.wait_log("waiting for the cluster", 60)
            text = status(cfg)
        finally:
            destination.start_broker(1)
        assert "LINKER WAITING" in text and "retries):" in text, text
        produce(source, topic_name, 100, listener="INTERNAL")
        wait_exact(source, destination, [topic_name], timeout=120, min_records=300)
        deadline = time.monotonic() + 30       # the lag watch notices within a round or two
        while "LINKER WAITING" in (text := status(cfg)):
            assert time.monotonic() < deadline, text
            time.sleep(1.0)
        assert run.stop() == 0, run.text()[-3000:]


@pytest.mark.slow
def test_new_1000_partition_topic_into_a_busy_destination(source, destination, topic_names, tmp_path,
                                                          testbed_report):
    """Finding 0(b): a new 1,000-partition topic mirrored into a one-node destination busy with
    another writer. The destination takes a while to elect 1,000 leaders: `linker run` must wait
    (it exited with 'have no leaders after creation') and end exact. Takes 1-3 min on 2 shared
    cores (1,000 partitions created on both sides, read twice by the checker): marked slow."""
    big, busy = topic_names("big"), topic_names("busy")
    source.create_topic(big, partitions=BIG)
    destination.create_topic(busy, partitions=8)
    produce(source, big, RECORDS, listener="INTERNAL", linger_ms=50)
    writer = Writer(destination, busy, pause=0.0)
    cfg = write_link(tmp_path / "link.toml", source, destination, [big])
    writer.start()
    try:
        with LinkerRun(cfg, tmp_path / "run.log") as run:
            t0 = time.monotonic()
            run.start()
            wait_growth(destination, big, RECORDS - 1, run, timeout=180)   # cheap: one ListOffsets each
            took = time.monotonic() - t0
            check = check_mirror(source, destination, [big])
            assert check.exact, check
            assert run.running, run.text()[-3000:]
            assert run.stop() == 0, run.text()[-3000:]
            waited = "waiting for the cluster" in run.text()
    finally:
        writer.stop.set()
        writer.join(60)
        for cluster, topic in ((destination, busy), (destination, big), (source, big)):
            cluster.delete_topic(topic)
    assert writer.error is None, writer.error
    assert len(check.partitions) == BIG
    testbed_report(f"1,000-partition topic into a busy destination: exact {took:.1f}s after `linker run` "
                   f"started ({'waited for leaders on the way' if waited else 'no wait needed'})")
