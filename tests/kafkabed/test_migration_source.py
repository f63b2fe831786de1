"""The pinned 3.9.x broker runs too (3.9 source -> 4.x destination migrations)."""
from __future__ import annotations

import pytest

from kafkabed import MIGRATION_SOURCE
from kafkabed.probe import broker_view, ProbeConnection
from kafkabed.producers import consume, produce


@pytest.mark.parametrize("client", ["kafka-python", "confluent"])
def test_produce_consume_on_39(source39, topic_name, client):
    assert source39.version == MIGRATION_SOURCE
    source39.create_topic(topic_name)
    produced = produce(source39, topic_name, 10, client=client, compression="lz4")
    assert [c.value for c in consume(source39, topic_name, 10, client=client)] == [
        r.value for r in produced.records]


def test_39_and_41_speak_different_protocol_ranges(source39, destination):
    """A cheap check that the two fixtures really run different brokers:
    Fetch v17 (KIP-1005 removed replica_id in v15; v17 added in 4.0) exists only on 4.x."""
    def fetch_max(cluster) -> int:
        b = cluster.brokers[0]
        with ProbeConnection(b.host, b.ports["PLAINTEXT"]) as conn:
            return conn.api_versions()[1][1]
    assert fetch_max(source39) < fetch_max(destination)
    assert [x.node_id for x in broker_view("127.0.0.1", source39.brokers[0].ports["PLAINTEXT"])] == [1]
