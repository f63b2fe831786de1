"""A client of a linked proxy can neither lock the linker out (delete or replace the SCRAM
credential of its SASL user) nor throttle it (a client quota on its user, its client ids, or
the defaults that apply to them). Every other entry of the same request reaches the broker.

Real brokers; the requests go through the proxy as Kafka's own ConfigCommand sends them and as
raw frames (several entries in one request), and what the broker stored is read directly from
the broker, not through the proxy."""
from __future__ import annotations

import os
import subprocess
import uuid

from kproto import messages
from kproto.errors import ErrorCode
from linker.proxy import ProxyConfig
from linker.proxy.config import LinkerIdentity

from conftest import upstream_of
from proxy_rawwire import RawConnection

AQ, DQ = messages.AlterClientQuotasRequest, messages.DescribeClientQuotasRequest
AS, DS = messages.AlterUserScramCredentialsRequest, messages.DescribeUserScramCredentialsRequest
SCRAM_SHA_256 = 1


def _identity(tag: str) -> LinkerIdentity:
    return LinkerIdentity(frozenset({f"linker-{tag}"}), frozenset({f"linker-{tag}"}))


def _quota_entry(entity: list[tuple[str, str | None]], rate: float) -> object:
    return AQ.EntryData(entity=[AQ.EntityData(entity_type=t, entity_name=n) for t, n in entity],
                        ops=[AQ.OpData(key="producer_byte_rate", value=rate, remove=False)])


def _quotas_of(address: str, entity_type: str, name: str) -> dict[str, float]:
    """The quotas the broker holds for exactly this entity (asked of the broker directly)."""
    with RawConnection(address) as raw:
        r = raw.request(DQ(components=[DQ.ComponentData(entity_type=entity_type, match_type=0, match=name)],
                           strict=True), 1)
    assert r.error_code == 0, r.error_message
    return {v.key: v.value for e in r.entries for v in e.values}


def _scram_users(address: str, users: list[str]) -> set[str]:
    with RawConnection(address) as raw:
        r = raw.request(DS(users=[DS.UserName(name=u) for u in users]), 0)
    return {x.user for x in r.results if x.error_code == 0 and x.credential_infos}


def test_mixed_requests_refuse_only_the_linkers_entries(destination, start_proxy):
    tag = uuid.uuid4().hex[:8]
    linker, alice = f"linker-{tag}", f"alice-{tag}"
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(destination), linker_identity=_identity(tag)))
    with RawConnection(proxy.bootstrap) as raw:
        quotas = raw.request(AQ(validate_only=False, entries=[
            _quota_entry([("user", alice)], 2_000_000),
            _quota_entry([("user", linker)], 1),
            _quota_entry([("client-id", f"linker-{tag}-mirror")], 1),   # the linker's client ids
            _quota_entry([("user", None)], 1),                           # the default applies to it
            _quota_entry([("client-id", f"app-{tag}")], 3_000_000),
        ]), 1)
        scram = raw.request(AS(deletions=[], upsertions=[
            AS.ScramCredentialUpsertion(name=n, mechanism=SCRAM_SHA_256, iterations=4096, salt=os.urandom(16),
                                        salted_password=os.urandom(32)) for n in (alice, linker)]), 0)
    # one answer per entry, matched by entity (the broker answers in no particular order)
    codes = {(e.entity[0].entity_type, e.entity[0].entity_name): e.error_code for e in quotas.entries}
    assert len(quotas.entries) == 5 and codes == {
        ("user", alice): 0, ("user", linker): ErrorCode.POLICY_VIOLATION,
        ("client-id", f"linker-{tag}-mirror"): ErrorCode.POLICY_VIOLATION,
        ("user", None): ErrorCode.POLICY_VIOLATION, ("client-id", f"app-{tag}"): 0}
    message = next(e.error_message for e in quotas.entries if e.entity[0].entity_name == linker)
    assert linker in message and "cluster directly" in message and "link's" not in message
    assert {r.user: r.error_code for r in scram.results} == {alice: 0, linker: ErrorCode.POLICY_VIOLATION}

    direct = destination.bootstrap
    assert _quotas_of(direct, "user", alice) == {"producer_byte_rate": 2_000_000}
    assert _quotas_of(direct, "client-id", f"app-{tag}") == {"producer_byte_rate": 3_000_000}
    assert _quotas_of(direct, "user", linker) == {}
    assert _quotas_of(direct, "client-id", f"linker-{tag}-mirror") == {}
    assert _scram_users(direct, [alice, linker]) == {alice}

    # Without an identity (a proxy not run for a link) the same requests pass.
    plain = start_proxy(ProxyConfig(upstream=upstream_of(destination)))
    with RawConnection(plain.bootstrap) as raw:
        r = raw.request(AQ(validate_only=True, entries=[_quota_entry([("user", linker)], 1)]), 1)
    assert [e.error_code for e in r.entries] == [0]


