"""Broker-side faults beyond kill -9, restart and graceful stop (which KafkaCluster has):
a hung broker (SIGSTOP/SIGCONT), a partition leader moved to a chosen node, and a full disk
(a size-limited tmpfs under a node's log directory).

    freeze(cluster, 2); ...; thaw(cluster, 2)           # or: with frozen(cluster, 2): ...
    move_leader(cluster, "t", 0, to_node=3)             # reassign (preferred first) + elect
    wait_in_sync(cluster, "t")                          # every replica back in the ISR
    unclean_failover(cluster, "t", 0, write=lambda: ...)  # acknowledged writes lost, for real
    disk = SmallDisk.mount(cluster, node_id=1, size=64 << 20)   # before cluster.start()
    disk.fill(leave=1 << 20); ...; disk.free(); disk.unmount()
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from . import procs

if TYPE_CHECKING:
    from .cluster import KafkaCluster

__all__ = ["SmallDisk", "freeze", "frozen", "is_frozen", "move_leader", "thaw", "unclean_failover",
           "wait_in_sync"]


# ---------------------------------------------------------------------------- hung broker
def freeze(cluster: "KafkaCluster", node_id: int) -> None:
    """SIGSTOP the node's JVM: sockets stay open, nothing answers (a hung broker). Its
    controller fences it after broker.session.timeout.ms (3 s in the test bed)."""
    b = cluster.broker(node_id)
    if b.proc is None or not b.alive:
        raise ValueError(f"node {node_id} of {cluster.name!r} is not running")
    procs.kill(b.proc, signal.SIGSTOP)
    deadline = time.monotonic() + 5.0    # signal delivery is asynchronous
    while not is_frozen(cluster, node_id) and time.monotonic() < deadline:
        time.sleep(0.01)
    b.history.append(f"frozen at {time.strftime('%H:%M:%S')}")


def thaw(cluster: "KafkaCluster", node_id: int) -> None:
    """SIGCONT: the node carries on where it stopped (kill/restart also work while frozen;
    thaw before stop_broker, whose SIGTERM a stopped JVM cannot handle)."""
    b = cluster.broker(node_id)
    if b.proc is not None:
        procs.kill(b.proc, signal.SIGCONT)
    deadline = time.monotonic() + 5.0
    while is_frozen(cluster, node_id) and time.monotonic() < deadline:
        time.sleep(0.01)
    b.history.append(f"thawed at {time.strftime('%H:%M:%S')}")


def is_frozen(cluster: "KafkaCluster", node_id: int) -> bool:
    """True if the node's JVM is in the stopped state (from /proc)."""
    pid = cluster.broker(node_id).pid
    if pid is None:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] in ("T", "t")


@contextlib.contextmanager
def frozen(cluster: "KafkaCluster", node_id: int) -> Iterator[None]:
    freeze(cluster, node_id)
    try:
        yield
    finally:
        thaw(cluster, node_id)


