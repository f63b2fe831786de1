"""The pinned 3.9.x broker runs too (3.9 source -> 4.x destination migrations)."""
from __future__ import annotations

import pytest

from kafkabed import MIGRATION_SOURCE
from kafkabed.producers import consume, produce


@pytest.mark.parametrize("client", ["kafka-python", "confluent"])
def test_produce_consume_on_39(source39, topic_name, client):
    assert source39.version == MIGRATION_SOURCE
    source39.create_topic(topic_name)
    produced = produce(source39, topic_name, 10, client=client, compression="lz4")
    assert [c.value for c in consume(source39, topic_name, 10, client=client)] == [
        r.value for r in produced.records]
