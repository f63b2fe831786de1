"""kafkabed.broker_faults: a hung broker (SIGSTOP/SIGCONT), leader moves on three nodes, and a
full disk under a broker's log directory; real brokers and a real kafka-python producer."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Callable

import pytest

from kafkabed import KafkaCluster
from kafkabed.broker_faults import SmallDisk, freeze, frozen, is_frozen, move_leader, thaw, unclean_failover
from kafkabed.producers import consume, produce
from tests.checker import RawCluster


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.1)


def _isr(cluster: KafkaCluster, topic: str, partition: int = 0) -> list[int]:
    (desc,) = cluster.admin().describe_topics([topic])
    return next(p["isr_nodes"] for p in desc["partitions"] if p["partition_index"] == partition)


def test_frozen_leader_loses_leadership_and_rejoins_after_thaw(cluster3, topic_name):
    from kafka import KafkaProducer
    cluster3.create_topic(topic_name, partitions=1, replication_factor=3, configs={"min.insync.replicas": 2})
    produce(cluster3, topic_name, 10, idempotent=True)
    leader = cluster3.partition_leaders(topic_name)[0]
    others = [f"{b.host}:{b.port('INTERNAL')}" for b in cluster3.brokers if b.node_id != leader]
    try:
        freeze(cluster3, leader)
        assert is_frozen(cluster3, leader) and cluster3.broker(leader).alive
        # the controller fences the silent broker (3 s session timeout) and moves leadership;
        # clients must not bootstrap on the frozen node (it accepts connections, answers nothing)
        with RawCluster(",".join(others)) as raw:
            wait_for(lambda: raw.leaders(topic_name).get(0, -1) not in (-1, leader), 60,
                     "leadership to move off the frozen broker")
        p = KafkaProducer(bootstrap_servers=others, enable_idempotence=True, acks="all")
        try:
            for i in range(10):
                p.send(topic_name, b"while frozen %d" % i).get(60)
        finally:
            p.close(5)
    finally:
        thaw(cluster3, leader)
    assert not is_frozen(cluster3, leader)
    wait_for(lambda: leader in _isr(cluster3, topic_name), 90, "the thawed broker back in the ISR")
    consume(cluster3, topic_name, expected=20)


def test_frozen_context_thaws_on_exit(cluster3):
    with frozen(cluster3, 3):
        assert is_frozen(cluster3, 3)
    assert not is_frozen(cluster3, 3)


def test_move_leader_to_each_node(cluster3, topic_name):
    cluster3.create_topic(topic_name, partitions=2, replication_factor=2)
    produce(cluster3, topic_name, 20)
    for target in (1, 2, 3):
        move_leader(cluster3, topic_name, 0, target)
        wait_for(lambda: cluster3.partition_leaders(topic_name)[0] == target, 10, f"node {target} leading")
    produce(cluster3, topic_name, 20)
    consume(cluster3, topic_name, expected=40)


def test_unclean_failover_loses_acknowledged_records(cluster3, topic_name):
    from tests.checker import LATEST
    cluster3.create_topic(topic_name, partitions=1, replication_factor=2, configs={"min.insync.replicas": 1})
    produce(cluster3, topic_name, 10, listener="INTERNAL")
    acked: list = []
    old, new = unclean_failover(cluster3, topic_name, 0,
                                write=lambda: acked.extend(produce(cluster3, topic_name, 15, listener="INTERNAL",
                                                                   timeout=60).offsets))
    assert [o for _, o in acked] == list(range(10, 25))        # acknowledged with acks=all ...
    assert cluster3.partition_leaders(topic_name)[0] == new != old
    with RawCluster(cluster3.bootstrap_for("INTERNAL")) as raw:
        wait_for(lambda: raw.list_offset(topic_name, 0, LATEST) == 10, 30, "the log end after the election")
    wait_for(lambda: sorted(_isr(cluster3, topic_name)) == sorted([old, new]), 90, "the old leader following")
    assert len(consume(cluster3, topic_name, expected=10)) == 10  # ... and gone


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None, reason="a tmpfs mount needs root")
def test_disk_full_stops_the_broker_and_freeing_space_recovers(topic_name):
    from kafka import KafkaProducer
    cluster = KafkaCluster("smalldisk", broker_config={"log.segment.bytes": 1 << 20})
    try:
        disk = SmallDisk.mount(cluster, 1, 64 << 20)
    except (OSError, subprocess.CalledProcessError) as e:   # e.g. a container without CAP_SYS_ADMIN
        pytest.skip(f"cannot mount a tmpfs here: {e}")
    try:
        cluster.start()
        assert cluster.broker(1).data_dir == disk.path
        cluster.create_topic(topic_name)
        produce(cluster, topic_name, 100)
        disk.fill(leave=256 << 10)
        p = KafkaProducer(**cluster.kafka_python_config(), acks="all", linger_ms=0, request_timeout_ms=5000,
                          delivery_timeout_ms=15000, max_block_ms=15000, enable_idempotence=False, retries=2)
        failed = 0
        try:
            for i in range(40):
                try:
                    p.send(topic_name, bytes(32 << 10)).get(20)
                except Exception:
                    failed += 1
                    break
        finally:
            p.close(5)
        assert failed, "a full disk must refuse writes"
        wait_for(lambda: "No space left on device" in cluster.tail_logs(400), 30, "the broker to log the full disk")
        # one log directory (also holding the metadata log) has failed: Kafka halts the broker
        wait_for(lambda: not cluster.broker(1).alive, 60, "the broker to stop")
        disk.free()
        cluster.start_broker(1)
        produce(cluster, topic_name, 10, timeout=60)
        assert len(consume(cluster, topic_name, expected=110)) >= 110
    finally:
        cluster.stop()
        disk.unmount()
