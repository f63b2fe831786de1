"""Issue 21, finding 3: states never go backwards.

A PROMOTING (or ACTIVE, or a tombstone) that lands in the state topic after STOPPED — a command's
write retried after a timeout, replayed here with kafka-python directly — is ignored by every
reader, re-asserted by the linker, and a restarted linker does not mirror the topic again.
State writes are idempotent: a batch sent twice (a retry after a lost answer) lands once."""
from __future__ import annotations

import asyncio
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from kafkabed.producers import produce
from linker.lifecycle.records import TopicRecord, TopicState, topic_key
from linker.lifecycle.state_store import StateStore
from linker.connect import connect
from tests.checker import check_mirror

from .helpers import Linker, command, link_config, state_of


def _end(cluster, topic: str) -> int:
    c = KafkaConsumer(**cluster.kafka_python_config())
    try:
        tp = TopicPartition(topic, 0)
        return c.end_offsets([tp])[tp]
    finally:
        c.close()


def _last_value(cluster, topic: str, key: bytes) -> bytes | None:
    """The last record of `key` in the state topic, as compaction would keep it."""
    c = KafkaConsumer(**cluster.kafka_python_config(), enable_auto_commit=False, auto_offset_reset="earliest",
                      consumer_timeout_ms=3000)
    try:
        tp = TopicPartition(topic, 0)
        c.assign([tp])
        end = c.end_offsets([tp])[tp]
        last = None
        while c.position(tp) < end:
            for m in c.poll(timeout_ms=1000).get(tp, []):
                if m.key == key:
                    last = m.value
        return last
    finally:
        c.close()


def test_promoting_after_stopped_is_ignored_and_not_mirrored(source, destination, topic_name):
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 30)
    cfg = link_config(source, destination, f"st-{topic_name[-8:]}", names=[topic_name])
    state_topic = cfg.lifecycle.state_topic_for(cfg.name)
    with Linker(cfg) as linker:
        linker.wait(lambda: linker.acked(topic_name).get(0) == 30, why="catch up")
        [r] = command(cfg, "promote", [topic_name])
        assert r.state is TopicState.STOPPED and r.offsets == {0: 30}
    check = check_mirror(source, destination, [topic_name])
    assert check.exact, check
    # A retried PROMOTING (and an ACTIVE) land after STOPPED, written by a plain client.
    p = KafkaProducer(**destination.kafka_python_config(), acks="all")
    for late in (TopicState.PROMOTING, TopicState.ACTIVE):
        p.send(state_topic, key=topic_key(topic_name),
               value=TopicRecord(topic_name, late, "promote requested").value()).get(timeout=30)
    p.close()
    assert state_of(cfg).topics[topic_name].state is TopicState.STOPPED     # the reader keeps STOPPED
    produce(source, topic_name, 20)
    with Linker(cfg) as linker:                                              # a restarted linker
        # the linker re-asserts STOPPED, so compaction cannot keep the late record as the latest
        linker.wait(lambda: b'"STOPPED"' in (_last_value(destination, state_topic, topic_key(topic_name)) or b""),
                    timeout=30, why="STOPPED re-asserted")
        time.sleep(2.0)                                                      # several polls and fetches
        assert linker.acked(topic_name) == {}
        assert topic_name in linker.engine.stopped_topics
    assert _end(destination, topic_name) == 30
    assert state_of(cfg).topics[topic_name].state is TopicState.STOPPED


def test_state_write_retried_lands_once(destination, topic_name):
    """A state batch sent twice (its first answer lost, then retried) is stored once."""
    async def go() -> tuple[int, int]:
        dest = connect_dest(destination)
        try:
            store = StateStore(dest, f"__linker-{topic_name[-8:]}-state")
            await store.ensure()
            sent = dest.produce

            async def twice(node, batches, **kw):    # the broker stores the first; the retry follows
                await sent(node, batches, **kw)
                return await sent(node, batches, **kw)
            dest.produce = twice
            await store.write([(b"topic/a", TopicRecord("a", TopicState.PROMOTING).value())])
            await store.write([(b"topic/a", TopicRecord("a", TopicState.STOPPED).value())])
            dest.produce = sent
            ends = await dest.offsets([store.tp], -1)
            return ends[store.tp], len(await store.read_all())
        finally:
            await dest.close()
    end, keys = asyncio.run(go())
    assert (end, keys) == (2, 1)


def connect_dest(destination):
    from linker.settings import parse_config
    cfg = parse_config({"name": "x", "source": {"bootstrap_servers": destination.bootstrap.split(",")},
                        "destination": {"bootstrap_servers": destination.bootstrap.split(",")},
                        "topics": {"names": ["x"]}})
    return connect(cfg.destination, "destination", "state-test")
