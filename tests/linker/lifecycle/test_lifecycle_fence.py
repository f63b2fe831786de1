"""Promote fences the linker itself (issue 21, finding 2): with `manage_acls` and a linker whose
destination principal ACLs bind (not a super user), promote adds DENY WRITE for that principal on
the promoted mirror topic before STOPPED is recorded. A stale linker (a paused process resumed, a
partitioned old owner) producing as that principal is refused by the broker, while the running
linker keeps mirroring its other topics and writing its state topic."""
from __future__ import annotations

import pytest
from kafka.admin import ACL, ACLFilter, ACLOperation, ACLPermissionType, ResourcePattern, ResourceType

from kafkabed.producers import produce
from linker.lifecycle.records import TopicState
from linker.settings import parse_config

from .helpers import Linker, command

LINKER = "bob"   # a plain user of the authorizer cluster (admin is its super user)


def linker_rights(principal: str) -> list[ACL]:
    """What a non-super-user linker needs: the cluster (create topics and ACLs), every topic, every group."""
    return [ACL(principal=principal, host="*", operation=ACLOperation.ALL, permission_type=ACLPermissionType.ALLOW,
                resource_pattern=ResourcePattern(rtype, name))
            for rtype, name in ((ResourceType.CLUSTER, "kafka-cluster"), (ResourceType.TOPIC, "*"),
                                (ResourceType.GROUP, "*"))]


def writes_as_linker(cluster, topic: str) -> int:
    """One record produced with the linker's credentials (what a stale linker would do); its offset."""
    from kafka import KafkaProducer
    p = KafkaProducer(acks="all", enable_idempotence=False, retries=0, max_block_ms=10_000,
                      **cluster.kafka_python_config(listener="SASL_PLAINTEXT", user=LINKER))
    try:
        return p.send(topic, b"stale linker").get(timeout=10).offset
    finally:
        p.close(timeout=2)


def test_promote_and_failover_deny_the_linkers_own_writes(source, authorizer_cluster, topic_name):
    from kafka.errors import TopicAuthorizationFailedError
    promoted, failed_over, kept = f"{topic_name}-p", f"{topic_name}-f", f"{topic_name}-k"
    for t in (promoted, failed_over, kept):
        source.create_topic(t, partitions=1)
        produce(source, t, 20)
    info = authorizer_cluster.listener("SASL_PLAINTEXT")
    cfg = parse_config({
        "name": f"fence-{topic_name[-8:]}",
        "source": {"bootstrap_servers": source.bootstrap.split(",")},
        "destination": {"bootstrap_servers": info.bootstrap.split(","), "security_protocol": "SASL_PLAINTEXT",
                        "sasl": {"mechanism": "SCRAM-SHA-256", "username": LINKER,
                                 "password": info.users[LINKER]}},
        "topics": {"names": [promoted, failed_over, kept]},
        "mirror": {"fetch_max_wait_ms": 100, "metadata_refresh_ms": 1000},
        "lifecycle": {"state_poll_ms": 300, "manage_acls": True},
    })
    admin = authorizer_cluster.admin()
    rights = linker_rights(f"User:{LINKER}")
    admin.create_acls(rights)
    try:
        with Linker(cfg) as linker:
            linker.wait(lambda: all(linker.acked(t).get(0) == 20 for t in (promoted, failed_over, kept)),
                        why="catch up as a non-super-user linker")
            [r] = command(cfg, "promote", [promoted])
            assert r.state is TopicState.STOPPED and r.offsets == {0: 20}
            with pytest.raises(TopicAuthorizationFailedError):
                writes_as_linker(authorizer_cluster, promoted)
            [f] = command(cfg, "failover", [failed_over])
            assert f.state is TopicState.STOPPED and f.offsets == {0: 20}
            with pytest.raises(TopicAuthorizationFailedError):
                writes_as_linker(authorizer_cluster, failed_over)
            produce(source, kept, 10)
            linker.wait(lambda: linker.acked(kept).get(0) == 30, why="the other mirror goes on after promote")
            [p] = command(cfg, "pause", [kept])
            assert p.state is TopicState.PAUSED and p.note == ""   # the linker's beat changes: its state writes go on
    finally:
        admin.delete_acls([ACLFilter(principal=a.principal, host=a.host, operation=a.operation,
                                     permission_type=a.permission_type, resource_pattern=a.resource_pattern)
                           for a in rights])
