"""The guard decides by an allowlist while mirrors exist (issue 17, finding 2): a
transaction cannot put a marker into a mirror, the link's state topic cannot be
written, and ACL deletion, unclean elections, broker-wide configs, creating a
mirror's name and API keys the proxy cannot decode are refused. Real brokers."""
from __future__ import annotations

import struct
import time

import pytest

from kproto import ApiKey, messages
from kproto.records.builder import build_batch
from linker.proxy import MirrorTopics, ProxyConfig
from tests.checker import check_mirror, wait_exact
from tests.linker.mirror.helpers import BackgroundEngine, engine_for, link_config

from conftest import upstream_of
from proxy_rawwire import RawConnection

LINK = "test"
POLICY_VIOLATION = 44
NONE = 0


def _log_ends(cluster, topic: str, partitions: int) -> dict[int, int]:
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        return {tp.partition: off for tp, off in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


@pytest.fixture
def guarded(destination, start_proxy, topic_names):
    """A proxy in front of the destination: `mirror` is a mirror, `state` the link's state topic."""
    mirror = destination.create_topic(topic_names("mirror"), 2)
    plain = destination.create_topic(topic_names("plain"), 2)
    state = destination.create_topic(f"__linker-{topic_names('link')}-state", 1)
    mirrors = MirrorTopics({mirror: LINK})
    mirrors.set_internal(state, LINK)
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(destination)), mirrors)
    return proxy, mirrors, mirror, plain, state


def test_transactional_producer_leaves_no_marker_in_an_active_mirror(source, destination, start_proxy,
                                                                       topic_names):
    """librdkafka adds the partition to the transaction before producing. The proxy refuses that
    AddPartitionsToTxn, so the abort that follows has no mirror partition to write a marker to."""
    from confluent_kafka import KafkaException, Producer
    from kafkabed.producers import produce

    topic = topic_names("txm")
    source.create_topic(topic, 3)
    produce(source, topic, 30)
    cfg = link_config(source, destination, names=[topic])
    with BackgroundEngine(engine_for(cfg)) as bg:
        bg.wait_caught_up(cfg.source, 30)
        wait_exact(source, destination, [topic], timeout=60)
        before = _log_ends(destination, topic, 3)
        proxy = start_proxy(ProxyConfig(upstream=upstream_of(destination)), MirrorTopics({topic: LINK}))
        errors: list = []
        p = Producer({"bootstrap.servers": proxy.bootstrap, "transactional.id": topic_names("txid"),
                      "message.timeout.ms": 15000, "transaction.timeout.ms": 20000})
        p.init_transactions(30)
        p.begin_transaction()
        for part in range(3):
            p.produce(topic, b"forbidden", partition=part, on_delivery=lambda err, msg: errors.append(err))
        p.flush(30)
        with pytest.raises(KafkaException):
            p.commit_transaction(30)
        try:
            p.abort_transaction(30)
        except KafkaException as exc:
            # as with a broker's DENY WRITE ACL: the coordinator has no partition in the
            # transaction, so it answers the abort INVALID_TXN_STATE, which librdkafka makes fatal
            assert "INVALID_TXN_STATE" in str(exc), exc
        assert len(errors) == 3 and all(e is not None for e in errors), errors
        # markers are written by the coordinator after EndTxn: give it time to (not) write one
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            assert _log_ends(destination, topic, 3) == before
            time.sleep(0.5)
        produce(source, topic, 10)
        bg.wait_caught_up(cfg.source, 40)
        result = check_mirror(source, destination, [topic])
        assert result.exact, result


def test_state_topic_cannot_be_written_through_the_proxy(destination, guarded):
    proxy, mirrors, mirror, plain, state = guarded
    P = messages.ProduceRequest
    with RawConnection(proxy.bootstrap) as c:
        c.request(messages.MetadataRequest(topics=None), 12)
        answer = c.request(P(acks=-1, timeout_ms=10000, topic_data=[P.TopicProduceData(
            name=state, partition_data=[P.PartitionProduceData(index=0, records=build_batch([b"forged"]))])]), 9)
    codes = [p.error_code for t in answer.responses for p in t.partition_responses]
    assert codes == [POLICY_VIOLATION]
    assert _log_ends(destination, state, 1) == {0: 0}

    from kafka import KafkaProducer
    from kafka.errors import PolicyViolationError
    producer = KafkaProducer(bootstrap_servers=proxy.bootstrap)
    try:
        with pytest.raises(PolicyViolationError):
            producer.send(state, b"forged").get(30)
    finally:
        producer.close()
    assert _log_ends(destination, state, 1) == {0: 0}


