"""``[source]`` / ``[destination]``: where a cluster is and how to authenticate.

TLS and SASL use the client's own types (`linker.client.TlsSettings`,
`SaslCredentials`), so what the link file says reaches a connection without a
second, look-alike type in between.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from linker.client.config import (SASL_MECHANISMS, SaslCredentials, SecurityConfig, SecurityProtocol,
                                  TlsSettings)

from .errors import ConfigError
from .reading import get, host_port, only_keys, positive, table

SECURITY_PROTOCOLS = tuple(p.value for p in SecurityProtocol)


@dataclass(frozen=True)
class ClusterSettings:
    bootstrap_servers: tuple[str, ...]
    security_protocol: str = "PLAINTEXT"
    tls: TlsSettings | None = None
    sasl: SaslCredentials | None = None
    client_id: str = "linker"
    request_timeout_ms: int = 30_000

    @property
    def security(self) -> SecurityConfig:
        """What a `linker.client` connection to this cluster needs besides addresses."""
        return SecurityConfig(self.security_protocol, self.sasl, self.tls)


def parse_cluster(t: dict[str, Any], where: str) -> ClusterSettings:
    """Validate one cluster table; errors name ``<where>.<key>``."""
    only_keys(t, where, {"bootstrap_servers", "security_protocol", "tls", "sasl",
                         "client_id", "request_timeout_ms"})
    servers = t.get("bootstrap_servers")
    if isinstance(servers, str):
        servers = [s.strip() for s in servers.split(",") if s.strip()]
    if not isinstance(servers, list) or not servers:
        raise ConfigError(f"{where}.bootstrap_servers: required, a non-empty list of host:port")
    for s in servers:
        host_port(s, f"{where}.bootstrap_servers")
    proto = get(t, where, "security_protocol", str, "PLAINTEXT").upper()
    if proto not in SECURITY_PROTOCOLS:
        raise ConfigError(f"{where}.security_protocol: {proto!r} is not one of {', '.join(SECURITY_PROTOCOLS)}")
    tls_t = table(t, where, "tls")
    sasl_t = table(t, where, "sasl")
    tls = None
    if SecurityProtocol(proto).uses_tls:
        tls = _tls(tls_t, f"{where}.tls")
    elif tls_t:
        raise ConfigError(f"{where}.tls: given but security_protocol is {proto}")
    sasl = None
    if SecurityProtocol(proto).uses_sasl:
        sasl = _sasl(sasl_t, f"{where}.sasl")
    elif sasl_t:
        raise ConfigError(f"{where}.sasl: given but security_protocol is {proto}")
    return ClusterSettings(
        bootstrap_servers=tuple(servers),
        security_protocol=proto,
        tls=tls,
        sasl=sasl,
        client_id=get(t, where, "client_id", str, "linker"),
        request_timeout_ms=positive(t, where, "request_timeout_ms", 30_000),
    )


def _tls(t: dict[str, Any], w: str) -> TlsSettings:
    only_keys(t, w, {"ca_file", "cert_file", "key_file", "check_hostname"})
    cert_file = get(t, w, "cert_file", str, None)
    key_file = get(t, w, "key_file", str, None)
    if (cert_file is None) != (key_file is None):
        raise ConfigError(f"{w}: cert_file and key_file go together")
    return TlsSettings(ca_file=get(t, w, "ca_file", str, None), cert_file=cert_file, key_file=key_file,
                       check_hostname=get(t, w, "check_hostname", bool, True))


def _sasl(t: dict[str, Any], w: str) -> SaslCredentials:
    only_keys(t, w, {"mechanism", "username", "password", "password_env"})
    mech = get(t, w, "mechanism", str, None)
    if mech is None or mech.upper() not in SASL_MECHANISMS:
        raise ConfigError(f"{w}.mechanism: required, one of {', '.join(SASL_MECHANISMS)}")
    user = get(t, w, "username", str, None)
    if not user:
        raise ConfigError(f"{w}.username: required")
    password = get(t, w, "password", str, None)
    env = get(t, w, "password_env", str, None)
    if (password is None) == (env is None):
        raise ConfigError(f"{w}: give exactly one of password, password_env")
    if env is not None:
        if env not in os.environ:
            raise ConfigError(f"{w}.password_env: environment variable {env} is not set")
        password = os.environ[env]
    return SaslCredentials(mech.upper(), user, password or "")
