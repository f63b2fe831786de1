"""From a link's cluster settings to a `linker.client.Client`.

The adapter lives above `linker.client` (which must not import the settings)
and below everything that talks to a cluster.
"""
from __future__ import annotations

from linker.client import Client, ClientConfig
from linker.settings import ClusterSettings


def client_config(s: ClusterSettings, client_id: str | None = None) -> ClientConfig:
    """The client configuration for one cluster of a link."""
    return ClientConfig(client_id=client_id or s.client_id,
                        security=s.security,
                        request_timeout=s.request_timeout_ms / 1000,
                        # Two per broker: a long-polling fetch must not hold up the
                        # ListOffsets/metadata/audit requests queued behind it.
                        connections_per_broker=2)


def connect(s: ClusterSettings, label: str, client_id: str | None = None) -> Client:
    """A client for one cluster of a link, not yet started (the caller closes it)."""
    return Client(list(s.bootstrap_servers), client_config(s, client_id), label=label)
