"""The broker-process cells of the fault matrix (tests/faults/cells.py): kill -9 and restart,
SIGSTOP/SIGCONT (a hung broker), leader moves (3 nodes), a full disk and an unclean election on
the destination, each on the source or the destination, during catch-up or while live. The
relay cells (blackhole, resets, slow link, pause) are in test_relayed_mirror.py.

Each cell takes 15-40 s (a backlog, broker restarts, the mirror checked to the last batch), so
one phase per fault and side runs by default and the other is marked slow."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Iterator

import pytest

from kafkabed import KafkaCluster
from kafkabed.broker_faults import SmallDisk, frozen, move_leader, unclean_failover

from .cells import CATCH_UP, LIVE, Cell, run_cell

SMALL_DISK = 64 << 20
# Seconds from the end of a leader move until exact (~1.1 s measured, the 1 s of writing after the
# fault included). A moved partition no fetcher follows waits for the lag watch's first
# periodic metadata refresh (metadata_refresh_ms, 30 s after start; the moves land 1-2 s after).
LEADER_MOVE_EXACT_S = 10.0


def kill_9_restart(cluster: KafkaCluster) -> None:
    """kill -9 the broker (node 1), start it again on the same data."""
    cluster.restart(1)


def hung_broker(cluster: KafkaCluster) -> None:
    """SIGSTOP for 4 s (connections open, nothing answers), then SIGCONT."""
    with frozen(cluster, 1):
        time.sleep(4.0)


def _leader_move(cluster: KafkaCluster, topic: str) -> None:
    """Every partition's leader moved to the next node (reassign + preferred election)."""
    for p, leader in sorted(cluster.partition_leaders(topic).items()):
        move_leader(cluster, topic, p, to_node=leader % cluster.nodes + 1)


def _disk_full(cluster: KafkaCluster, disk: SmallDisk) -> None:
    """Fill the broker's log disk: Kafka halts the broker; free the space and start it again."""
    disk.fill(leave=256 << 10)
    deadline = time.monotonic() + 90
    while cluster.broker(1).alive:
        assert time.monotonic() < deadline, "the broker did not stop on a full disk"
        time.sleep(0.2)
    disk.free()
    cluster.start_broker(1)


def _phases(slow: str) -> list:
    """Both phases, the `slow` one marked slow (one phase per fault and side by default)."""
    return [pytest.param(p, marks=pytest.mark.slow) if p == slow else p for p in (CATCH_UP, LIVE)]


PROCESS_FAULTS = {"kill_9_restart": kill_9_restart, "hung_broker": hung_broker}


@pytest.mark.parametrize("phase", _phases(slow=LIVE))
@pytest.mark.parametrize("side", ["source", "destination"])
@pytest.mark.parametrize("fault", sorted(PROCESS_FAULTS))
def test_process_fault(fault, side, phase, source, destination, topic_name, tmp_path, testbed_report):
    """kill -9 + restart, or SIGSTOP/SIGCONT, of the single broker of one side."""
    victim = source if side == "source" else destination
    run_cell(lambda cell: PROCESS_FAULTS[fault](victim), side, phase, source=source, destination=destination,
             link=(source, destination), topic=topic_name, tmp_path=tmp_path, report=testbed_report,
             fault_name=fault)


@pytest.mark.parametrize("phase", _phases(slow=CATCH_UP))
@pytest.mark.parametrize("side", ["source", "destination"])
def test_leader_move(side, phase, source, destination, cluster3, topic_name, tmp_path, testbed_report):
    """The faulted side is the 3-node cluster; every partition's leader moves mid-mirror; the
    mirror follows the new leaders at once, not at the next periodic metadata refresh."""
    src, dst = (cluster3, destination) if side == "source" else (source, cluster3)
    took = run_cell(lambda cell: _leader_move(cluster3, topic_name), side, phase, source=src, destination=dst,
                    link=(src, dst), topic=topic_name, tmp_path=tmp_path, report=testbed_report,
                    fault_name="leader_move")
    assert took is not None and took < LEADER_MOVE_EXACT_S, f"exact only {took:.1f} s after the leader move"


@pytest.mark.parametrize("phase", _phases(slow=CATCH_UP))
def test_unclean_election_on_destination(phase, source, cluster3, topic_name, tmp_path, testbed_report):
    """The mirror topic (created ahead: two replicas, min.insync.replicas=1) loses acknowledged
    mirrored batches to an unclean election: the linker must name it DEST_TRUNCATED."""
    nodes = [b.node_id for b in cluster3.brokers]
    cluster3.create_topic(topic_name, assignments={0: nodes[:2]}, configs={"min.insync.replicas": "1"})

    def unclean(cell: Cell) -> None:
        unclean_failover(cluster3, topic_name, 0, write=lambda: cell.wait_mirrored_more(cluster3))
    run_cell(unclean, "destination", phase, source=source, destination=cluster3, link=(source, cluster3),
             topic=topic_name, tmp_path=tmp_path, report=testbed_report, expect="DEST_TRUNCATED",
             partitions=1, fault_name="unclean_election")


@pytest.fixture(scope="module")
def small_disk_destination() -> Iterator[tuple[KafkaCluster, SmallDisk]]:
    """A 1-node destination whose log directory is a 64 MiB tmpfs (needs root and mount)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a tmpfs mount needs root")
    cluster = KafkaCluster("smalldisk-dst", broker_config={"log.segment.bytes": 1 << 20})
    try:
        disk = SmallDisk.mount(cluster, 1, SMALL_DISK)
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"cannot mount a tmpfs here: {e}")
    try:
        cluster.start()
        yield cluster, disk
    finally:
        cluster.stop()
        disk.unmount()


@pytest.mark.parametrize("phase", _phases(slow=LIVE))
def test_destination_disk_full(phase, source, small_disk_destination, topic_name, tmp_path, testbed_report):
    """The destination's disk fills up mid-mirror (the broker halts); space freed, broker restarted."""
    dst, disk = small_disk_destination
    run_cell(lambda cell: _disk_full(dst, disk), "destination", phase, source=source, destination=dst,
             link=(source, dst), topic=topic_name, tmp_path=tmp_path, report=testbed_report,
             fault_name="disk_full")
