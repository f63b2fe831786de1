"""Changing topic and broker configs on a running cluster."""
from __future__ import annotations

import pytest
from kafka.admin import ConfigResource

from kafkabed import ClusterError


def _described(cluster, kind: str, name: str, key: str) -> str | None:
    result = cluster.admin().describe_configs([ConfigResource(kind, name)])
    entry = result[kind.lower()][name].get(key)
    return entry["value"] if entry else None


def test_topic_config_set_and_delete(destination, topic_name):
    destination.create_topic(topic_name, configs={"compression.type": "producer"})
    destination.set_topic_config(topic_name, {"retention.ms": 123456, "max.message.bytes": 2_000_000})
    assert _described(destination, "TOPIC", topic_name, "retention.ms") == "123456"
    destination.set_topic_config(topic_name, {"retention.ms": None})
    assert _described(destination, "TOPIC", topic_name, "retention.ms") is None  # back to default
    assert _described(destination, "TOPIC", topic_name, "max.message.bytes") == "2000000"


def test_broker_config_per_node_and_cluster_default(destination):
    destination.set_broker_config({"log.cleaner.backoff.ms": 2000}, node_id=1)
    assert _described(destination, "BROKER", "1", "log.cleaner.backoff.ms") == "2000"
    destination.set_broker_config({"log.cleaner.backoff.ms": None}, node_id=1)
    destination.set_broker_config({"message.max.bytes": 3_000_000})  # cluster-wide default
    try:
        desc = destination.admin().describe_configs([ConfigResource("BROKER", "1")], config_filter="all")
        entry = desc["broker"]["1"]["message.max.bytes"]
        assert entry["value"] == "3000000" and entry["config_source"] == "DYNAMIC_DEFAULT_BROKER_CONFIG"
    finally:
        destination.set_broker_config({"message.max.bytes": None})


def test_bad_config_is_named(destination, topic_name):
    destination.create_topic(topic_name)
    with pytest.raises(ClusterError, match="no.such.setting"):
        destination.set_topic_config(topic_name, {"no.such.setting": 1})
    with pytest.raises(ValueError, match="no node 7"):
        destination.kill(7)
