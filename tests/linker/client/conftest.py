"""A SASL cluster whose brokers expire sessions quickly, for KIP-368 re-authentication."""
from __future__ import annotations

from typing import Iterator

import pytest

from kafkabed import KafkaCluster

REAUTH_MS = 3000


@pytest.fixture(scope="session")
def reauth_cluster() -> Iterator[KafkaCluster]:
    """1 node, SASL_PLAINTEXT, connections.max.reauth.ms=3000 (started only if asked for)."""
    cluster = KafkaCluster(name="reauth", listeners=("SASL_PLAINTEXT",),
                           broker_config={"connections.max.reauth.ms": REAUTH_MS})
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
