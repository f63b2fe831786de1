"""Cutover through the proxy: an idempotent producer and a consumer group keep
running (default retry settings, one bootstrap address) while the proxy holds
writes, the real mirror engine catches up, the topic is promoted and the proxy
switches from the source cluster to the destination."""
from __future__ import annotations

import asyncio
import collections
import threading
import time
import uuid

import pytest

from kafkabed.producers import consume
from linker.client import Admin, Client, ClientConfig
from linker.settings import parse_config
from linker.proxy import MirrorTopics, ProxyConfig
from linker.proxy.config import DESTINATION_EPOCH_SHIFT
from linker.proxy.cutover import Cutover

from conftest import upstream_of

from tests.linker.mirror.helpers import engine_for, run_engine

PARTITIONS = 3
LINK = "migration"


class Producing(threading.Thread):
    """Sends value i (key i % 7) until stopped; keeps the value of every acknowledged record."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        from kafka import KafkaProducer
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)  # idempotent by default
        self.topic = topic
        self.stop = threading.Event()
        self.acked: list[tuple[int, int, bytes]] = []   # partition, offset, value
        self.errors: list[BaseException] = []

    def run(self) -> None:
        i = 0
        futures = []
        while not self.stop.is_set():
            value = str(i).encode()
            futures.append((self.producer.send(self.topic, key=str(i % 7).encode(), value=value), value))
            i += 1
            if i % 50 == 0:
                self._settle(futures)
                futures = []
                time.sleep(0.05)
        self._settle(futures)
        self.producer.close(10)

    def _settle(self, futures: list) -> None:
        self.producer.flush(120)
        for f, value in futures:
            try:
                m = f.get(0)
                self.acked.append((m.partition, m.offset, value))
            except Exception as exc:  # surfaced to the application: the test fails on it
                self.errors.append(exc)


class Consuming(threading.Thread):
    """A group member committing synchronously after each poll, as an application would."""

    def __init__(self, bootstrap: str, topic: str | list[str], group: str) -> None:
        super().__init__(daemon=True)
        from kafka import KafkaConsumer
        topics = [topic] if isinstance(topic, str) else topic
        self.consumer = KafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=group,
                                      auto_offset_reset="earliest", enable_auto_commit=False)
        self.stop = threading.Event()
        self.seen: list[tuple] = []
        self.errors: list[BaseException] = []

    def _row(self, m) -> tuple:
        """What `seen` keeps of a record: (partition, offset, value)."""
        return m.partition, m.offset, m.value

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                batch = self.consumer.poll(timeout_ms=200)
                for tp, msgs in batch.items():
                    self.seen.extend(self._row(m) for m in msgs)
                if batch:
                    self.consumer.commit()
            except Exception as exc:
                self.errors.append(exc)
        self.consumer.close()


class ConfluentProducing(Producing):
    """The same with librdkafka (idempotence on, retry settings left at their defaults)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        threading.Thread.__init__(self, daemon=True)
        from confluent_kafka import Producer
        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": True})
        self.topic = topic
        self.stop = threading.Event()
        self.acked = []
        self.errors = []

    def run(self) -> None:
        i = 0

        def done(err, msg) -> None:
            if err is not None:
                self.errors.append(err)
            else:
                self.acked.append((msg.partition(), msg.offset(), msg.value()))
        while not self.stop.is_set():
            self.producer.produce(self.topic, key=str(i % 7).encode(), value=str(i).encode(), on_delivery=done)
            i += 1
            if i % 50 == 0:
                self.producer.poll(0)
                time.sleep(0.05)
        if self.producer.flush(120):
            self.errors.append("records left unacknowledged")


class ConfluentConsuming(Consuming):
    PROTOCOL = "classic"

    def __init__(self, bootstrap: str, topic: str, group: str) -> None:
        threading.Thread.__init__(self, daemon=True)
        from confluent_kafka import Consumer
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                                  "group.protocol": self.PROTOCOL})
        self.consumer.subscribe([topic])
        self.stop = threading.Event()
        self.seen = []
        self.errors = []

    def run(self) -> None:
        while not self.stop.is_set():
            msgs = self.consumer.consume(500, 0.2)
            got = False
            for m in msgs:
                if m.error():
                    if not m.error().retriable() and m.error().code() != -191:  # -191: partition EOF
                        self.errors.append(m.error())
                    continue
                self.seen.append((m.partition(), m.offset(), m.value()))
                got = True
            if got:
                try:
                    self.consumer.commit(asynchronous=False)
                except Exception as exc:
                    self.errors.append(exc)
        self.consumer.close()


class ConfluentConsumerProtocolConsuming(ConfluentConsuming):
    """KIP-848 (group.protocol=consumer) with a synchronous commit after every poll."""
    PROTOCOL = "consumer"


CLIENTS = {"kafka-python": (Producing, Consuming), "confluent": (ConfluentProducing, ConfluentConsuming),
           "confluent-kip848": (ConfluentProducing, ConfluentConsumerProtocolConsuming)}


def _wait(predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout:g}s")
        time.sleep(0.1)


