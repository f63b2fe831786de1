"""Issue 21, finding 10: with ACL sync, what the destination lacks for clients to work after a
switch is reported: ACL principals without SCRAM credentials there, SCRAM users (or mechanisms)
of the source missing, client quotas missing or different; a cluster that refuses to be described
is "not checked", never a crash. Two authorizer clusters with different SCRAM users; quotas set
with kafka-python (AlterClientQuotas)."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kafka.admin import (ACL, ACLOperation, ACLPermissionType, ResourcePattern, ResourceType,
                         ScramMechanism, UserScramCredentialDeletion)
from kafka.protocol.admin import AlterClientQuotasRequest

from kafkabed import KafkaCluster
from linker.client import ClientQuotaEntry, ScramCredentialInfo
from linker.connect import connect
from linker.lifecycle.access_report import compare_quotas, compare_scram, report_access
from linker.lifecycle.acl_sync import sync_acls_and_report
from linker.settings import parse_config
from linker.status_view import StatusReport, render_report


@pytest.fixture(scope="module")
def authz_few_users():
    """A destination without bob (the source's default users are admin, alice, bob)."""
    c = KafkaCluster(name="authz-few", listeners=("SASL_PLAINTEXT",), authorizer=True,
                     users={"admin": "admin-secret", "alice": "alice-secret"})
    try:
        c.start()
        yield c
    finally:
        c.stop()


def _side(cluster: KafkaCluster, user: str = "admin") -> dict:
    info = cluster.listener("SASL_PLAINTEXT")
    return {"bootstrap_servers": info.bootstrap.split(","), "security_protocol": "SASL_PLAINTEXT",
            "sasl": {"mechanism": "SCRAM-SHA-256", "username": user, "password": info.users[user]}}


def _alter_quotas(cluster: KafkaCluster, entries: list[tuple[str, str, str, float | None]]) -> None:
    """(entity type, entity name, key, value or None to remove) through kafka-python's admin."""
    E = AlterClientQuotasRequest.EntryData
    request = AlterClientQuotasRequest(entries=[
        E(entity=[E.EntityData(entity_type=t, entity_name=n)],
          ops=[E.OpData(key=k, value=0.0 if v is None else v, remove=v is None)]) for t, n, k, v in entries],
        validate_only=False)
    admin = cluster.admin()
    response = admin._manager.run(lambda: admin._manager.send(request))
    assert all(e.error_code == 0 for e in response.entries), response


def _report(source: KafkaCluster, dest: KafkaCluster, topic: str, dest_user: str = "admin") -> Any:
    """ACL sync and its report; as a user other than admin only the report (it may not describe ACLs)."""
    cfg = parse_config({"source": _side(source), "destination": _side(dest, dest_user),
                        "topics": {"names": [topic]}})

    async def go():
        s, d = connect(cfg.source, "source"), connect(cfg.destination, "destination")
        try:
            if dest_user != "admin":
                return [], await report_access(s, d, ["User:bob"])
            return await sync_acls_and_report(s, d, {topic}, lambda g: False, ())
        finally:
            await s.close()
            await d.close()
    return asyncio.run(go())


def test_access_report_names_missing_users_and_quotas(authorizer_cluster, authz_few_users, topic_name):
    tag = topic_name[-8:]
    allow = ACLPermissionType.ALLOW
    authorizer_cluster.admin().create_acls([
        ACL("User:bob", "*", ACLOperation.READ, allow, ResourcePattern(ResourceType.TOPIC, topic_name)),
        ACL("User:alice", "*", ACLOperation.READ, allow, ResourcePattern(ResourceType.TOPIC, topic_name)),
    ])
    # alice keeps SCRAM-SHA-256 only on the destination
    assert authz_few_users.admin().alter_user_scram_credentials(
        [UserScramCredentialDeletion("alice", ScramMechanism.SCRAM_SHA_512)]) == {"alice": None}
    src_quotas = [("user", f"ghost-{tag}", "producer_byte_rate", 1048576.0),
                  ("client-id", f"app-{tag}", "consumer_byte_rate", 2048.0),
                  ("client-id", f"same-{tag}", "request_percentage", 50.0)]
    dst_quotas = [("client-id", f"app-{tag}", "consumer_byte_rate", 4096.0),
                  ("client-id", f"same-{tag}", "request_percentage", 50.0)]
    _alter_quotas(authorizer_cluster, src_quotas)
    _alter_quotas(authz_few_users, dst_quotas)
    try:
        created, report = _report(authorizer_cluster, authz_few_users, topic_name)
        refused_created, refused = _report(authorizer_cluster, authz_few_users, topic_name, dest_user="alice")
    finally:
        _alter_quotas(authorizer_cluster, [(t, n, k, None) for t, n, k, _ in src_quotas])
        _alter_quotas(authz_few_users, [(t, n, k, None) for t, n, k, _ in dst_quotas])
    assert sorted(b.principal for b in created) == ["User:alice", "User:bob"]
    assert report.principals == ["User:bob (source: SCRAM-SHA-256, SCRAM-SHA-512)"]   # alice has one there
    assert report.scram_users == ["alice: SCRAM-SHA-512 (the destination has SCRAM-SHA-256)",
                                  "bob (SCRAM-SHA-256, SCRAM-SHA-512)"]
    assert [q for q in report.quotas if tag in q] == [
        f"client-id=app-{tag} consumer_byte_rate=2048 (destination 4096)",
        f"user=ghost-{tag} producer_byte_rate=1.04858e+06 (none on the destination)"]
    assert report.not_checked == []
    text = "\n".join(report.lines())
    assert "secret" not in text     # names and mechanisms only
    # alice may not describe the destination's users or quotas: reported, not raised
    assert refused.not_checked == ["SCRAM users: not checked: the destination answered CLUSTER_AUTHORIZATION_FAILED",
                                   "client quotas: not checked: the destination answered CLUSTER_AUTHORIZATION_FAILED"]
    assert refused.principals == refused.scram_users == refused.quotas == []


def test_access_report_rules() -> None:
    sha256, sha512 = ScramCredentialInfo("SCRAM-SHA-256", 4096), ScramCredentialInfo("SCRAM-SHA-512", 4096)
    principals, users = compare_scram({"a": [sha256], "b": [sha256, sha512], "c": [sha512]},
                                      {"a": [sha256], "c": [sha256]},
                                      ["User:a", "User:b", "User:*", "Group:b", "User:nobody"])
    assert principals == ["User:b (source: SCRAM-SHA-256, SCRAM-SHA-512)"]
    assert users == ["b (SCRAM-SHA-256, SCRAM-SHA-512)", "c: SCRAM-SHA-512 (the destination has SCRAM-SHA-256)"]
    q = ClientQuotaEntry
    assert compare_quotas([q((("user", None),), {"producer_byte_rate": 10.0}),
                           q((("ip", "1.2.3.4"),), {"connection_creation_rate": 5.0}),
                           q((("client-id", "x"), ("user", "u")), {"request_percentage": 20.0})],
                          [q((("client-id", "x"), ("user", "u")), {"request_percentage": 20.0})]) == [
        "user=<default> producer_byte_rate=10 (none on the destination)"]
    view = render_report(StatusReport("l", [], access=["access: SCRAM user missing on the destination: b"]))
    assert "ACL sync (running linker):\n  access: SCRAM user missing on the destination: b\n" in view


def test_promote_prints_the_access_report(authorizer_cluster, authz_few_users, topic_name, capsys):
    """`linker promote` with sync_acls prints the report once, after the per-topic lines (an empty
    topic on both clusters: the mirror holds the source's end, no linker needs to run)."""
    from linker.lifecycle.cli_commands import run_command

    for c in (authorizer_cluster, authz_few_users):
        c.create_topic(topic_name)
    authorizer_cluster.admin().create_acls([ACL("User:bob", "*", ACLOperation.READ, ACLPermissionType.ALLOW,
                                                ResourcePattern(ResourceType.TOPIC, topic_name))])
    cfg = parse_config({"name": f"ar-{topic_name[-8:]}", "source": _side(authorizer_cluster),
                        "destination": _side(authz_few_users), "topics": {"names": [topic_name]},
                        "lifecycle": {"sync_acls": True}})
    assert run_command(cfg, "promote", [topic_name]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{topic_name}: STOPPED final offsets 0:0"), out
    assert "access: ACL principal without SCRAM credentials on the destination: User:bob " \
           "(source: SCRAM-SHA-256, SCRAM-SHA-512)" in out, out
    assert "access: SCRAM user missing on the destination: bob (SCRAM-SHA-256, SCRAM-SHA-512)" in out, out