# ---------------------------------------------------------------------------- leader moves
def move_leader(cluster: "KafkaCluster", topic: str, partition: int, to_node: int, timeout: float = 60.0) -> int:
    """Make `to_node` the leader of one partition: reassign its replicas with `to_node` first
    (the preferred leader; added as a replica if it was not one), wait for the reassignment,
    then run a preferred leader election. Returns the previous leader."""
    from kafka import TopicPartition
    from kafka.errors import ElectionNotNeededError, KafkaError

    admin = cluster.admin()
    (desc,) = admin.describe_topics([topic])
    part = next(p for p in desc["partitions"] if p["partition_index"] == partition)
    before = part["leader_id"]
    replicas = list(part["replica_nodes"])
    wanted = [to_node] + [r for r in replicas if r != to_node]
    if to_node not in replicas:
        wanted = wanted[:len(replicas)]        # keep the replication factor
    tp = TopicPartition(topic, partition)
    deadline = time.monotonic() + timeout
    if wanted != replicas:
        errors = admin.alter_partition_reassignments({tp: wanted})
        if errors.get(tp) is not None:
            raise RuntimeError(f"reassigning {topic}-{partition} to {wanted}: {errors[tp]}")
        while admin.list_partition_reassignments([tp]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reassignment of {topic}-{partition} to {wanted} not done after {timeout}s")
            time.sleep(0.2)
    while True:
        try:
            admin.elect_leaders(0, {topic: [partition]})
        except ElectionNotNeededError:
            pass
        except KafkaError:   # PREFERRED_LEADER_NOT_AVAILABLE while the new replica joins the ISR
            pass
        if _settled(cluster, topic, partition, to_node):
            return before
        if time.monotonic() > deadline:
            raise TimeoutError(f"{topic}-{partition}: leader is {cluster.partition_leaders(topic).get(partition)}, "
                               f"not {to_node}, after {timeout}s")
        time.sleep(0.2)


def unclean_failover(cluster: "KafkaCluster", topic: str, partition: int,
                     write: Callable[[], None], timeout: float = 120.0) -> tuple[int, int]:
    """Lose acknowledged data the way an unclean election does; returns (old leader, new leader).

    The partition needs exactly two replicas and min.insync.replicas=1; a third node keeps the
    controller quorum. The follower is stopped (it leaves the ISR), `write()` then appends what
    only the leader holds, the leader is killed (-9), the follower started again with unclean
    leader election enabled on the topic and elected: its shorter log wins. The old leader
    is restarted and truncates to the new leader's log, so the acknowledged writes are gone."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import ElectionNotNeededError, KafkaError

    admin = cluster.admin()
    (desc,) = admin.describe_topics([topic])
    part = next(p for p in desc["partitions"] if p["partition_index"] == partition)
    leader, replicas = part["leader_id"], list(part["replica_nodes"])
    if len(replicas) != 2 or cluster.nodes < 3:
        raise ValueError(f"{topic}-{partition}: needs two replicas on a cluster of three or more, "
                         f"has {replicas} on {cluster.nodes} nodes")
    follower = next(r for r in replicas if r != leader)
    cluster.stop_broker(follower)            # controlled shutdown: out of the ISR at once
    write()
    cluster.kill(leader)
    cluster.start_broker(follower)           # the follower and the third node form a quorum again
    cluster.set_topic_config(topic, {"unclean.leader.election.enable": "true"})
    # a fresh admin client: the cached one may still be waiting on the killed node
    fresh = KafkaAdminClient(client_id="kafkabed-unclean", **cluster.kafka_python_config("INTERNAL"))
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fresh.elect_leaders(1, {topic: [partition]})   # 1: UNCLEAN
            except (ElectionNotNeededError, KafkaError):
                pass
            (now,) = fresh.describe_topics([topic])
            if next(p["leader_id"] for p in now["partitions"] if p["partition_index"] == partition) == follower:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}-{partition}: no unclean election of node {follower} after {timeout}s")
            time.sleep(0.3)
    finally:
        fresh.close()
    cluster.start_broker(leader)
    return leader, follower


def wait_in_sync(cluster: "KafkaCluster", topic: str, timeout: float = 120.0,
                 nudge_after: float = 15.0) -> None:
    """Wait until every partition of `topic` has all its replicas in the ISR.

    After many quick leader moves a follower can see FENCED_LEADER_EPOCH before it has applied
    the new leader's metadata; the broker then marks the partition failed in its fetcher ("will
    await the new LeaderAndIsr state") and, seen in CI, it may not fetch again until the
    partition changes once more. An acks=all producer then stalls until the leader shrinks the
    ISR. A partition still short after `nudge_after` seconds gets its leader moved to another
    in-sync replica: a new leader epoch the stuck follower acts on."""
    deadline = time.monotonic() + timeout
    short_since: dict[int, float] = {}
    while True:
        (desc,) = cluster.admin().describe_topics([topic])
        now = time.monotonic()
        short = {p["partition_index"]: p for p in desc["partitions"]
                 if set(p["isr_nodes"]) != set(p["replica_nodes"])}
        if not short:
            return
        if now > deadline:
            raise TimeoutError(f"{topic}: partitions {sorted(short)} not fully in sync after {timeout}s: "
                               + ", ".join(f"{i} isr={p['isr_nodes']} replicas={p['replica_nodes']}"
                                           for i, p in sorted(short.items())))
        for i, p in short.items():
            since = short_since.setdefault(i, now)
            others = [n for n in p["isr_nodes"] if n != p["leader_id"]]
            if now - since > nudge_after and others:
                move_leader(cluster, topic, i, to_node=others[0])
                short_since[i] = time.monotonic()
        short_since = {i: t for i, t in short_since.items() if i in short}
        time.sleep(0.5)


def _settled(cluster: "KafkaCluster", topic: str, partition: int, leader: int, checks: int = 5) -> bool:
    """The leader shows in several metadata answers in a row: brokers learn an election through
    the metadata log at their own pace, and the admin client asks whichever broker it likes."""
    for _ in range(checks):
        if cluster.partition_leaders(topic).get(partition) != leader:
            return False
        time.sleep(0.1)
    return True


# ---------------------------------------------------------------------------- full disk
@dataclass
class SmallDisk:
    """A size-limited tmpfs mounted as one node's log directory (which also holds its
    metadata log, as in a default single-directory broker). Needs root (mount)."""

    path: Path
    size: int

    @classmethod
    def mount(cls, cluster: "KafkaCluster", node_id: int, size: int) -> "SmallDisk":
        """Mount before `cluster.start()`: the node is formatted onto the small disk."""
        if cluster.brokers:
            raise RuntimeError("mount the small disk before the cluster is started")
        if os.geteuid() != 0 or shutil.which("mount") is None:
            raise PermissionError("a small disk needs root and mount(8)")
        path = cluster.directory / f"node-{node_id}" / "data"   # KafkaCluster's node layout
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "kafkabed-disk", str(path)],
                       check=True, capture_output=True, text=True)
        return cls(path, size)

    @property
    def filler(self) -> Path:
        return self.path / ".kafkabed-filler"    # a file, not a directory: Kafka ignores it

    def free_bytes(self) -> int:
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def fill(self, leave: int = 0) -> None:
        """Write a filler file until only `leave` bytes are free."""
        with open(self.filler, "ab") as f:
            block = b"\0" * (1 << 20)
            while (room := self.free_bytes() - leave) > 0:
                try:
                    f.write(block[:min(len(block), room)])
                    f.flush()
                except OSError:
                    break

    def free(self) -> None:
        """Delete the filler: the space is back."""
        self.filler.unlink(missing_ok=True)

    def resize(self, size: int) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(self.path)], check=True, capture_output=True)
        self.size = size

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)

    def __enter__(self) -> "SmallDisk":
        return self

    def __exit__(self, *exc: object) -> None:
        self.unmount()
