"""The StandardAuthorizer option: the super user may do anything, others need ACLs."""
from __future__ import annotations

import pytest
from kafka.admin import ACL, ACLOperation, ACLPermissionType, ResourcePattern, ResourceType
from kafka.errors import KafkaError

from kafkabed.producers import consume, produce


def test_acls_gate_non_super_users(authorizer_cluster, topic_name):
    c = authorizer_cluster
    c.create_topic(topic_name)
    # admin is the super user: no ACL needed
    produce(c, topic_name, 3, user="admin", mechanism="SCRAM-SHA-256")
    with pytest.raises(KafkaError):
        produce(c, topic_name, 1, user="alice", timeout=10)

    c.admin().create_acls([ACL(principal="User:alice", host="*", operation=ACLOperation.ALL,
                               permission_type=ACLPermissionType.ALLOW,
                               resource_pattern=ResourcePattern(ResourceType.TOPIC, topic_name))])
    produced = produce(c, topic_name, 3, user="alice", listener="SASL_SSL", client="confluent")
    got = consume(c, topic_name, 6, user="alice", listener="SASL_SSL", client="confluent")
    assert [x.value for x in got][3:] == [r.value for r in produced.records]
