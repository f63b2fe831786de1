"""Smoke: produce and consume through both clients on every listener variant."""
from __future__ import annotations

import pytest

from kafkabed.producers import consume, produce

# (listener, SASL mechanism, mutual TLS)
VARIANTS = [
    ("PLAINTEXT", None, False),
    ("SSL", None, False),
    ("SSL", None, True),
    ("SASL_PLAINTEXT", "PLAIN", False),
    ("SASL_PLAINTEXT", "SCRAM-SHA-256", False),
    ("SASL_PLAINTEXT", "SCRAM-SHA-512", False),
    ("SASL_SSL", "PLAIN", False),
    ("SASL_SSL", "SCRAM-SHA-256", False),
    ("SASL_SSL", "SCRAM-SHA-512", False),
]


def _ids(v: tuple) -> str:
    return "-".join(str(x) for x in (v[0], v[1] or "", "mtls" if v[2] else "") if x)


@pytest.mark.parametrize("client", ["kafka-python", "confluent"])
@pytest.mark.parametrize("variant", VARIANTS, ids=_ids)
def test_produce_and_consume(secure_cluster, topic_name, client, variant):
    listener, mechanism, mtls = variant
    user = "alice" if mechanism else None
    secure_cluster.create_topic(topic_name, partitions=2)
    kw = dict(client=client, listener=listener, user=user, mechanism=mechanism)
    produced = produce(secure_cluster, topic_name, 10, **kw)
    got = consume(secure_cluster, topic_name, 10, **kw)
    assert sorted(c.value for c in got) == sorted(r.value for r in produced.records)
    assert {(c.partition, c.offset) for c in got} == set(produced.offsets)


def test_client_configs_name_their_listener(secure_cluster):
    kp = secure_cluster.kafka_python_config("SASL_SSL", user="bob", mechanism="SCRAM-SHA-512")
    assert kp["security_protocol"] == "SASL_SSL"
    assert kp["sasl_plain_username"] == "bob" and kp["ssl_cafile"].endswith("ca.pem")
    ports = {secure_cluster.bootstrap_for(name) for name in secure_cluster.listeners}
    assert len(ports) == 4, "each listener kind has its own port"
    with pytest.raises(ValueError, match="no SASL"):
        secure_cluster.confluent_config("SSL", user="alice")
    with pytest.raises(ValueError, match="unknown SASL user 'mallory'"):
        secure_cluster.confluent_config("SASL_SSL", user="mallory")
    with pytest.raises(ValueError, match="mechanism 'GSSAPI'"):
        secure_cluster.kafka_python_config("SASL_PLAINTEXT", mechanism="GSSAPI")


def test_wrong_password_is_refused(secure_cluster):
    import time

    from confluent_kafka import Producer
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    cfg = secure_cluster.confluent_config("SASL_PLAINTEXT", user="alice", mechanism="SCRAM-SHA-256")
    cfg["sasl.password"] = "wrong"
    errors: list = []
    cfg["error_cb"] = errors.append
    producer = Producer(cfg)
    deadline = time.monotonic() + 15
    while not errors and time.monotonic() < deadline:
        producer.poll(0.2)
    assert any("Authentication failed" in str(e) for e in errors), errors

    kp = secure_cluster.kafka_python_config("SASL_PLAINTEXT", user="alice", mechanism="PLAIN")
    kp["sasl_plain_password"] = "wrong"
    with pytest.raises(KafkaError):
        consumer = KafkaConsumer(**kp, request_timeout_ms=5000, api_version_auto_timeout_ms=5000)
        try:
            consumer.topics()
        finally:
            consumer.close()


def test_keytool_certificates_serve_tls(topic_name):
    """Without openssl the test bed falls back to the JDK's keytool (PKCS12 keystore)."""
    from kafkabed import KafkaCluster

    with KafkaCluster("keytool-tls", listeners="SSL", tls_tool="keytool") as cluster:
        assert cluster.tls.keystore_type == "PKCS12"
        cluster.create_topic(topic_name)
        for client in ("kafka-python", "confluent"):
            produce(cluster, topic_name, 3, client=client)
        assert len(consume(cluster, topic_name, 6, client="confluent")) == 6
        with pytest.raises(Exception, match="openssl"):
            cluster.confluent_config(mtls=True)


def test_listener_facts(secure_cluster, authorizer_cluster):
    info = secure_cluster.listener("SASL_SSL")
    assert info.protocol == "SASL_SSL" and info.ca_cert is not None and info.ca_cert.exists()
    assert info.users["alice"] == "alice-secret" and "SCRAM-SHA-512" in info.mechanisms
    plain = secure_cluster.listener("PLAINTEXT")
    assert plain.ca_cert is None and plain.users == {} and plain.mechanisms == ()
    internal = authorizer_cluster.listener("INTERNAL")
    assert internal.protocol == "SASL_PLAINTEXT" and internal.mechanisms == ("PLAIN",)
    assert secure_cluster.listener("INTERNAL").protocol == "SASL_PLAINTEXT"  # it has SASL listeners
