"""TLS toward clients and toward the brokers; SASL passes through the proxy, and the
proxy never lets a client do what the broker would refuse it directly."""
from __future__ import annotations

import asyncio
import uuid

import pytest

from kafkabed.security import make_tls
from kproto import messages
from kproto.errors import ErrorCode
from linker.client import (AuthenticationError, BrokerConnection, ClientConfig, SaslCredentials,
                           SecurityConfig, TlsSettings)
from linker.proxy import ListenTls, ProxyConfig, UpstreamConfig

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
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(c, listener="SASL_PLAINTEXT"),
                                    allow_sasl_plain_over_plaintext=True))
    for mechanism in ("PLAIN", "SCRAM-SHA-512"):
        cfg = _kafka_python(proxy.bootstrap, "SASL_PLAINTEXT", "admin", c.users.password("admin"),
                            mechanism=mechanism)
        assert len(_roundtrip(cfg, topic_name)) == 20


def test_sasl_plain_on_a_plaintext_listener_is_refused_by_default(authorizer_cluster, start_proxy):
    """17.8: a password in clear toward the proxy: SaslHandshake(PLAIN) is answered
    UNSUPPORTED_SASL_MECHANISM by the proxy (it never reaches the broker); SCRAM passes."""
    c = authorizer_cluster
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(c, listener="SASL_PLAINTEXT")))
    with RawConnection(proxy.bootstrap) as raw:
        answer = raw.request(messages.SaslHandshakeRequest(mechanism="PLAIN"), 1)
        assert answer.error_code == ErrorCode.UNSUPPORTED_SASL_MECHANISM
    with RawConnection(proxy.bootstrap) as raw:
        assert raw.request(messages.SaslHandshakeRequest(mechanism="SCRAM-SHA-512"), 1).error_code == 0

    async def login(mechanism: str) -> None:
        host, _, port = proxy.bootstrap.rpartition(":")
        config = ClientConfig(security=SecurityConfig(protocol="SASL_PLAINTEXT", sasl=SaslCredentials(
            mechanism, "admin", c.users.password("admin"))))
        connection = await BrokerConnection.open(host, int(port), config)
        connection.close()
    with pytest.raises(Exception, match="(?i)mechanism|UNSUPPORTED_SASL"):
        asyncio.run(login("PLAIN"))
    asyncio.run(login("SCRAM-SHA-256"))


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
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(c, listener="SASL_PLAINTEXT"),
                                    allow_sasl_plain_over_plaintext=True))
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


# -- issue 17: the link's identity, refusal texts, plaintext in front of TLS ----------------------

@pytest.fixture(scope="module")
def mtls_cluster(request):
    """1 node with an SSL listener that requires a client certificate (and a PLAINTEXT one)."""
    from kafkabed.cluster import KafkaCluster
    cluster = KafkaCluster(name="mtls", listeners=("PLAINTEXT", "SSL"),
                           broker_config={"ssl.client.auth": "required"})
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _link_config(tmp_path, cluster, listener: str, tls: str, proxy: str = ""):
    from linker.settings import load_config
    path = tmp_path / "link.toml"
    path.write_text(f'''name = "secret-link"
[source]
bootstrap_servers = "127.0.0.1:9"        # never connected to here
[destination]
bootstrap_servers = "{cluster.bootstrap_for(listener)}"
security_protocol = "{listener}"
{tls}
[topics]
names = ["t"]
[proxy]
listen = "127.0.0.1:0"
{proxy}
''')
    return load_config(path)