def test_acl_election_config_and_create_refused(destination, guarded, topic_names):
    proxy, mirrors, mirror, plain, state = guarded
    DA, CA = messages.DeleteAclsRequest, messages.CreateAclsRequest
    EL, IA = messages.ElectLeadersRequest, messages.IncrementalAlterConfigsRequest
    CT = messages.CreateTopicsRequest
    fresh = topic_names("not-yet-created")
    proxy.sync(lambda: mirrors.set_mirror(fresh, LINK))   # in the link's state, not created yet
    with RawConnection(proxy.bootstrap) as c:
        c.request(messages.MetadataRequest(topics=None), 12)
        deleted = c.request(DA(filters=[
            DA.DeleteAclsFilter(resource_type_filter=2, resource_name_filter=mirror, pattern_type_filter=3,
                                principal_filter=None, host_filter=None, operation=1, permission_type=1),
            DA.DeleteAclsFilter(resource_type_filter=2, resource_name_filter=plain, pattern_type_filter=3,
                                principal_filter=None, host_filter=None, operation=1, permission_type=1),
            DA.DeleteAclsFilter(resource_type_filter=1, resource_name_filter=None, pattern_type_filter=1,
                                principal_filter=None, host_filter=None, operation=1, permission_type=1)]), 3)
        codes = [r.error_code for r in deleted.filter_results]
        assert codes[0] == POLICY_VIOLATION and codes[2] == POLICY_VIOLATION
        assert codes[1] != POLICY_VIOLATION   # the plain topic's filter reached the broker

        created = c.request(CA(creations=[CA.AclCreation(
            resource_type=2, resource_name=mirror, resource_pattern_type=3, principal="User:linker",
            host="*", operation=4, permission_type=2)]), 3)
        assert [r.error_code for r in created.results] == [POLICY_VIOLATION]

        elected = c.request(EL(election_type=1, timeout_ms=10000, topic_partitions=[
            EL.TopicPartitions(topic=mirror, partitions=[0, 1])]), 2)
        assert {(r.topic, p.error_code) for r in elected.replica_election_results
                for p in r.partition_result} == {(mirror, POLICY_VIOLATION)}
        everything = c.request(EL(election_type=1, timeout_ms=10000, topic_partitions=None), 2)
        assert everything.error_code == POLICY_VIOLATION

        altered = c.request(IA(validate_only=True, resources=[
            IA.AlterConfigsResource(resource_type=4, resource_name="", configs=[
                IA.AlterableConfig(name="log.retention.ms", config_operation=0, value="1000")]),
            IA.AlterConfigsResource(resource_type=2, resource_name=plain, configs=[
                IA.AlterableConfig(name="retention.ms", config_operation=0, value="100000")])]), 1)
        assert {(r.resource_type, r.error_code) for r in altered.responses} == {(4, POLICY_VIOLATION), (2, NONE)}

        made = c.request(CT(timeout_ms=10000, validate_only=False, topics=[
            CT.CreatableTopic(name=n, num_partitions=5, replication_factor=1, assignments=[], configs=[])
            for n in (fresh, state)]), 7)
        assert {t.name: t.error_code for t in made.topics} == {fresh: POLICY_VIOLATION, state: POLICY_VIOLATION}
        # auto-creation of the mirror's name through Metadata is turned off
        meta = c.request(messages.MetadataRequest(topics=[messages.MetadataRequest.MetadataRequestTopic(
            name=fresh)], allow_auto_topic_creation=True), 12)
        assert [t.error_code for t in meta.topics] != [NONE]
    assert fresh not in destination.admin().list_topics()


def test_refused_and_unknown_api_keys(destination, guarded):
    proxy, mirrors, mirror, plain, state = guarded
    with RawConnection(proxy.bootstrap) as c:
        versions = c.request(messages.ApiVersionsRequest(client_software_name="t", client_software_version="1"), 3)
        advertised = {k.api_key for k in versions.api_keys}
        assert ApiKey.WRITE_TXN_MARKERS not in advertised and ApiKey.PRODUCE in advertised
        assert all(k in ApiKey._value2member_map_ for k in advertised)
        U = messages.UpdateFeaturesRequest
        refused = c.request(U(timeout_ms=1000, feature_updates=[], validate_only=True), 1)
        assert refused.error_code == POLICY_VIOLATION
    with RawConnection(proxy.bootstrap) as c:
        c.send_frame(struct.pack(">hhi", 27, 1, 7) + b"\x00\x03raw" + b"\x00\x00\x00\x00")  # WriteTxnMarkers v1
        assert c.is_closed()
    with RawConnection(proxy.bootstrap) as c:
        c.send_frame(struct.pack(">hhi", 999, 0, 8) + b"\x00\x03raw")   # an API key nobody defines
        assert c.is_closed()


def test_without_mirrors_nothing_is_refused(destination, start_proxy, topic_names):
    """No guard: the allowlist costs nothing and refuses nothing (unknown keys still pass)."""
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(destination)), MirrorTopics())
    with RawConnection(proxy.bootstrap) as c:
        versions = c.request(messages.ApiVersionsRequest(client_software_name="t", client_software_version="1"), 3)
        assert ApiKey.WRITE_TXN_MARKERS in {k.api_key for k in versions.api_keys}
        U = messages.UpdateFeaturesRequest
        answer = c.request(U(timeout_ms=1000, feature_updates=[], validate_only=True), 1)
        assert answer.error_code != POLICY_VIOLATION
