"""KIP-368: re-authenticate before the broker's session lifetime ends, under load."""
from __future__ import annotations

import asyncio
import time

import pytest

from kproto import messages
from linker.client import (BrokerConnection, ClientConfig, SaslCredentials, SecurityConfig, run)
from linker.client.config import parse_address

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
def test_reauthentication_keeps_a_busy_connection_alive(reauth_cluster, mechanism: str) -> None:
    reauth_ms = int(reauth_cluster.broker_config["connections.max.reauth.ms"])
    info = reauth_cluster.listener("SASL_PLAINTEXT")
    host, port = parse_address(info.bootstrap.split(",")[0])
    config = ClientConfig(security=SecurityConfig(
        "SASL_PLAINTEXT", sasl=SaslCredentials(mechanism, "bob", info.users["bob"])))

    async def main() -> None:
        connection = await BrokerConnection.open(host, port, config)
        M = messages.MetadataRequest
        done = 0
        stop = time.monotonic() + 2.5 * reauth_ms / 1000

        async def worker(i: int) -> None:
            nonlocal done
            while time.monotonic() < stop:
                response = await connection.request(
                    M(topics=[M.MetadataRequestTopic(name=f"w{i}")], allow_auto_topic_creation=False))
                assert response.topics[0].name == f"w{i}"
                done += 1
                await asyncio.sleep(0.01)
        try:
            await asyncio.gather(*(worker(i) for i in range(8)))
            assert not connection.closed
            assert connection.reauthentications >= 2, connection.reauthentications
            assert done > 100
        finally:
            await connection.aclose()
    run(main())