def test_clients_never_borrow_the_links_certificate(mtls_cluster, start_proxy, topic_name, tmp_path):
    """The link authenticates to the destination with a client certificate; a client of the
    proxy has none, so the broker must not let it in as the link (17.1)."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError
    from linker.app.proxy_settings import proxy_config
    c = mtls_cluster
    c.create_topic(topic_name)
    cert, key = c.tls.client_cert, c.tls.client_key
    config = _link_config(tmp_path, c, "SSL", f'[destination.tls]\nca_file = "{c.tls.ca_cert}"\n'
                          f'cert_file = "{cert}"\nkey_file = "{key}"', "allow_plaintext_clients = true")
    pc = proxy_config(config)
    assert pc.upstream.tls is not None and pc.upstream.tls.cert_file is None and pc.upstream.tls.ca_file
    assert pc.upstream.admin_config().tls.cert_file == str(cert)   # the proxy's own connections only
    proxy = start_proxy(pc)                                          # its admin client gets in
    producer = None
    with pytest.raises((KafkaError, OSError)):
        producer = KafkaProducer(bootstrap_servers=proxy.bootstrap, max_block_ms=4000, request_timeout_ms=4000)
        producer.send(topic_name, b"as the link?").get(5)
    if producer is not None:
        producer.close(1)
    with pytest.raises(ValueError, match="client certificate"):   # never given for clients
        UpstreamConfig(name="d", bootstrap=c.bootstrap_for("SSL"),
                       tls=TlsSettings(ca_file=str(c.tls.ca_cert), cert_file=str(cert), key_file=str(key)))


def test_plaintext_clients_in_front_of_tls_need_a_setting(authorizer_cluster, start_proxy, topic_name, tmp_path):
    """17.8: a plaintext client listener in front of TLS brokers is refused unless
    proxy.allow_plaintext_clients is set; with it, clients work."""
    from linker.app.proxy_settings import proxy_config
    c = authorizer_cluster
    c.create_topic(topic_name)
    tls = f'[destination.tls]\nca_file = "{c.tls.ca_cert}"\n[destination.sasl]\nmechanism = "PLAIN"\n' \
          f'username = "admin"\npassword = "{c.users.password("admin")}"'
    with pytest.raises(ValueError, match="proxy.allow_plaintext_clients"):
        proxy_config(_link_config(tmp_path, c, "SASL_SSL", tls))
    with pytest.raises(ValueError, match="allow_plaintext_clients"):
        ProxyConfig(upstream=upstream_of(c, listener="SASL_SSL", tls=TlsSettings(ca_file=str(c.tls.ca_cert))))
    proxy = start_proxy(proxy_config(_link_config(tmp_path, c, "SASL_SSL", tls, "allow_plaintext_clients = true")))
    cfg = _kafka_python(proxy.bootstrap, "SASL_PLAINTEXT", "admin", c.users.password("admin"))
    assert len(_roundtrip(cfg, topic_name, 5)) == 5


def test_refusals_name_nothing_the_client_did_not_send(destination, start_proxy, topic_names):
    """17.4: a client that never authenticated learns no link name, no other mirror and no
    other topic under cutover from a refusal."""
    from kproto.records.builder import build_batch
    from linker.proxy import MirrorTopics
    mirror, held, other = (destination.create_topic(topic_names(n), 1) for n in ("mirror", "held", "other"))
    link = "secret-link-name"
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(destination)), MirrorTopics({mirror: link, other: link}))
    proxy.sync(lambda: proxy.server.hold_writes([held, other], f"writes held for the cutover of {held}, {other}"))
    P, C = messages.ProduceRequest, messages.CreatePartitionsRequest
    with RawConnection(proxy.bootstrap) as raw:
        produced = raw.request(P(acks=-1, timeout_ms=10000, topic_data=[P.TopicProduceData(
            name=t, partition_data=[P.PartitionProduceData(index=0, records=build_batch([b"x"]))])
            for t in (mirror, held)]), 9)
        grown = raw.request(C(timeout_ms=10000, validate_only=True, topics=[
            C.CreatePartitionsTopic(name=mirror, count=4, assignments=None)]), 3)
    texts = [p.error_message for t in produced.responses for p in t.partition_responses]
    texts += [r.error_message for r in grown.results]
    assert len(texts) == 3 and all(texts), texts
    for text in texts:
        for secret in (link, other, "cutover"):
            assert secret not in text, text
