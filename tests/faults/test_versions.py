"""The engine's core exactness across the version matrix (issue 14 "Versions"): sources 3.9.x and
4.4.0, destinations 3.9.x, 4.1.x and 4.4.0. Per pair: a catch-up on a backlog, a live writer,
`linker run` killed -9 twice mid-stream, then the independent checker must find the mirror
exact. The clusters are the shared session fixtures (tests/conftest.py)."""
from __future__ import annotations

import time

import pytest

from kafkabed.producers import make_records, produce
from tests.checker import check_mirror, wait_exact

from .link_process import LinkerRun, write_link
from .workload import Writer, destination_end, wait_growth

SOURCES = {"4.4": "source", "3.9": "source39"}
DESTINATIONS = {"4.4": "destination", "4.1": "cluster41", "3.9": "destination39"}
# By default the pairs that put every other release on each side of a 4.4 cluster; 4.4 to 4.4
# (the kill -9 loop and the fault matrix run on it), 3.9 to 4.1 and 3.9 to 3.9 are marked slow
# (20-35 s a pair on 2 shared cores).
DEFAULT_PAIRS = {("4.4", "4.1"), ("4.4", "3.9"), ("3.9", "4.4")}
PAIRS = [pytest.param(s, d, id=f"{s}-to-{d}", marks=[] if (s, d) in DEFAULT_PAIRS else [pytest.mark.slow])
         for s in SOURCES for d in DESTINATIONS]
KILLS = 2


@pytest.mark.parametrize("src,dst", PAIRS)
def test_catch_up_live_and_kill_9_exact(src, dst, request, topic_name, tmp_path, testbed_report):
    source, destination = request.getfixturevalue(SOURCES[src]), request.getfixturevalue(DESTINATIONS[dst])
    source.create_topic(topic_name, partitions=3)
    produce(source, topic_name, make_records(3000, value_size=50), compression="zstd", listener="INTERNAL")
    cfg = write_link(tmp_path / "link.toml", source, destination, [topic_name])
    writer = Writer(source, topic_name, pause=0.1)
    with LinkerRun(cfg, tmp_path / "run.log") as run:
        writer.start()
        try:
            end = 0
            for _ in range(KILLS):
                run.start()
                end = wait_growth(destination, topic_name, end, run)
                time.sleep(0.5)
                run.kill9()
                end = destination_end(destination, topic_name)
            run.start()
            run.wait_log("-> MIRRORING")
            time.sleep(1.0)                       # live for a moment
        finally:
            writer.stop.set()
            writer.join(60)
        assert writer.error is None, writer.error
        t0 = time.monotonic()
        wait_exact(source, destination, [topic_name], timeout=120, min_records=3000 + writer.sent)
        took = time.monotonic() - t0
        assert run.stop() == 0, run.text()[-3000:]
    final = check_mirror(source, destination, [topic_name])
    assert final.exact, final
    log = run.text()
    assert "FAILED" not in log and "DIVERGED" not in log, log[-3000:]
    testbed_report(f"versions: source {source.version} -> destination {destination.version}: "
                   f"{final.records} offsets exact after {KILLS} kill -9, {took:.1f}s after the writer stopped")
