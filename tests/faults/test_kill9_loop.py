"""kill -9 the linker again and again while the source is written and the mirror is moving;
the independent checker must then find the mirror exact (bounds and every batch)."""
from __future__ import annotations

import random
import time

import pytest

from tests.checker import check_mirror, wait_exact

from .link_process import LinkerRun, write_link
from .workload import Writer, destination_end, wait_growth

PARTITIONS = 4


@pytest.mark.parametrize("kills", [5, pytest.param(20, marks=pytest.mark.slow)])
def test_kill_9_loop_leaves_an_exact_mirror(source, destination, topic_name, tmp_path, kills, testbed_report):
    source.create_topic(topic_name, partitions=PARTITIONS)
    cfg = write_link(tmp_path / "link.toml", source, destination, [topic_name])
    rng = random.Random(kills)
    writer = Writer(source, topic_name)
    writer.start()
    ends: list[int] = []
    with LinkerRun(cfg, tmp_path / "run.log") as run:
        try:
            end = 0
            for _ in range(kills):
                run.start()
                end = wait_growth(destination, topic_name, end, run)   # the mirror is moving
                time.sleep(rng.uniform(0.1, 1.0))                        # ... and killed mid-stream
                assert run.running, run.text()[-3000:]
                run.kill9()
                end = destination_end(destination, topic_name)
                ends.append(end)
        finally:
            writer.stop.set()
            writer.join(60)
        assert writer.error is None, writer.error
        assert run.kills == kills and all(b > a for a, b in zip(ends, ends[1:])), ends
        run.start()
        run.wait_log("-> MIRRORING")     # running, not still starting, when SIGTERM comes
        t0 = time.monotonic()
        result = wait_exact(source, destination, [topic_name], timeout=180, min_records=writer.sent)
        took = time.monotonic() - t0
        assert run.stop() == 0
    final = check_mirror(source, destination, [topic_name])      # and still exact once stopped
    assert final.exact, final
    assert final.records == result.records >= writer.sent
    log = run.text()
    assert "FAILED" not in log and "DIVERGED" not in log, log[-3000:]
    testbed_report(f"kill -9 loop: {kills} kills, {writer.sent} records, "
                   f"{sum(p.batches_compared for p in final.partitions)} batches exact, "
                   f"exact {took:.1f}s after the last restart")
