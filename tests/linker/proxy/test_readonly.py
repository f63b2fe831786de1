"""Read-only mirrors: writes to an ACTIVE mirror topic are refused by the proxy
(without naming the link: issue 17.4); everything else in the same request goes through; after
promotion the same writes work."""
from __future__ import annotations

import time

import pytest

from kproto import ApiKey, messages
from kproto.records.builder import build_batch
from linker.proxy import MirrorTopics, ProxyConfig

from conftest import upstream_of
from proxy_rawwire import RawConnection

LINK = "link-east"
POLICY_VIOLATION = 44


@pytest.fixture
def guarded(destination, start_proxy, topic_names):
    mirror = destination.create_topic(topic_names("mirror"), 2)
    plain = destination.create_topic(topic_names("plain"), 2)
    mirrors = MirrorTopics({mirror: LINK})
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(destination)), mirrors)
    return proxy, mirrors, mirror, plain


def _produce(topics: list[str], acks: int = -1) -> messages.ProduceRequest:
    P = messages.ProduceRequest
    return P(acks=acks, timeout_ms=10000, topic_data=[
        P.TopicProduceData(name=t, partition_data=[
            P.PartitionProduceData(index=p, records=build_batch([f"{t}-{p}".encode()])) for p in (0, 1)])
        for t in topics])


def _log_end(cluster, topic: str) -> dict[int, int]:
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in (0, 1)]
        return {tp.partition: off for tp, off in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


def test_produce_refused_per_topic_in_one_request(destination, guarded):
    proxy, mirrors, mirror, plain = guarded
    with RawConnection(proxy.bootstrap) as c:
        c.request(messages.MetadataRequest(topics=None), 12)
        response = c.request(_produce([mirror, plain]), 9)
    by_topic = {t.name: t.partition_responses for t in response.responses}
    assert set(by_topic) == {mirror, plain}
    for p in by_topic[mirror]:
        assert p.error_code == POLICY_VIOLATION
        assert LINK not in p.error_message and "read-only mirror" in p.error_message
    assert [p.error_code for p in by_topic[plain]] == [0, 0]
    assert _log_end(destination, mirror) == {0: 0, 1: 0}
    assert _log_end(destination, plain) == {0: 1, 1: 1}


def test_acks0_produce_to_mirror_is_dropped_and_the_rest_written(destination, guarded):
    proxy, mirrors, mirror, plain = guarded
    with RawConnection(proxy.bootstrap) as c:
        # the broker closes the connection on an acks=0 error (e.g. a leader not ready yet):
        # make sure the plain topic takes writes before relying on the connection staying up
        deadline = time.monotonic() + 15
        while True:   # a new partition's leader may answer NOT_LEADER (6) for a moment
            first = c.request(_produce([plain]), 9)
            codes = [p.error_code for p in first.responses[0].partition_responses]
            if codes != [0, 0] and 6 in codes and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            break
        assert codes == [0, 0]
        before = _log_end(destination, plain)   # a retry above may have written a partition twice
        c.send(_produce([mirror, plain], acks=0), 9)
        c.request(messages.MetadataRequest(topics=[]), 12)  # the connection still works
    want = {p: end + 1 for p, end in before.items()}
    deadline = time.monotonic() + 10
    while _log_end(destination, plain) != want and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _log_end(destination, plain) == want
    assert _log_end(destination, mirror) == {0: 0, 1: 0}


def test_clients_see_the_refusal_and_write_after_promote(destination, guarded):
    from kafka import KafkaProducer
    from kafka.errors import PolicyViolationError
    proxy, mirrors, mirror, plain = guarded
    # kafka-python 3 makes any non-retriable produce error fatal to an idempotent
    # producer (as a broker refusal would), so each phase uses its own producer.
    refused = KafkaProducer(bootstrap_servers=proxy.bootstrap)
    try:
        with pytest.raises(PolicyViolationError, match="read-only mirror"):
            refused.send(mirror, b"nope").get(30)
    finally:
        refused.close()
    producer = KafkaProducer(bootstrap_servers=proxy.bootstrap)
    try:
        assert producer.send(plain, b"fine").get(30).offset == 0
        proxy.sync(lambda: mirrors.promote(mirror))
        assert producer.send(mirror, b"now writable").get(30).offset == 0
    finally:
        producer.close()

    from confluent_kafka import Producer
    proxy.sync(lambda: mirrors.set_mirror(mirror, LINK))
    errors: list = []
    p = Producer({"bootstrap.servers": proxy.bootstrap, "message.timeout.ms": 20000})
    p.produce(mirror, b"nope", on_delivery=lambda err, msg: errors.append(err))
    p.flush(30)
    assert errors and errors[0] is not None and "POLICY_VIOLATION" in errors[0].name()


def test_admin_writes_on_mirrors_are_refused(destination, guarded):
    proxy, mirrors, mirror, plain = guarded
    D, C = messages.DeleteRecordsRequest, messages.CreatePartitionsRequest
    I, A, T = messages.IncrementalAlterConfigsRequest, messages.AlterConfigsRequest, messages.DeleteTopicsRequest
    with RawConnection(proxy.bootstrap) as c:
        c.request(messages.MetadataRequest(topics=None), 12)
        deleted = c.request(D(timeout_ms=10000, topics=[
            D.DeleteRecordsTopic(name=t, partitions=[D.DeleteRecordsPartition(partition_index=0, offset=0)])
            for t in (mirror, plain)]), 2)
        assert {t.name: t.partitions[0].error_code for t in deleted.topics} == {mirror: POLICY_VIOLATION, plain: 0}

        grown = c.request(C(timeout_ms=10000, validate_only=True, topics=[
            C.CreatePartitionsTopic(name=t, count=4, assignments=None) for t in (mirror, plain)]), 3)
        assert {r.name: r.error_code for r in grown.results} == {mirror: POLICY_VIOLATION, plain: 0}
        assert LINK not in next(r.error_message for r in grown.results if r.name == mirror)

        altered = c.request(I(validate_only=True, resources=[
            I.AlterConfigsResource(resource_type=2, resource_name=t, configs=[
                I.AlterableConfig(name="retention.ms", config_operation=0, value="100000")])
            for t in (mirror, plain)]), 1)
        assert {r.resource_name: r.error_code for r in altered.responses} == {mirror: POLICY_VIOLATION, plain: 0}

        legacy = c.request(A(validate_only=True, resources=[
            A.AlterConfigsResource(resource_type=2, resource_name=mirror, configs=[
                A.AlterableConfig(name="retention.ms", value="100000")])]), 2)
        assert [r.error_code for r in legacy.responses] == [POLICY_VIOLATION]

        dropped = c.request(T(timeout_ms=10000, topics=[T.DeleteTopicState(name=mirror)]), 6)
        assert [(r.name, r.error_code) for r in dropped.responses] == [(mirror, POLICY_VIOLATION)]
    assert destination.partition_leaders(mirror) == {0: 1, 1: 1}  # still there, still 2 partitions

    from kafka import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=proxy.bootstrap)
    try:
        with pytest.raises(Exception, match="POLICY|Policy"):
            result = admin.delete_topics([mirror])
            if isinstance(result, dict):  # some versions report per-topic errors instead of raising
                raise RuntimeError(str(result))
        proxy.sync(lambda: mirrors.promote(mirror))
        admin.delete_topics([mirror])
    finally:
        admin.close()
    deadline = time.monotonic() + 15
    while mirror in destination.admin().list_topics() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert mirror not in destination.admin().list_topics()