def _link(source, destination, topic: str, prefix: str = ""):
    return parse_config({
        "name": LINK,
        "source": {"bootstrap_servers": source.bootstrap.split(",")},
        "destination": {"bootstrap_servers": destination.bootstrap.split(",")},
        "topics": {"names": [topic], "prefix": prefix},
        "mirror": {"fetch_max_wait_ms": 50, "metadata_refresh_ms": 2000},
    })


def _mirrored_behind_proxy(source, destination, start_proxy, topic: str, prefix: str = "",
                           per_topic: bool = False):
    """A proxy fronting the source, the topic a read-only mirror on the destination (named
    `prefix + topic` there, as a `topics.prefix` link names it), the real engine mirroring it in
    the proxy's loop; returns the proxy, the Cutover to run (its promote stops the engine and
    marks the topic writable, as `linker promote` does after catch-up; `per_topic` moves only
    this topic, the others stay on the source) and the engine's task."""
    src_up = upstream_of(source, "source")
    dst_up = upstream_of(destination, "destination", epoch_shift=DESTINATION_EPOCH_SHIFT,   # as `linker proxy`
                         topic_prefix=prefix)
    mirrors = MirrorTopics({topic: LINK})
    proxy = start_proxy(ProxyConfig(upstream=src_up), mirrors, mirrors_on="destination")
    engine = engine_for(_link(source, destination, topic, prefix))
    stop_engine = asyncio.Event()

    async def start_engine():
        return asyncio.get_running_loop().create_task(run_engine(engine, stop_engine))
    engine_task = proxy.call(start_engine())

    async def promote() -> None:
        stop_engine.set()
        await asyncio.wait_for(engine_task, 30)
        mirrors.promote(topic)
    return proxy, Cutover(proxy.server, src_up, dst_up, [topic], promote=promote, per_topic=per_topic), engine_task


def _cutover_under_traffic(proxy, cutover: Cutover, producing: Producing, consuming: Consuming):
    """Runs the cutover between 200 records acknowledged (100 consumed) and 300 more after it,
    then stops the producer and lets the consumer read all it acknowledged (60 s at most);
    returns the cutover's report and how many records were acknowledged before it."""
    producing.start()
    consuming.start()
    try:
        _wait(lambda: len(producing.acked) >= 200 and len(consuming.seen) >= 100, "traffic before the cutover")
        before = len(producing.acked)
        report = proxy.call(cutover.run(), 180)
        _wait(lambda: len(producing.acked) >= before + 300, "traffic after the switch")
    finally:
        producing.stop.set()
        producing.join(150)
    assert not producing.errors, producing.errors[:3]
    deadline = time.monotonic() + 60
    while len(consuming.seen) < len(producing.acked) and time.monotonic() < deadline:
        time.sleep(0.2)
    consuming.stop.set()
    consuming.join(30)
    assert not consuming.errors, consuming.errors[:3]
    return report, before


def _source_producer_ids(source, topic: str) -> set[int]:
    async def describe() -> set[int]:
        async with Client(source.bootstrap, ClientConfig(request_timeout=10)) as c:
            found = await Admin(c).describe_producers([(topic, p) for p in range(PARTITIONS)])
        return {s.producer_id for states in found.values() for s in states}
    ids = asyncio.run(describe())
    assert ids, "no producer state on the source"
    return ids


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_producer_and_group_move_across_a_promote(source, destination, start_proxy, topic_name, client):
    source.create_topic(topic_name, PARTITIONS)
    proxy, cutover, engine_task = _mirrored_behind_proxy(source, destination, start_proxy, topic_name)

    group = f"cutover-{uuid.uuid4().hex[:8]}"
    producer_cls, consumer_cls = CLIENTS[client]
    producing = producer_cls(proxy.bootstrap, topic_name)
    consuming = consumer_cls(proxy.bootstrap, topic_name, group)
    report, before = _cutover_under_traffic(proxy, cutover, producing, consuming)
    acked = sorted((p, o) for p, o, _ in producing.acked)
    assert before > 0 and len(acked) > before, "nothing was produced after the switch"

    assert report.groups_copied.get(group), report
    assert report.groups_not_drained == []
    assert proxy.server.upstream.name == "destination"
    # the producer ids the source handed the proxy's clients, kept for the destination's allocation
    assert _source_producer_ids(source, topic_name) <= set(proxy.server.producer_ids_from("source"))
    assert not engine_task.cancelled() and engine_task.done()

    # every acknowledged record is on the destination exactly once, at the offset the producer was told
    on_dest = consume(destination, topic_name, len(acked), timeout=60)
    assert sorted((c.partition, c.offset) for c in on_dest) == acked
    values = collections.Counter(c.value for c in on_dest)
    assert max(values.values()) == 1 and len(values) == len(acked)
    assert {(c.partition, c.offset): c.value for c in on_dest} == {(p, o): v for p, o, v in producing.acked}
    # the records written after the switch exist only on the destination
    assert len(consume(source, topic_name, len(acked), timeout=10)) < len(acked)

    # the consumer saw each record exactly once, in offset order per partition
    per_partition: dict[int, list[int]] = collections.defaultdict(list)
    for p, o, _ in consuming.seen:
        per_partition[p].append(o)
    for p, offsets in per_partition.items():
        assert offsets == sorted(set(offsets)), f"partition {p}: duplicates or disorder"
    # and the producer's order survived the held and retried batches: values rise in each partition
    for p in per_partition:
        values_in_order = [int(v) for q, _, v in consuming.seen if q == p]
        assert values_in_order == sorted(values_in_order), f"partition {p}: records out of send order"
    assert sorted((p, o) for p, o, _ in consuming.seen) == acked
    assert {(p, o): v for p, o, v in consuming.seen} == {(p, o): v for p, o, v in producing.acked}


