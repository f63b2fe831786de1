"""Promote moves the destination's producer-id allocation past the mirrored ids: new idempotent
producers (kafka-python, confluent-kafka) write the promoted topic after the mirrored records.

Both clusters are fresh 1-node clusters so that both allocators start at 0: the source's
producers get ids 0..2, exactly the ids the destination would hand out next."""
from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from kafkabed import KafkaCluster
from kproto.records import build_batch
from linker.client import Admin, Client, ClientConfig
from linker.lifecycle.commands import CommandError
from linker.lifecycle.producer_ids import BurnReport, IdPlan, IdRange, move_past_mirrored_ids, plan_move
from linker.lifecycle.records import TopicState

from ..mirror.helpers import write_batches
from .helpers import Linker, command, link_config, state_of
from .test_lifecycle_commands import dest_end

PRODUCERS = 3
PER_PRODUCER = 10


@pytest.fixture(scope="module")
def fresh_pair():
    """A source and a destination whose producer-id allocators have handed out nothing yet."""
    pair = [KafkaCluster(name="pid-source"), KafkaCluster(name="pid-destination")]
    errors: list[BaseException] = []

    def start(c: KafkaCluster) -> None:
        try:
            c.start()
        except BaseException as exc:
            errors.append(exc)
    try:
        threads = [threading.Thread(target=start, args=(c,)) for c in pair]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        yield pair
    finally:
        for c in pair:
            c.stop()


def _produce_idempotent(cluster: KafkaCluster, topic: str, value: str) -> int:
    """One send with a new idempotent kafka-python producer; returns its offset."""
    from kafka import KafkaProducer
    p = KafkaProducer(acks="all", enable_idempotence=True, max_block_ms=10_000,
                      **cluster.kafka_python_config())
    try:
        return p.send(topic, value.encode()).get(timeout=15).offset
    finally:
        p.close()


def test_promote_lets_new_idempotent_producers_write(fresh_pair, topic_name, testbed_report):
    source, destination = fresh_pair
    source.create_topic(topic_name, partitions=1)
    from kafka import KafkaProducer
    for i in range(PRODUCERS):    # producer ids 0..PRODUCERS-1, sequences 0..PER_PRODUCER-1 each
        p = KafkaProducer(acks="all", enable_idempotence=True, **source.kafka_python_config())
        try:
            for f in [p.send(topic_name, f"src-{i}-{j}".encode()) for j in range(PER_PRODUCER)]:
                f.get(timeout=15)
        finally:
            p.close()
    mirrored = PRODUCERS * PER_PRODUCER
    cfg = link_config(source, destination, f"pid-{topic_name[-8:]}", names=[topic_name])
    with Linker(cfg) as linker:
        linker.wait(lambda: linker.acked(topic_name).get(0, 0) == mirrored, why="mirrored")
        [r] = command(cfg, "promote", [topic_name])
    assert r.state is TopicState.STOPPED and r.offsets == {0: mirrored}
    # The linker's own state-topic producers took the destination's first ids, the probe the next:
    # the allocation is already past the mirrored 0..2, or it is moved past them.
    assert (f"moved past mirrored id {PRODUCERS - 1}" in r.producer_ids
            or f"mirrored ids (up to {PRODUCERS - 1}) are below" in r.producer_ids), r.producer_ids
    testbed_report(f"promote with mirrored producer ids 0..{PRODUCERS - 1}: {r.producer_ids}")

    assert _produce_idempotent(destination, topic_name, "after-kp") == mirrored
    from confluent_kafka import Producer
    got: list[object] = []
    cp = Producer({**destination.confluent_config(), "enable.idempotence": True, "acks": "all"})
    cp.produce(topic_name, b"after-ck", on_delivery=lambda err, msg: got.append(err or msg.offset()))
    assert cp.flush(15) == 0
    assert got == [mirrored + 1]
    assert dest_end(destination, topic_name) == mirrored + 2


NOW_MS = 1_800_000_000_000
DAY_MS = 86_400_000