def test_kafka_configs_cannot_lock_the_linker_out(authorizer_cluster, start_proxy, tmp_path):
    """Kafka's own ConfigCommand, as the super user, through the proxy: the linker's SCRAM
    credential survives a delete and a replace, and its user gets no quota; another user's
    credential is deleted as asked. Judged by logging in to the broker directly."""
    from kafkabed import classpath
    from kafkabed.cluster import java_binary

    c = authorizer_cluster
    tag = uuid.uuid4().hex[:8]
    linker, bob = f"linker-{tag}", f"bob-{tag}"
    direct = c.bootstrap_for("SASL_PLAINTEXT")
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(c, listener="SASL_PLAINTEXT"),
                                    allow_sasl_plain_over_plaintext=True, linker_identity=_identity(tag)))
    admin = tmp_path / "admin.properties"
    admin.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
                     "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
                     f'username="admin" password="{c.users.password("admin")}";\n')
    java = [java_binary(), "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", classpath(),
            "org.apache.kafka.tools.ConfigCommand", "--command-config", str(admin)]

    def configs(bootstrap: str, user: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(java + ["--bootstrap-server", bootstrap, "--alter", "--entity-type", "users",
                                      "--entity-name", user, *args], capture_output=True, text=True, timeout=120)

    for user in (linker, bob):   # both get a credential first (set directly)
        done = configs(direct, user, "--add-config", "SCRAM-SHA-256=[iterations=4096,password=first]")
        assert done.returncode == 0, done.stderr
    for args in (["--delete-config", "SCRAM-SHA-256"],
                 ["--add-config", "SCRAM-SHA-256=[iterations=4096,password=taken]"],
                 ["--add-config", "producer_byte_rate=1"]):
        r = configs(proxy.bootstrap, linker, *args)
        assert r.returncode != 0 and "not changed through this proxy" in r.stdout + r.stderr, (args, r.stdout, r.stderr)
    r = configs(proxy.bootstrap, bob, "--delete-config", "SCRAM-SHA-256")
    assert r.returncode == 0, r.stderr

    assert _logs_in(direct, linker, "first")
    assert not _logs_in(direct, linker, "taken")
    assert not _logs_in(direct, bob, "first")


def _logs_in(address: str, user: str, password: str) -> bool:
    """A SCRAM-SHA-256 login straight to the broker."""
    import asyncio

    from linker.client import AuthenticationError, BrokerConnection, ClientConfig, SaslCredentials, SecurityConfig

    async def login() -> bool:
        host, _, port = address.rpartition(":")
        config = ClientConfig(security=SecurityConfig(
            protocol="SASL_PLAINTEXT", sasl=SaslCredentials("SCRAM-SHA-256", user, password)))
        try:
            connection = await BrokerConnection.open(host, int(port), config)
        except AuthenticationError:
            return False
        connection.close()
        return True
    return asyncio.run(login())


def test_a_linked_proxy_knows_the_linkers_identity():
    """`linker proxy --config` takes the linker's SASL users and client ids from the link file."""
    from linker.app.proxy_settings import proxy_config
    from linker.settings import parse_config
    sasl = {"security_protocol": "SASL_PLAINTEXT", "client_id": "mirror-1"}
    config = parse_config({
        "name": "l",
        "source": {"bootstrap_servers": ["127.0.0.1:9"], **sasl,
                   "sasl": {"mechanism": "SCRAM-SHA-256", "username": "reader", "password": "x"}},
        "destination": {"bootstrap_servers": ["127.0.0.1:9"], **sasl,
                        "sasl": {"mechanism": "SCRAM-SHA-512", "username": "writer", "password": "y"}},
        "topics": {"names": ["t"]},
        "proxy": {"listen": "127.0.0.1:0", "allow_sasl_plain_over_plaintext": True},
    })
    identity = proxy_config(config).linker_identity
    assert identity.users == {"reader", "writer"}
    assert identity.owns_client_id("mirror-1") and identity.owns_client_id("mirror-1-l-lifecycle")
    assert not identity.owns_client_id("mirror-10") and not identity.owns_client_id("app")