@pytest.mark.parametrize("group_protocol", ["classic", "consumer"])
def test_java_console_clients_move_across_a_promote(source, destination, start_proxy, topic_name, group_protocol,
                                                     testbed_report):
    """Kafka's own console producer (idempotent by default) and console consumer (a group,
    auto-commit) run through the proxy across the switch; one JVM each. Classic protocol: each
    record seen once. KIP-848 protocol: the member is fenced at its first heartbeat after the
    switch and rejoins (nothing surfaced as an error), resuming from its last commit: records
    consumed since then are seen again — never a gap (docs/proxy.md)."""
    import subprocess

    from kafkabed import classpath
    from kafkabed.cluster import java_binary

    total = 1500
    source.create_topic(topic_name, PARTITIONS)
    proxy, cutover, _ = _mirrored_behind_proxy(source, destination, start_proxy, topic_name)

    java = [java_binary(), "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", classpath()]
    group = f"cutover-java-{uuid.uuid4().hex[:8]}"
    consumer = subprocess.Popen(java + [
        "org.apache.kafka.tools.consumer.ConsoleConsumer", "--bootstrap-server", proxy.bootstrap,
        "--topic", topic_name, "--group", group, "--from-beginning",
        *(["--max-messages", str(total), "--timeout-ms", "90000"] if group_protocol == "classic"
          else ["--timeout-ms", "15000"]),   # replayed records count too: stop when idle
        "--formatter-property", "print.partition=true", "--formatter-property", "print.offset=true",
        "--command-property", "auto.commit.interval.ms=500", "--command-property", f"group.protocol={group_protocol}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    producer = subprocess.Popen(java + [
        "org.apache.kafka.tools.ConsoleProducer", "--bootstrap-server", proxy.bootstrap, "--topic", topic_name,
        "--reader-property", "parse.key=true", "--command-property", "linger.ms=5"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        report = None
        for i in range(total):
            producer.stdin.write(f"{i % 7}\t{i}\n")
            producer.stdin.flush()
            if i == total // 3:
                _wait(lambda: destination_has(destination, topic_name, 1), "mirrored records")
                report = proxy.call(cutover.run(), 180)
            time.sleep(0.005)
        producer.stdin.close()
        assert producer.wait(150) == 0, producer.stderr.read()[-3000:]
        out, err = consumer.communicate(timeout=150)
    finally:
        for proc in (producer, consumer):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert "ERROR" not in err, err[-3000:]
    assert report is not None and report.groups_not_drained == []
    if group_protocol != "classic":   # how --timeout-ms ends the console consumer, not a failure
        out = "\n".join(line for line in out.splitlines()
                         if "terminating consumer process" not in line and "TimeoutException" not in line)
    unexpected = [line for line in out.splitlines() if not line.startswith("Partition:")]
    assert not unexpected, "unexpected consumer output:\n" + "\n".join(unexpected)
    seen = []
    for line in out.splitlines():
        fields = dict(f.split(":", 1) for f in line.split("\t")[:2])
        seen.append((int(fields["Partition"]), int(fields["Offset"]), int(line.split("\t")[2])))
    if group_protocol == "classic":
        assert sorted(v for _, _, v in seen) == list(range(total)), "the consumer missed or repeated records"
        for p in range(PARTITIONS):
            mine = [(o, v) for q, o, v in seen if q == p]
            assert mine == sorted(mine) and [v for _, v in mine] == sorted(v for _, v in mine)
    else:
        assert sorted(set(v for _, _, v in seen)) == list(range(total)), "the consumer missed records"
        for p in range(PARTITIONS):   # in order, apart from one rewind to the last commit
            offsets = [o for q, o, _ in seen if q == p]
            rewinds = [i for i in range(1, len(offsets)) if offsets[i] <= offsets[i - 1]]
            assert len(rewinds) <= 1, f"partition {p}: {len(rewinds)} rewinds"
            assert sorted(set(offsets)) == list(range(offsets[-1] + 1))
        testbed_report(f"KIP-848 consumer across the switch: {len(seen) - total} of {total} records seen twice")
    on_dest = consume(destination, topic_name, total, timeout=60)
    assert sorted(int(c.value) for c in on_dest) == list(range(total))
    assert {(c.partition, c.offset): int(c.value) for c in on_dest} == {(p, o): v for p, o, v in seen}


def destination_has(cluster, topic: str, n: int) -> bool:
    try:
        return len(consume(cluster, topic, n, timeout=2)) >= n
    except TimeoutError:  # the mirror has not created the topic yet
        return False
