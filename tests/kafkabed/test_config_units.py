"""Pure checks of configuration rendering and argument validation (no JVM)."""
from __future__ import annotations

from pathlib import Path

import pytest

from kafkabed import KafkaCluster
from kafkabed.config import NodeLayout, render_properties, server_properties
from kafkabed.security import Users


def _props(**kw):
    nodes = [NodeLayout(i, {"CONTROLLER": 9000 + i, "INTERNAL": 9100 + i, "SASL_SSL": 9200 + i},
                        Path(f"/d{i}")) for i in (1, 2, 3)]
    args = dict(client_listeners=("SASL_SSL",), secure_internal=True, authorizer=True, users=Users(),
                tls=None, overrides={})
    args.update(kw)
    return server_properties(nodes[0], nodes, **args)


def test_three_node_quorum_and_replication():
    p = _props()
    assert p["controller.quorum.voters"] == "1@127.0.0.1:9001,2@127.0.0.1:9002,3@127.0.0.1:9003"
    assert p["offsets.topic.replication.factor"] == "3"
    assert p["transaction.state.log.min.isr"] == "2"
    assert "CONTROLLER" not in p["advertised.listeners"]


def test_secure_internal_uses_sasl_plain_everywhere():
    p = _props()
    assert p["listener.security.protocol.map"] == \
        "CONTROLLER:SASL_PLAINTEXT,INTERNAL:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"
    assert p["listener.name.controller.sasl.enabled.mechanisms"] == "PLAIN"
    assert 'user_alice="alice-secret"' in p["listener.name.sasl_ssl.plain.sasl.jaas.config"]
    assert "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config" in p
    assert p["super.users"] == "User:admin"


def test_overrides_win():
    assert _props(overrides={"num.partitions": "7"})["num.partitions"] == "7"


def test_extra_listener_gets_its_own_name_mapped_to_its_kind():
    nodes = [NodeLayout(1, {"CONTROLLER": 9001, "INTERNAL": 9101, "PLAINTEXT": 9201, "RELAY": 9301}, Path("/d1"))]
    p = server_properties(nodes[0], nodes, client_listeners=("PLAINTEXT",), secure_internal=False,
                          authorizer=False, users=Users(), tls=None, overrides={},
                          extra_listeners={"RELAY": "PLAINTEXT"})
    assert p["listener.security.protocol.map"].endswith("PLAINTEXT:PLAINTEXT,RELAY:PLAINTEXT")
    assert "RELAY://127.0.0.1:9301" in p["listeners"] and "RELAY://127.0.0.1:9301" in p["advertised.listeners"]


def test_extra_listener_is_reachable_by_name_but_not_the_default():
    cluster = KafkaCluster("unstarted", extra_listeners={"relay": "plaintext"})
    assert cluster.extra_listeners == {"RELAY": "PLAINTEXT"} and cluster._listener_name(None) == "PLAINTEXT"
    assert cluster._listener_name("relay") == "RELAY" and cluster._protocol("RELAY") == "PLAINTEXT"


def test_render_rejects_multiline_values():
    assert render_properties({"a": "b"}) == "a=b\n"
    with pytest.raises(ValueError, match="'evil'"):
        render_properties({"evil": "x\nauthorizer.class.name=y"})


def test_users_must_be_plain_words_and_include_admin():
    with pytest.raises(ValueError, match="'admin'"):
        Users({"alice": "a"})
    with pytest.raises(ValueError, match="plain words"):
        Users({"admin": 'pa"ss'})


@pytest.mark.parametrize("kwargs, message", [
    ({"nodes": 0}, "at least one node"),
    ({"listeners": "HTTP"}, "unknown listener 'HTTP'"),
    ({"listeners": ("SSL", "ssl")}, "distinct"),
    ({"listeners": ()}, "at least one client listener"),
    ({"version": "0.8.2"}, "unknown Kafka version"),
    ({"extra_listeners": {"RELAY": "HTTP"}}, "extra listener 'RELAY': unknown kind 'HTTP'"),
    ({"extra_listeners": {"SSL": "PLAINTEXT"}}, "extra listener name 'SSL' must be a new name"),
    ({"extra_listeners": {"a-b": "PLAINTEXT"}}, "extra listener name 'A-B' must be a new name"),
])
def test_cluster_arguments_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        KafkaCluster("bad", **kwargs)
