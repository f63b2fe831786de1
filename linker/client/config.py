"""Connection and security settings.

Secrets live only in `SaslCredentials`; its repr masks the password and no
other object of this layer copies it, so logs and error messages cannot leak
it.
"""
from __future__ import annotations

import dataclasses
from typing import Any
import enum
from collections.abc import Sequence


class SecurityProtocol(enum.Enum):
    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"

    @property
    def uses_tls(self) -> bool:
        return self in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL)

    @property
    def uses_sasl(self) -> bool:
        return self in (SecurityProtocol.SASL_PLAINTEXT, SecurityProtocol.SASL_SSL)


SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclasses.dataclass(frozen=True)
class SaslCredentials:
    mechanism: str
    username: str
    password: str = dataclasses.field(repr=False)

    def __post_init__(self) -> None:
        if self.mechanism not in SASL_MECHANISMS:
            raise ValueError(
                f"unsupported SASL mechanism {self.mechanism!r}; "
                f"expected one of {', '.join(SASL_MECHANISMS)}")
        if not self.username:
            raise ValueError("SASL username is empty")

    def __repr__(self) -> str:
        return (f"SaslCredentials(mechanism={self.mechanism!r}, "
                f"username={self.username!r}, password='***')")


@dataclasses.dataclass(frozen=True)
class TlsSettings:
    """Where the trust anchors and the optional client identity live."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    key_password: str | None = dataclasses.field(default=None, repr=False)
    check_hostname: bool = True

    def __post_init__(self) -> None:
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("TLS key_file given without cert_file")

    def __repr__(self) -> str:
        masked = "'***'" if self.key_password is not None else "None"
        return (f"TlsSettings(ca_file={self.ca_file!r}, cert_file={self.cert_file!r}, "
                f"key_file={self.key_file!r}, key_password={masked}, "
                f"check_hostname={self.check_hostname!r})")


@dataclasses.dataclass(frozen=True)
class SecurityConfig:
    protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    sasl: SaslCredentials | None = None
    tls: TlsSettings | None = None

    def __post_init__(self) -> None:
        if isinstance(self.protocol, str):
            try:
                object.__setattr__(self, "protocol", SecurityProtocol(self.protocol.upper()))
            except ValueError:
                raise ValueError(
                    f"unknown security protocol {self.protocol!r}; expected one of "
                    f"{', '.join(p.value for p in SecurityProtocol)}") from None
        if self.protocol.uses_sasl and self.sasl is None:
            raise ValueError(f"{self.protocol.value} needs SASL credentials")
        if not self.protocol.uses_sasl and self.sasl is not None:
            raise ValueError(f"SASL credentials given but protocol is {self.protocol.value}")
        if self.protocol.uses_tls and self.tls is None:
            object.__setattr__(self, "tls", TlsSettings())


@dataclasses.dataclass(frozen=True)
class ClientConfig:
    """Everything a connection or a cluster view needs besides addresses."""

    client_id: str = "kafka-linker"
    security: SecurityConfig = SecurityConfig()
    request_timeout: float = 30.0
    connect_timeout: float = 10.0
    max_in_flight: int = 1024
    connections_per_broker: int = 1
    metadata_max_age: float = 300.0
    reconnect_backoff: float = 0.05
    reconnect_backoff_max: float = 5.0
    max_frame_size: int = 256 * 1024 * 1024
    # (api_key -> (min, max)) the caller insists on, e.g. Fetch >= 12.
    version_pins: dict[int, tuple[int, int]] = dataclasses.field(default_factory=dict)
    # A scale-out member's lease (``gate.WriteGate``): Produce requests pass only while it is open.
    write_gate: Any = dataclasses.field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("request_timeout", "connect_timeout", "metadata_max_age",
                     "reconnect_backoff", "reconnect_backoff_max"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {self.max_in_flight}")
        if self.connections_per_broker < 1:
            raise ValueError(
                f"connections_per_broker must be >= 1, got {self.connections_per_broker}")


def parse_address(address: str) -> tuple[str, int]:
    """'host:port' or '[v6]:port' -> (host, port), with a clear error."""
    text = address.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, sep, port_text = text.rpartition(":")
    if not host or not sep or not port_text.isdigit():
        raise ValueError(f"bad broker address {address!r}; expected host:port")
    port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError(f"bad port in broker address {address!r}")
    return host, port


def parse_bootstrap(bootstrap: str | Sequence[str]) -> list[tuple[str, int]]:
    items = bootstrap.split(",") if isinstance(bootstrap, str) else list(bootstrap)
    addresses = [parse_address(item) for item in items if item.strip()]
    if not addresses:
        raise ValueError("bootstrap list is empty")
    return addresses
