"""Proxy settings: where to listen, what to front, and the per-connection bounds.

Pass-through connections to the brokers carry the clients' own SASL exchange,
so the proxy itself only needs TLS settings for them: trust anchors only, never
a client certificate (the proxy would present one identity for every client,
issue 17.1). `admin_security` is for the proxy's own metadata and cutover calls
and is never lent to a client.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from linker.client.config import SecurityConfig, SecurityProtocol, TlsSettings, parse_bootstrap


@dataclasses.dataclass(frozen=True)
class ListenTls:
    """The certificate and key the proxy shows to clients."""

    cert_file: str
    key_file: str
    key_password: str | None = dataclasses.field(default=None, repr=False)


#: The shift of a link's destination's leader epochs: above any epoch a source reaches (one
#: per leader change: 2**24 is a change a minute for 30 years), far below int32's end.
DESTINATION_EPOCH_SHIFT = 1 << 24
MAX_EPOCH_SHIFT = 1 << 30


@dataclasses.dataclass(frozen=True)
class UpstreamConfig:
    """One Kafka cluster the proxy can front."""

    name: str
    bootstrap: str
    tls: TlsSettings | None = None
    admin_security: SecurityConfig | None = None
    #: added to every leader epoch this cluster shows clients (linker/proxy/epochs.py): a link's
    #: destination gets DESTINATION_EPOCH_SHIFT, so epochs never go backwards at a switch
    epoch_shift: int = 0
    #: this cluster names the link's topics `topic_prefix + name` (a `topics.prefix` link's
    #: destination): the proxy renames them both ways (rename.py)
    topic_prefix: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("upstream cluster needs a name")
        if not 0 <= self.epoch_shift <= MAX_EPOCH_SHIFT:
            raise ValueError(f"upstream {self.name}: epoch_shift {self.epoch_shift} is outside 0..{MAX_EPOCH_SHIFT}")
        parse_bootstrap(self.bootstrap)  # raises with the bad address named
        if self.tls is not None and self.tls.cert_file is not None:
            raise ValueError(
                f"upstream {self.name}: the TLS settings for client connections carry a client certificate "
                f"({self.tls.cert_file}); the proxy would present it for every client it serves. Give the "
                "client connections only the CA (ca_file), and the certificate to admin_security")

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return parse_bootstrap(self.bootstrap)

    def admin_config(self) -> SecurityConfig:
        """Security of the proxy's own connections (PLAINTEXT/SSL unless credentials are given)."""
        if self.admin_security is not None:
            return self.admin_security
        if self.tls is not None:
            return SecurityConfig(protocol=SecurityProtocol.SSL, tls=self.tls)
        return SecurityConfig()


@dataclasses.dataclass(frozen=True)
class PortMapping:
    """Which local port serves which upstream broker.

    `fixed` wins; else `base + node_id` when `base` is set; else an ephemeral
    port chosen by the kernel (stable for the proxy's lifetime).
    """

    fixed: Mapping[int, int] = dataclasses.field(default_factory=dict)
    base: int | None = None

    def __post_init__(self) -> None:
        for node, port in self.fixed.items():
            if not 0 < port < 65536:
                raise ValueError(f"port {port} for broker {node} is outside 1..65535")
        if self.base is not None and not 0 < self.base < 65536:
            raise ValueError(f"port base {self.base} is outside 1..65535")

    def port_for(self, node_id: int) -> int:
        if node_id in self.fixed:
            return self.fixed[node_id]
        if self.base is not None:
            port = self.base + node_id
            if not 0 < port < 65536:
                raise ValueError(f"port base {self.base} + broker id {node_id} is outside 1..65535")
            return port
        return 0


@dataclasses.dataclass(frozen=True)
class LinkerIdentity:
    """Who the link's linker is on the clusters (identity_guard.py protects it): its SASL
    users, and the client ids it connects with (``client_id`` itself or ``client_id-...``)."""

    users: frozenset[str] = frozenset()
    client_ids: frozenset[str] = frozenset()

    def owns_client_id(self, name: str) -> bool:
        return any(name == c or name.startswith(c + "-") for c in self.client_ids)

    def __bool__(self) -> bool:
        return bool(self.users or self.client_ids)


@dataclasses.dataclass(frozen=True)
class ProxyConfig:
    upstream: UpstreamConfig
    bind_host: str = "127.0.0.1"
    advertised_host: str | None = None
    bootstrap_port: int = 0
    ports: PortMapping = PortMapping()
    listen_tls: ListenTls | None = None
    max_request_size: int = 100 * 1024 * 1024      # the broker's socket.request.max.bytes
    #: A frame the proxy must hold (to decode it) before the client has authenticated: the
    #: broker's sasl.server.max.receive.size, which caps every frame before and during SASL.
    max_preauth_request_size: int = 512 * 1024
    max_response_size: int = 512 * 1024 * 1024
    max_in_flight: int = 256                      # requests per client connection
    partial_frame_timeout: float = 30.0           # a frame started must finish within this
    idle_timeout: float = 600.0                   # the broker's connections.max.idle.ms
    connect_timeout: float = 10.0
    #: Client connections at once, in total and from one address; more are closed at accept
    #: (with a log line). Each costs at most one held frame plus the transports' buffers.
    max_connections: int = 1000
    max_connections_per_address: int = 100
    #: Answers the proxy made itself (refusals) not yet taken by a client: above this the
    #: client's requests are not read until it reads (a client that never reads holds no more).
    max_unsent_answers: int = 1024 * 1024
    forget_broker_after: float = 300.0            # listener of a broker gone from metadata
    #: Advertise Fetch v16+ and rewrite its KIP-951 NodeEndpoints (every such response is
    #: then collected whole and decoded). False (default) caps Fetch at v15: no endpoints,
    #: every Fetch response relayed as it arrives; clients find a new leader through
    #: Metadata, as before KIP-951. See docs/proxy.md, "KIP-951 decision".
    fetch_node_endpoints: bool = False
    #: Serve clients in plaintext although the brokers are reached over TLS (their SASL
    #: exchange and data would cross the network in clear); refused unless set.
    allow_plaintext_clients: bool = False
    #: Let clients use SASL PLAIN on a plaintext client listener (their password in clear).
    allow_sasl_plain_over_plaintext: bool = False
    #: The linker a linked proxy serves: its credentials and quotas are not changed through the proxy.
    linker_identity: LinkerIdentity = LinkerIdentity()

    def __post_init__(self) -> None:
        if self.upstream.tls is not None and self.listen_tls is None and not self.allow_plaintext_clients:
            raise ValueError(
                f"upstream {self.upstream.name} is reached over TLS but clients would reach the proxy in "
                "plaintext: give the proxy a certificate (proxy.tls_cert and proxy.tls_key) or allow it "
                "explicitly (proxy.allow_plaintext_clients = true; --allow-plaintext-clients for "
                "python -m linker.proxy)")
        for name in ("max_request_size", "max_response_size", "max_in_flight", "max_preauth_request_size",
                     "max_connections", "max_connections_per_address", "max_unsent_answers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("partial_frame_timeout", "idle_timeout", "connect_timeout", "forget_broker_after"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if not 0 <= self.bootstrap_port < 65536:
            raise ValueError(f"bootstrap_port {self.bootstrap_port} is outside 0..65535")

    @property
    def host_for_clients(self) -> str:
        return self.advertised_host or self.bind_host
