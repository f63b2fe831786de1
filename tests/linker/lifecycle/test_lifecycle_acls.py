"""Read-only mirrors with an authorizer on the destination: another principal with an
ALLOW WRITE cannot write an ACTIVE mirror (the linker's DENY WRITE User:*), and can after promote."""
from __future__ import annotations

import pytest
from kafka.admin import ACL, ACLOperation, ACLPermissionType, ResourcePattern, ResourceType

from kafkabed.producers import produce
from linker.settings import parse_config
from linker.lifecycle.records import TopicState

from .helpers import Linker, command


def alice_writes(cluster, topic: str) -> int:
    """One non-idempotent record as alice; its offset, or raises the authorization error."""
    from kafka import KafkaProducer
    p = KafkaProducer(acks="all", enable_idempotence=False, retries=0, max_block_ms=10_000,
                      **cluster.kafka_python_config(listener="SASL_PLAINTEXT", user="alice"))
    try:
        return p.send(topic, b"alice").get(timeout=10).offset
    finally:
        p.close(timeout=2)


def acl_link(source, authorizer_cluster, topic_name: str, poll_ms: int = 300):
    info = authorizer_cluster.listener("SASL_PLAINTEXT")
    return parse_config({
        "name": f"acl-{topic_name[-8:]}",
        "source": {"bootstrap_servers": source.bootstrap.split(",")},
        "destination": {"bootstrap_servers": info.bootstrap.split(","), "security_protocol": "SASL_PLAINTEXT",
                        "sasl": {"mechanism": "SCRAM-SHA-256", "username": "admin",
                                 "password": info.users["admin"]}},
        "topics": {"names": [topic_name]},
        "mirror": {"fetch_max_wait_ms": 100, "metadata_refresh_ms": 1000},
        "lifecycle": {"state_poll_ms": poll_ms, "manage_acls": True},
    })


def test_active_mirror_refuses_other_principals_until_promoted(source, authorizer_cluster, topic_name):
    from kafka.errors import TopicAuthorizationFailedError
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 20)
    cfg = acl_link(source, authorizer_cluster, topic_name)
    authorizer_cluster.admin().create_acls([ACL(
        principal="User:alice", host="*", operation=ACLOperation.ALL, permission_type=ACLPermissionType.ALLOW,
        resource_pattern=ResourcePattern(ResourceType.TOPIC, topic_name))])
    with Linker(cfg) as linker:
        linker.wait(lambda: linker.acked(topic_name).get(0) == 20, why="catch up")
        linker.wait(lambda: topic_name in linker.controller.denied, why="DENY in place")
        with pytest.raises(TopicAuthorizationFailedError):
            alice_writes(authorizer_cluster, topic_name)
        [r] = command(cfg, "promote", [topic_name])
    assert r.state is TopicState.STOPPED and r.offsets == {0: 20}
    assert alice_writes(authorizer_cluster, topic_name) == 20


def test_deny_is_in_place_before_the_mirror_topic_exists(source, authorizer_cluster, topic_name):
    """The DENY is added before the engine creates the topic, not at the next state poll (made
    30 s here): whenever the topic can be seen on the destination, the DENY is already there."""
    from kafka.admin import ACLFilter
    source.create_topic(topic_name, partitions=1)
    cfg = acl_link(source, authorizer_cluster, topic_name, poll_ms=30_000)
    admin = authorizer_cluster.admin()
    deny = ACLFilter(principal="User:*", host="*", operation=ACLOperation.WRITE,
                     permission_type=ACLPermissionType.DENY,
                     resource_pattern=ResourcePattern(ResourceType.TOPIC, topic_name))
    with Linker(cfg) as linker:
        linker.wait(lambda: topic_name in admin.list_topics(), why="mirror topic created")
        acls, error = admin.describe_acls(deny)
        assert len(acls) == 1, (acls, error)
