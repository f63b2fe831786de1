"""The link file's clusters and `[proxy]` table as the proxy server's own config."""
from __future__ import annotations

import dataclasses

from linker.proxy.config import (DESTINATION_EPOCH_SHIFT, LinkerIdentity, ListenTls, PortMapping, ProxyConfig,
                                 UpstreamConfig)
from linker.settings import ClusterSettings, LinkConfig, ProxySettings


def upstream_of(cluster: ClusterSettings, name: str, epoch_generation: int = 0, topic_prefix: str = "") -> UpstreamConfig:
    """The proxy's view of one side of the link: the link's whole security (its client
    certificate too) for the proxy's own admin connections; for the connections that carry
    clients, only how to verify the brokers (never the link's identity, issue 17.1). The
    destination's leader epochs are shown shifted (before or after a switch, so a restarted
    proxy shows the same ones): a client never sees them go backwards (linker/proxy/epochs.py).
    A failback's reverse link is one `epoch_generation` up: its source (the forward destination)
    keeps the shift clients saw, its destination gets the next one. A `topics.prefix` link's
    destination names the topics `topic_prefix + name`: the proxy renames them (rename.py)."""
    security = cluster.security
    tls = security.tls if security.protocol.uses_tls else None
    if tls is not None:
        tls = dataclasses.replace(tls, cert_file=None, key_file=None, key_password=None)
    return UpstreamConfig(name=name, bootstrap=",".join(cluster.bootstrap_servers), tls=tls,
                          admin_security=security,
                          epoch_shift=(epoch_generation + (name == "destination")) * DESTINATION_EPOCH_SHIFT,
                          topic_prefix=topic_prefix if name == "destination" else "")


def proxy_settings(config: LinkConfig) -> ProxySettings:
    if config.proxy is None:
        raise ValueError("the link file has no [proxy] table")
    return config.proxy


def proxy_config(config: LinkConfig) -> ProxyConfig:
    s = proxy_settings(config)
    upstream = upstream_of(config.source if s.front == "source" else config.destination, s.front,
                           s.epoch_generation, config.topics.prefix)
    return ProxyConfig(upstream=upstream, bind_host=s.listen_host, advertised_host=s.advertise,
                       bootstrap_port=s.listen_port, ports=PortMapping(dict(s.broker_ports), s.port_base),
                       listen_tls=ListenTls(s.tls_cert, s.tls_key) if s.tls_cert else None,
                       fetch_node_endpoints=s.fetch_node_endpoints,
                       allow_plaintext_clients=s.allow_plaintext_clients,
                       allow_sasl_plain_over_plaintext=s.allow_sasl_plain_over_plaintext,
                       max_connections=s.max_connections, max_connections_per_address=s.max_connections_per_address,
                       linker_identity=linker_identity(config))


def linker_identity(config: LinkConfig) -> LinkerIdentity:
    """The linker's SASL users and client ids on both clusters (a proxy fronts either)."""
    clusters = (config.source, config.destination)
    return LinkerIdentity(frozenset(c.sasl.username for c in clusters if c.sasl is not None),
                          frozenset(c.client_id for c in clusters))
