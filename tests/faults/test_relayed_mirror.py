"""`linker run` with every connection to one side (source or destination) through fault relays:
network faults during catch-up or while live; afterwards the independent checker must find
the mirror exact. The relay cells of the fault matrix (the others: test_fault_matrix.py)."""
from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Iterator

import pytest
from kafka.protocol.consumer import FetchRequest
from kafka.protocol.producer import ProduceRequest

from kafkabed import KafkaCluster
from kafkabed.faults import REQUEST, RESPONSE, FaultRelays

from linker.mirror.table import PartitionTable
from tests.checker import check_mirror
from tests.linker.mirror.helpers import (caught_up, deepest_flight, engine_for, idempotent_batches, link_config,
                                         run_until, write_batches)

from .cells import CATCH_UP, LIVE, run_cell
from .link_process import LinkerRun

PRODUCE, FETCH = ProduceRequest.API_KEY, FetchRequest.API_KEY


def _relayed(name: str) -> Iterator[tuple[KafkaCluster, FaultRelays]]:
    relays = FaultRelays("PLAINTEXT")
    cluster = KafkaCluster(name, advertised_port=relays.advertise)
    try:
        cluster.start()
        yield cluster, relays
    finally:
        cluster.stop()
        relays.close()


@pytest.fixture(scope="module")
def relayed_source() -> Iterator[tuple[KafkaCluster, FaultRelays]]:
    yield from _relayed("relayed-src")


@pytest.fixture(scope="module")
def relayed_destination() -> Iterator[tuple[KafkaCluster, FaultRelays]]:
    yield from _relayed("relayed-dst")


def _fire(trigger, run: LinkerRun, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not trigger.fired.wait(0.2):
        assert run.running, run.text()[-3000:]
        assert time.monotonic() < deadline, "the armed reset never fired: no matching traffic?"


def produce_answers_lost(relays: FaultRelays, run: LinkerRun) -> None:
    """The destination appended, the linker never heard: the ambiguous failure, three times."""
    for _ in range(3):
        _fire(relays[1].reset_on(PRODUCE, RESPONSE), run)
        time.sleep(0.5)


def produce_requests_cut(relays: FaultRelays, run: LinkerRun) -> None:
    """A produce request cut half-way: the broker sees a broken frame, then end of stream."""
    for _ in range(3):
        _fire(relays[1].reset_on(PRODUCE, REQUEST, after_bytes=40), run)
        time.sleep(0.5)


def fetch_answers_cut(relays: FaultRelays, run: LinkerRun) -> None:
    """A fetch response cut after 200 bytes (inside its records, once there are any), three times."""
    for _ in range(3):
        _fire(relays[1].reset_on(FETCH, RESPONSE, after_bytes=200), run)
        time.sleep(0.5)


def fetch_requests_cut(relays: FaultRelays, run: LinkerRun) -> None:
    """A fetch request cut after 30 bytes (inside its header), three times."""
    for _ in range(3):
        _fire(relays[1].reset_on(FETCH, REQUEST, after_bytes=30), run)
        time.sleep(0.5)


def blackhole(relays: FaultRelays, run: LinkerRun) -> None:
    relays.blackhole()
    time.sleep(3.0)
    relays.clear()


def pause(relays: FaultRelays, run: LinkerRun) -> None:
    relays.pause()
    time.sleep(3.0)
    relays.resume()


def slow_link(relays: FaultRelays, run: LinkerRun) -> None:
    relays.set_latency(0.1)
    relays.set_bandwidth(50_000)
    time.sleep(3.0)
    relays.clear()


CASES = [
    ("destination", produce_answers_lost), ("destination", produce_requests_cut), ("destination", blackhole),
    ("destination", pause), ("destination", slow_link),
    ("source", fetch_answers_cut), ("source", fetch_requests_cut), ("source", blackhole), ("source", pause),
    ("source", slow_link),
]
# Every case runs live by default; during catch-up these three do, the rest are marked slow
# (~15 s a cell: the backlog, the fault, the check of every batch).
CATCH_UP_BY_DEFAULT = {("destination", produce_answers_lost), ("destination", blackhole), ("source", fetch_answers_cut)}
CELLS = [pytest.param(side, fault, phase, id=f"{side}-{fault.__name__}-{phase}",
                      marks=[pytest.mark.slow] if phase == CATCH_UP and (side, fault) not in CATCH_UP_BY_DEFAULT
                      else [])
         for side, fault in CASES for phase in (CATCH_UP, LIVE)]


@pytest.mark.parametrize("side,fault,phase", CELLS)
def test_mirror_through_faults_stays_exact(side, fault, phase, request, topic_name, tmp_path, testbed_report):
    """A cell of the fault matrix (tests/faults/cells.py): relay faults during catch-up or live."""
    if side == "source":
        (source, relays), destination = request.getfixturevalue("relayed_source"), \
            request.getfixturevalue("destination")
        link = (relays.bootstrap, destination)
    else:
        source, (destination, relays) = request.getfixturevalue("source"), \
            request.getfixturevalue("relayed_destination")
        link = (source, relays.bootstrap)
    relays.clear()
    accepted = relays[1].connections_accepted
    try:
        run_cell(lambda cell: fault(relays, cell.run), side, phase, source=source, destination=destination,
                 link=link, topic=topic_name, tmp_path=tmp_path, report=testbed_report, fault_name=fault.__name__)
    finally:
        relays.clear()
    assert relays[1].connections_accepted > accepted      # the linker really went through the relay


@pytest.mark.parametrize("cut", [0, 40], ids=["before-n+1", "inside-n+1"])
def test_reset_inside_a_pipelined_run_writes_nothing_out_of_place(cut, source, relayed_destination, topic_name,
                                                                   monkeypatch):
    """The destination connection is reset as the 4th Produce starts (nothing of it, or 40 bytes,
    reach the broker) while the 2nd and 3rd of the same run are in flight on it: the engine
    re-reads the destination end and the independent checker finds the mirror exact."""
    destination, relays = relayed_destination
    relays.clear()
    source.create_topic(topic_name, partitions=1)
    asyncio.run(write_batches(source.bootstrap, (topic_name, 0), idempotent_batches()))
    deepest = deepest_flight(monkeypatch)
    behind: list[int] = []    # batches still in flight behind the first failed one
    resync = PartitionTable.schedule_resync
    monkeypatch.setattr(PartitionTable, "schedule_resync",
                        lambda self, pm, why="": (behind.append(len(pm.flight)), resync(self, pm, why))[1])
    # Produce 1 carries batch 0 alone (no producer acknowledged yet); 2.. carry batches 1.. as one run.
    trigger = relays[1].reset_on(PRODUCE, REQUEST, nth=4, after_bytes=cut)
    engine = engine_for(link_config(source, SimpleNamespace(bootstrap=relays.bootstrap), names=[topic_name]))
    try:
        asyncio.run(run_until(engine, caught_up(), 90))
    finally:
        relays.clear()
    assert trigger.fired.is_set()
    assert deepest[0] >= 3 and behind and behind[0] >= 1, (deepest, behind)
    assert {pm.status.state.value for pm in engine.partitions.values()} == {"STOPPED"}, engine.status_doc()
    check = check_mirror(source, destination, [topic_name])
    assert check.exact, str(check)
