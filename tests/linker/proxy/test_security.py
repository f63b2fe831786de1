"""TLS toward clients and toward the brokers; SASL passes through the proxy, and the
proxy never lets a client do what the broker would refuse it directly."""
from __future__ import annotations

import asyncio
import uuid

import pytest

from kafkabed.security import make_tls
from kproto import messages
from linker.client import (AuthenticationError, BrokerConnection, ClientConfig, SaslCredentials,
                           SecurityConfig, TlsSettings)
from linker.proxy import ListenTls, ProxyConfig

from conftest import upstream_of
from proxy_rawwire import RawConnection


@pytest.fixture(scope="module")
def proxy_cert(tmp_path_factory):
    """A certificate for 127.0.0.1 from a CA of the proxy's own (not the brokers')."""
    return make_tls(tmp_path_factory.mktemp("proxy-tls"))


def _kafka_python(bootstrap: str, protocol: str, user: str | None, password: str | None,
                  cafile: str | None = None, mechanism: str = "SCRAM-SHA-256") -> dict:
    cfg = {"bootstrap_servers": bootstrap, "security_protocol": protocol}
    if user is not None:
        cfg.update(sasl_mechanism=mechanism, sasl_plain_username=user, sasl_plain_password=password)
    if cafile:
        cfg.update(ssl_cafile=cafile, ssl_check_hostname=True)
    return cfg


def _roundtrip(cfg: dict, topic: str, n: int = 20) -> list[bytes]:
    from kafka import KafkaConsumer, KafkaProducer
    producer = KafkaProducer(**cfg, linger_ms=5)
    try:
        for i in range(n):
            producer.send(topic, f"m{i}".encode()).get(30)
    finally:
        producer.close(10)
    consumer = KafkaConsumer(topic, **cfg, group_id=f"g-{uuid.uuid4().hex[:6]}",
                             auto_offset_reset="earliest", consumer_timeout_ms=15000)
    try:
        values = []
        for m in consumer:
            values.append(m.value)
            if len(values) == n:
                break
        return values
    finally:
        consumer.close()


def test_sasl_passes_through(authorizer_cluster, start_proxy, topic_name):
    c = authorizer_cluster
    c.create_topic(topic_name)
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(c, listener="SASL_PLAINTEXT")))
    for mechanism in ("PLAIN", "SCRAM-SHA-512"):
        cfg = _kafka_python(proxy.bootstrap, "SASL_PLAINTEXT", "admin", c.users.password("admin"),
                            mechanism=mechanism)
        assert len(_roundtrip(cfg, topic_name)) == 20


def test_tls_to_clients_and_to_brokers(authorizer_cluster, start_proxy, proxy_cert, topic_name):
    c = authorizer_cluster
    c.create_topic(topic_name)
    upstream = upstream_of(c, listener="SASL_SSL", tls=TlsSettings(ca_file=str(c.tls.ca_cert)))
    proxy = start_proxy(ProxyConfig(upstream=upstream, listen_tls=ListenTls(
        cert_file=str(proxy_cert.broker_keystore), key_file=str(proxy_cert.broker_keystore))))
    # the client trusts only the proxy's CA: it really talks TLS to the proxy
    cfg = _kafka_python(proxy.bootstrap, "SASL_SSL", "admin", c.users.password("admin"),
                        cafile=str(proxy_cert.ca_cert))
    assert sorted(_roundtrip(cfg, topic_name)) == sorted(f"m{i}".encode() for i in range(20))

    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": proxy.bootstrap, "security.protocol": "sasl_ssl",
                  "ssl.ca.location": str(proxy_cert.ca_cert), "sasl.mechanisms": "PLAIN",
                  "sasl.username": "admin", "sasl.password": c.users.password("admin")})
    errors: list = []
    p.produce(topic_name, b"librdkafka over TLS", on_delivery=lambda err, msg: errors.append(err))
    assert p.flush(30) == 0 and errors == [None]

    from kafka import KafkaProducer
    from kafka.errors import KafkaError
    with pytest.raises((KafkaError, OSError)):  # the brokers' CA does not vouch for the proxy
        KafkaProducer(**_kafka_python(proxy.bootstrap, "SASL_SSL", "admin", c.users.password("admin"),
                                      cafile=str(c.tls.ca_cert)),
                      max_block_ms=3000, bootstrap_timeout_ms=3000).send(topic_name, b"x").get(5)


def test_the_proxy_never_widens_access(authorizer_cluster, start_proxy, topic_name):
    from kafka import KafkaProducer
    from kafka.errors import TopicAuthorizationFailedError
    c = authorizer_cluster
    c.create_topic(topic_name)
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(c, listener="SASL_PLAINTEXT")))
    direct = c.bootstrap_for("SASL_PLAINTEXT")

    alice = dict(security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                 sasl_plain_username="alice", sasl_plain_password=c.users.password("alice"))
    for bootstrap in (direct, proxy.bootstrap):   # alice has no ACL: refused either way
        producer = KafkaProducer(bootstrap_servers=bootstrap, max_block_ms=8000, **alice)
        try:
            with pytest.raises(TopicAuthorizationFailedError):
                producer.send(topic_name, b"x").get(15)
        finally:
            producer.close(5)

    async def login(address: str, password: str) -> None:
        host, _, port = address.rpartition(":")
        config = ClientConfig(security=SecurityConfig(
            protocol="SASL_PLAINTEXT", sasl=SaslCredentials("SCRAM-SHA-256", "alice", password)))
        connection = await BrokerConnection.open(host, int(port), config)
        connection.close()
    for address in (direct, proxy.bootstrap):     # a wrong password fails either way
        asyncio.run(login(address, c.users.password("alice")))
        with pytest.raises(AuthenticationError):
            asyncio.run(login(address, "not-the-password"))

    for address in (direct, proxy.bootstrap):     # no SASL at all: the broker drops the connection
        with RawConnection(address) as raw:
            raw.send(messages.MetadataRequest(topics=None), 12)
            assert raw.is_closed()
