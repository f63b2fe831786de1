"""Failback fences writes on the old source at once (DENY WRITE User:*, with manage_acls and an
authorizer on the old cluster): a client that could write its topic is refused from the first
failback on, also on the recreated topic, and may write again after the reverse promote."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kafkabed.producers import produce
from kafka.admin import ACL, ACLOperation, ACLPermissionType, ResourcePattern, ResourceType
from linker.lifecycle.failback import Failback, FailbackError
from linker.lifecycle.records import TopicState
from linker.lifecycle.reverse_link import reverse_document
from linker.settings import parse_config

from .helpers import Linker, command
from .test_lifecycle_acls import alice_writes


def forward_doc(authorizer_cluster, destination, topic: str) -> dict[str, Any]:
    info = authorizer_cluster.listener("SASL_PLAINTEXT")
    return {
        "name": f"ff-{topic[-8:]}",
        "source": {"bootstrap_servers": info.bootstrap.split(","), "security_protocol": "SASL_PLAINTEXT",
                   "sasl": {"mechanism": "SCRAM-SHA-256", "username": "admin", "password": info.users["admin"]}},
        "destination": {"bootstrap_servers": destination.bootstrap.split(",")},
        "topics": {"names": [topic]},
        "mirror": {"fetch_max_wait_ms": 100, "metadata_refresh_ms": 1000},
        "lifecycle": {"state_poll_ms": 300, "offset_sync_interval_ms": 1000, "manage_acls": True},
    }


def failback(cfg, topic: str, **kw: Any):
    async def go():
        fb = Failback(cfg)
        try:
            return await fb.run([topic], **kw)
        finally:
            await fb.close()
    return asyncio.run(go())


def test_failback_fences_the_old_source(authorizer_cluster, destination, topic_name):
    from kafka.errors import TopicAuthorizationFailedError
    authorizer_cluster.create_topic(topic_name, partitions=1)
    authorizer_cluster.admin().create_acls([ACL(
        principal="User:alice", host="*", operation=ACLOperation.ALL, permission_type=ACLPermissionType.ALLOW,
        resource_pattern=ResourcePattern(ResourceType.TOPIC, topic_name))])
    for i in range(10):
        assert alice_writes(authorizer_cluster, topic_name) == i
    doc = forward_doc(authorizer_cluster, destination, topic_name)
    fwd = parse_config(doc)
    with Linker(fwd) as linker:
        linker.wait(lambda: linker.acked(topic_name).get(0) == 10, why="caught up")
        [r] = command(fwd, "failover", [topic_name])
    assert r.offsets == {0: 10}
    # The old source is still taking writes the mirror never gets.
    assert [alice_writes(authorizer_cluster, topic_name) for _ in range(5)] == [10, 11, 12, 13, 14]
    produce(destination, topic_name, 7, idempotent=True)

    report = failback(fwd, topic_name)
    assert report.fence.startswith("fence: DENY WRITE User:*") and report.refusal
    assert [d.lost for d in report.topics[0].diffs] == [5]
    with pytest.raises(TopicAuthorizationFailedError):
        alice_writes(authorizer_cluster, topic_name)

    report = failback(fwd, topic_name, recreate=True)
    assert report.topics[0].action == "recreated" and report.refusal is None
    with pytest.raises(TopicAuthorizationFailedError):   # the ACL is by name: it outlives the topic
        alice_writes(authorizer_cluster, topic_name)

    rev = parse_config(reverse_document(doc, [topic_name]))
    with Linker(rev) as back:
        # (exactness of the reverse mirror is judged in test_lifecycle_failback.py; the checker reads plaintext only)
        back.wait(lambda: back.acked(topic_name).get(0) == 17, why="mirrored back")
        with pytest.raises(TopicAuthorizationFailedError):   # read-only while the reverse link mirrors
            alice_writes(authorizer_cluster, topic_name)
        [b] = command(rev, "promote", [topic_name])
    assert b.state is TopicState.STOPPED and b.offsets == {0: 17}
    assert alice_writes(authorizer_cluster, topic_name) == 17


def test_failback_refuses_to_fence_when_acls_bind_the_linker(authorizer_cluster, destination, topic_name):
    """A DENY WRITE User:* binds a linker that is not a super user: it would refuse the reverse link too."""
    from kafka.admin import ACLFilter
    from .test_lifecycle_fence import LINKER, linker_rights
    authorizer_cluster.create_topic(topic_name, partitions=1)
    admin = authorizer_cluster.admin()
    rights = linker_rights(f"User:{LINKER}")
    admin.create_acls(rights)
    try:
        doc = forward_doc(authorizer_cluster, destination, topic_name)
        doc["source"]["sasl"] = {"mechanism": "SCRAM-SHA-256", "username": LINKER,
                                 "password": authorizer_cluster.listener("SASL_PLAINTEXT").users[LINKER]}
        fwd = parse_config(doc)
        with Linker(fwd) as linker:
            linker.wait(lambda: linker.acked(topic_name).get(0) == 0, why="mirror created")
            command(fwd, "failover", [topic_name])
        with pytest.raises(FailbackError, match=rf"principal on the old source \(User:{LINKER}\) is not a super user"):
            failback(fwd, topic_name)
        report = failback(fwd, topic_name, fence=False)
        assert "NOT fenced" in report.fence and report.topics[0].action == "reused"
    finally:
        admin.delete_acls([ACLFilter(principal=a.principal, host=a.host, operation=a.operation,
                                     permission_type=a.permission_type, resource_pattern=a.resource_pattern)
                           for a in rights])
