"""From a link's cluster settings to a `linker.client.Client`.

The adapter lives above `linker.client` (which must not import the settings)
and below everything that talks to a cluster.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from linker.client import Client, ClientConfig, WriteGate
from linker.settings import ClusterSettings, LinkConfig


def client_config(s: ClusterSettings, client_id: str | None = None, write_gate: WriteGate | None = None
                  ) -> ClientConfig:
    """The client configuration for one cluster of a link (``write_gate``: a scale-out member's lease)."""
    return ClientConfig(client_id=client_id or s.client_id, write_gate=write_gate,
                        security=s.security,
                        request_timeout=s.request_timeout_ms / 1000,
                        # Two per broker: a long-polling fetch must not hold up the
                        # ListOffsets/metadata/audit requests queued behind it.
                        connections_per_broker=2)


def connect(s: ClusterSettings, label: str, client_id: str | None = None,
            write_gate: WriteGate | None = None) -> Client:
    """A client for one cluster of a link, not yet started (the caller closes it)."""
    return Client(list(s.bootstrap_servers), client_config(s, client_id, write_gate), label=label)


@asynccontextmanager
async def both_clusters(config: LinkConfig, purpose: str) -> AsyncIterator[tuple[Client, Client]]:
    """Clients for a link's source and destination (client ids ``<id>-<purpose>``), closed after."""
    source = connect(config.source, "source", f"{config.source.client_id}-{purpose}")
    dest = connect(config.destination, "destination", f"{config.destination.client_id}-{purpose}")
    try:
        yield source, dest
    finally:
        await source.close()
        await dest.close()