def test_plan_moves_past_near_ids_and_leaves_far_ones():
    live = {5: NOW_MS + DAY_MS, 900: NOW_MS + DAY_MS, 3_000_000_000: NOW_MS + DAY_MS}
    plan = plan_move(live, {1: 100, 2: 40}, max_ids=1_000_000)
    assert plan.burn_to == 900                       # 900 is within reach of the lower broker (40)
    assert plan.behind == IdRange(1, 5, 5, NOW_MS + DAY_MS)   # handed out before: below every broker
    assert plan.far == IdRange(1, 3_000_000_000, 3_000_000_000, NOW_MS + DAY_MS)
    report = BurnReport(plan, burned={1: 896, 2: 896}, last_id={1: 996, 2: 1_900}, now_ms=NOW_MS)
    line = report.line()
    assert "moved past mirrored id 900" in line and "from 3000000000" in line and "too far" in line
    assert "2,999,998,100 ids ahead" in line and "34,722 ids/s" in line   # a day to hand out 3e9 ids
    assert "1 live mirrored ids (5..5) are ids the destination handed out before" in line
    assert report.safe                               # the far ids need 34,722 ids/s: not plausible


def test_plan_with_every_mirrored_id_below_the_allocation_moves_nothing():
    plan = plan_move({3: NOW_MS + DAY_MS, 7: NOW_MS + DAY_MS}, {1: 7, 2: 2_000})
    assert (plan.burn_to, plan.far) == (-1, None)
    assert plan.behind == IdRange(1, 3, 3, NOW_MS + DAY_MS)   # 7 went to the probe itself
    assert "nothing to move" in BurnReport(plan, now_ms=NOW_MS).line()
    assert "no live mirrored producer state" in BurnReport(IdPlan({}, 0)).line()


def test_far_ids_a_busy_destination_could_reach_are_a_warning():
    plan = plan_move({5_000_000: NOW_MS + DAY_MS}, {1: 0}, max_ids=1_000_000)
    report = BurnReport(plan, now_ms=NOW_MS)
    assert plan.burn_to == -1 and not report.safe     # 5e6 ids in a day: 58 ids/s
    assert "WARNING 1 mirrored ids from 5000000" in report.line()
    bound_hit = BurnReport(plan_move({7: NOW_MS}, {1: 0}), burned={1: 2}, last_id={1: 2}, unsafe=[1],
                           now_ms=NOW_MS)
    assert not bound_hit.safe and "WARNING bound hit on broker(s) 1" in bound_hit.line()


def _raw_producer_batches(ids: list[int], per_producer: int) -> list[bytes]:
    """Idempotent batches written as if by producers with these ids (a broker accepts any id of
    a producer it has no state for at sequence 0): stand-ins for a source cluster whose
    allocator is elsewhere, e.g. in the billions after years of short-lived producers."""
    now = int(time.time() * 1000)
    return [bytes(build_batch([b"pid-%d-%d" % (pid, i) for i in range(per_producer)], base_timestamp=now,
                              producer_id=pid, producer_epoch=0, base_sequence=0)) for pid in ids]


def _destination_position(destination: KafkaCluster) -> int:
    async def probe() -> int:
        async with Client(destination.bootstrap, ClientConfig(request_timeout=10)) as c:
            return (await Admin(c).init_producer_id()).producer_id
    return asyncio.run(probe())


def test_ids_of_moved_producers_are_kept_clear_of(destination, topic_name):
    """A proxy's producers from the source keep their ids after the switch: ids just ahead of the
    destination's allocation are burned past even with no mirrored state for them."""
    destination.create_topic(topic_name, partitions=1)
    nxt = _destination_position(destination) + 1

    async def move() -> BurnReport:
        async with Client(destination.bootstrap, ClientConfig(request_timeout=10)) as c:
            return await move_past_mirrored_ids(c, [(topic_name, 0)], extra_ids=[nxt + 2])
    report = asyncio.run(move())
    assert report.plan.burn_to == nxt + 2 and report.safe, report.line()
    assert report.plan.far is None and report.plan.behind is None
    assert _destination_position(destination) > nxt + 2


