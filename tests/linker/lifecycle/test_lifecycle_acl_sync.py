"""ACL sync between two clusters with an authorizer: literal topic and group ACLs of
the mirror are created on the destination; prefixed and unrelated ones are not."""
from __future__ import annotations

import asyncio

import pytest
from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern, ResourceType

from kafkabed import KafkaCluster
from linker.settings import parse_config
from linker.lifecycle.acl_sync import describe_acls, sync_acls
from linker.connect import connect


@pytest.fixture(scope="module")
def authz_destination():
    c = KafkaCluster(name="authz-dst", listeners=("SASL_PLAINTEXT",), authorizer=True)
    try:
        c.start()
        yield c
    finally:
        c.stop()


def _side(cluster) -> dict:
    info = cluster.listener("SASL_PLAINTEXT")
    return {"bootstrap_servers": info.bootstrap.split(","), "security_protocol": "SASL_PLAINTEXT",
            "sasl": {"mechanism": "SCRAM-SHA-256", "username": "admin", "password": info.users["admin"]}}


def test_acl_sync(authorizer_cluster, authz_destination, topic_name):
    allow = ACLPermissionType.ALLOW
    authorizer_cluster.admin().create_acls([
        ACL("User:alice", "*", ACLOperation.READ, allow, ResourcePattern(ResourceType.TOPIC, topic_name)),
        ACL("User:alice", "*", ACLOperation.READ, allow, ResourcePattern(ResourceType.GROUP, f"app-{topic_name}")),
        ACL("User:bob", "*", ACLOperation.WRITE, allow,
            ResourcePattern(ResourceType.TOPIC, topic_name[:10], ACLResourcePatternType.PREFIXED)),
        ACL("User:alice", "*", ACLOperation.READ, allow, ResourcePattern(ResourceType.TOPIC, f"other-{topic_name}")),
    ])
    cfg = parse_config({"source": _side(authorizer_cluster), "destination": _side(authz_destination),
                        "topics": {"names": [topic_name]}})

    async def go():
        s, d = connect(cfg.source, "source"), connect(cfg.destination, "destination")
        try:
            first = await sync_acls(s, d, {topic_name}, lambda g: g.startswith("app-"), ())
            again = await sync_acls(s, d, {topic_name}, lambda g: g.startswith("app-"), ())
            return first, again, await describe_acls(d)
        finally:
            await s.close()
            await d.close()
    first, again, on_dest = asyncio.run(go())
    assert sorted((b.resource_type, b.resource_name, b.principal) for b in first) == [
        (2, topic_name, "User:alice"), (3, f"app-{topic_name}", "User:alice")]
    assert again == []   # already there: nothing created twice
    assert sorted((b.resource_name, b.principal) for b in on_dest if topic_name in b.resource_name) == sorted(
        [(topic_name, "User:alice"), (f"app-{topic_name}", "User:alice")])


def test_acl_sync_keeps_mirrors_read_only(authorizer_cluster, authz_destination, topic_name):
    """Issue 21, finding 10: ALLOW WRITE dropped, ALLOW ALL mapped to READ (MirrorMaker 2's rule),
    prefixed topic ACLs covering a mirror topic and transactional-id ACLs copied; once the topic
    is promoted its source ACLs are copied unchanged."""
    allow, prefixed = ACLPermissionType.ALLOW, ACLResourcePatternType.PREFIXED
    authorizer_cluster.admin().create_acls([
        ACL("User:alice", "*", ACLOperation.WRITE, allow, ResourcePattern(ResourceType.TOPIC, topic_name)),
        ACL("User:carol", "*", ACLOperation.ALL, allow, ResourcePattern(ResourceType.TOPIC, topic_name)),
        ACL("User:dave", "*", ACLOperation.READ, allow, ResourcePattern(ResourceType.TOPIC, topic_name[:-3], prefixed)),
        ACL("User:dave", "*", ACLOperation.ALL, allow, ResourcePattern(ResourceType.TOPIC, f"nomirror-{topic_name}",
                                                                       prefixed)),
        ACL("User:erin", "*", ACLOperation.WRITE, allow,
            ResourcePattern(ResourceType.TRANSACTIONAL_ID, f"tx-{topic_name}", prefixed)),
    ])
    cfg = parse_config({"source": _side(authorizer_cluster), "destination": _side(authz_destination),
                        "topics": {"names": [topic_name]}})

    async def go():
        s, d = connect(cfg.source, "source"), connect(cfg.destination, "destination")
        try:
            await sync_acls(s, d, {topic_name}, lambda g: False, ())
            mirrored = await describe_acls(d)
            await sync_acls(s, d, set(), lambda g: False, (), promoted={topic_name})
            return mirrored, await describe_acls(d)
        finally:
            await s.close()
            await d.close()
    mirrored, promoted = asyncio.run(go())

    def mine(bindings):
        return sorted((b.principal, b.resource_name, b.pattern_type.name, b.operation.name)
                      for b in bindings if topic_name[:-3] in b.resource_name)
    assert mine(mirrored) == [("User:carol", topic_name, "LITERAL", "READ"),
                              ("User:dave", topic_name[:-3], "PREFIXED", "READ"),
                              ("User:erin", f"tx-{topic_name}", "PREFIXED", "WRITE")]
    assert mine(promoted) == sorted(mine(mirrored) + [("User:alice", topic_name, "LITERAL", "WRITE"),
                                                      ("User:carol", topic_name, "LITERAL", "ALL")])
