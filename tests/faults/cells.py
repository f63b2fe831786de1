"""One cell of the fault matrix: a fault on one side (source or destination) while `linker run`
catches up on a backlog or follows a live writer; afterwards the independent checker must
find the mirror exact, or the linker must have named a terminal state (never a silently
wrong mirror). Each cell reports one line: fault, side, phase, outcome, seconds until exact."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from kafkabed.producers import make_records, produce
from tests.checker import CheckerError, check_mirror, wait_exact

from .link_process import LinkerRun, write_link
from .workload import Writer, destination_end, wait_growth

CATCH_UP, LIVE = "catch-up", "live"
BACKLOG = 30_000            # records written before the linker starts (catch-up phase), ~3.5 MB
# Small fetches make the catch-up take many round trips, so a fault lands in the middle of it.
SLOW_CATCH_UP = {"partition_max_bytes": 64 << 10, "fetch_max_bytes": 128 << 10, "max_in_flight_bytes": 128 << 10}


@dataclass
class Cell:
    """What a fault function gets: the linker process and the link's topic."""
    run: LinkerRun
    topic: str

    def wait_mirrored_more(self, destination: Any, timeout: float = 60.0) -> None:
        """Wait until the destination grew (the linker is producing)."""
        wait_growth(destination, self.topic, max(_end(destination, self.topic), 0), self.run, timeout)


def _end(cluster: Any, topic: str) -> int:
    try:
        return destination_end(cluster, topic)
    except CheckerError:          # a broker restarting: not readable for a moment
        return -1


def run_cell(fault: Callable[[Cell], None], side: str, phase: str, *, source: Any, destination: Any,
             link: tuple[Any, Any], topic: str, tmp_path: Path, report: Callable[[str], None],
             expect: str = "exact", partitions: int = 2, fault_name: str | None = None) -> float | None:
    """Run one cell and report its line; returns the seconds from the end of the fault until the
    mirror was exact (None for an expected terminal state, e.g. DEST_TRUNCATED)."""
    name = fault_name or fault.__name__
    source.create_topic(topic, partitions=partitions)
    backlog = BACKLOG if phase == CATCH_UP else 0
    if backlog:
        # kafka-python's 16 KiB batches: librdkafka's ~1 MB batches would each fill a whole fetch
        produce(source, topic, make_records(backlog, value_size=100, headers=False), listener="INTERNAL",
                linger_ms=20)
    cfg = write_link(tmp_path / "link.toml", *link, [topic], **SLOW_CATCH_UP)
    writer = Writer(source, topic, pause=0.1)
    with LinkerRun(cfg, tmp_path / "run.log") as run:
        writer.start()
        try:
            run.start()
            deadline = time.monotonic() + 90
            while (at_fault := _end(destination, topic)) <= 0:    # the mirror is moving
                assert run.running and time.monotonic() < deadline, run.text()[-3000:]
                time.sleep(0.05)
            if phase == CATCH_UP:
                assert at_fault < backlog, f"catch-up already done ({at_fault} of {backlog}) before the fault"
            fault(Cell(run, topic))
            fault_ended = time.monotonic()
            time.sleep(1.0)
        finally:
            writer.stop.set()
            writer.join(60)
        assert writer.error is None, writer.error
        if expect != "exact":
            run.wait_log(f"-> {expect}", timeout=120)
            took = None
            outcome = expect
            assert run.stop() == 0, run.text()[-3000:]
        else:
            wait_exact(source, destination, [topic], timeout=150, min_records=backlog, poll=0.2)  # ends equal the source's
            took = time.monotonic() - fault_ended    # includes 1 s more writing and the writer's last round
            assert run.running, run.text()[-3000:]
            assert run.stop() == 0, run.text()[-3000:]
            final = check_mirror(source, destination, [topic])
            assert final.exact, final
            log = run.text()
            assert "FAILED" not in log and "DIVERGED" not in log and "TRUNCATED" not in log, log[-3000:]
            outcome = f"exact ({final.records} offsets)"
    when = "a named terminal state" if took is None else f"exact after {took:.1f}s"
    report(f"fault matrix: {name:22} {side:11} {phase:8} {outcome:26} {when}")
    return took