def test_mirrored_ids_in_the_billions_are_not_burned_towards(source, destination, topic_name, testbed_report):
    """Before: promote burned 2,000,000 ids (up to 60 s, writes held) and still warned."""
    source.create_topic(topic_name, partitions=1)
    far = [3_000_000_000, 3_000_000_001]
    asyncio.run(write_batches(source.bootstrap, (topic_name, 0), _raw_producer_batches(far, 5)))
    cfg = link_config(source, destination, f"pidb-{topic_name[-8:]}", names=[topic_name])
    with Linker(cfg) as linker:
        linker.wait(lambda: linker.acked(topic_name).get(0, 0) == 10, why="mirrored")
        started = time.monotonic()
        [r] = command(cfg, "promote", [topic_name])
        took = time.monotonic() - started
    testbed_report(f"promote with mirrored ids {far}: {took:.2f}s: {r.producer_ids}")
    assert "2 mirrored ids from 3000000000" in r.producer_ids and "too far to move past" in r.producer_ids
    assert "ids used" not in r.producer_ids, r.producer_ids    # nothing burned
    assert _produce_idempotent(destination, topic_name, "after") == 10


def test_a_promotion_the_linker_finishes_alone_moves_the_ids(destination, source, topic_name, caplog):
    """The command gives up waiting (promote_timeout_ms=1); the running linker records STOPPED.
    It moves the producer ids itself before the topic becomes writable. Before, only the command
    path did: the destination's next ids, mirrored here, failed or were taken for duplicates."""
    caplog.set_level(logging.INFO, logger="linker.lifecycle")
    source.create_topic(topic_name, partitions=1)
    nxt = _destination_position(destination) + 1
    ids = list(range(nxt, nxt + 4))          # what the destination hands out next
    asyncio.run(write_batches(source.bootstrap, (topic_name, 0), _raw_producer_batches(ids, PER_PRODUCER)))
    mirrored = len(ids) * PER_PRODUCER
    cfg = link_config(source, destination, f"pidl-{topic_name[-8:]}", names=[topic_name],
                      lifecycle={"promote_timeout_ms": 1})
    with Linker(cfg) as linker:
        linker.wait(lambda: linker.acked(topic_name).get(0, 0) == mirrored, why="mirrored")
        with pytest.raises(CommandError, match="did not finish"):
            command(cfg, "promote", [topic_name])
        linker.wait(lambda: state_of(cfg).topics[topic_name].by == "linker"
                    and state_of(cfg).topics[topic_name].state is TopicState.STOPPED, why="linker STOPPED")
        # (waiting on the log, not on probes: every InitProducerId probe would itself use an id)
        linker.wait(lambda: any(r.getMessage().startswith("producer ids: destination allocation moved past")
                                for r in caplog.records), why="ids moved by the linker")
    assert _produce_idempotent(destination, topic_name, "after-kp") == mirrored


def test_failover_reports_the_producer_id_move(fresh_pair, topic_name):
    """failover takes the same step (the allocator may already be past: then one round of ids)."""
    source, destination = fresh_pair
    source.create_topic(topic_name, partitions=1)
    from kafka import KafkaProducer
    p = KafkaProducer(acks="all", enable_idempotence=True, **source.kafka_python_config())
    try:
        for f in [p.send(topic_name, f"src-{j}".encode()) for j in range(PER_PRODUCER)]:
            f.get(timeout=15)
    finally:
        p.close()
    cfg = link_config(source, destination, f"pidf-{topic_name[-8:]}", names=[topic_name])
    with Linker(cfg) as linker:
        linker.wait(lambda: linker.acked(topic_name).get(0, 0) == PER_PRODUCER, why="mirrored")
        [r] = command(cfg, "failover", [topic_name])
    assert r.state is TopicState.STOPPED and r.offsets == {0: PER_PRODUCER}
    assert "bound hit" not in r.producer_ids and "ids: no live" not in r.producer_ids, r.producer_ids
    assert _produce_idempotent(destination, topic_name, "after-failover") == PER_PRODUCER
