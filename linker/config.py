"""Link file (TOML) parsing and validation.

A link file names the two clusters, the topics to mirror and a few engine
knobs. Every mistake is reported with the dotted key that holds it, because a
sidecar that starts with a half-understood config is worse than one that
refuses to start.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class ConfigError(ValueError):
    """A link file that cannot be used; the message names the key at fault."""


@dataclass(frozen=True)
class TlsSettings:
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    check_hostname: bool = True


@dataclass(frozen=True)
class SaslSettings:
    mechanism: str
    username: str
    password: str


@dataclass(frozen=True)
class ClusterSettings:
    bootstrap_servers: tuple[str, ...]
    security_protocol: str = "PLAINTEXT"
    tls: TlsSettings | None = None
    sasl: SaslSettings | None = None
    client_id: str = "linker"
    request_timeout_ms: int = 30_000


@dataclass(frozen=True)
class TopicSettings:
    names: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    prefix: str = ""        # mirror topic = prefix + source topic (like cluster.link.prefix)


@dataclass(frozen=True)
class MirrorSettings:
    acks: int = -1
    max_in_flight_bytes: int = 64 * 1024 * 1024
    fetch_max_wait_ms: int = 500
    fetch_max_bytes: int = 16 * 1024 * 1024
    partition_max_bytes: int = 1024 * 1024
    metadata_refresh_ms: int = 30_000
    stop_timeout_ms: int = 10_000
    timestamp_before_max_ms: int = 9_223_372_036_854_775_807
    timestamp_after_max_ms: int = 9_223_372_036_854_775_807
    filler_batch_records: int = 200_000
    filler_delete_every: int = 2_000_000
    audit_interval_ms: int = 15_000
    create_topics: bool = True
    replication_factor: int = -1
    verify_on_start: bool = True


@dataclass(frozen=True)
class MetricsSettings:
    host: str = "127.0.0.1"
    port: int | None = None


@dataclass(frozen=True)
class LinkConfig:
    name: str
    source: ClusterSettings
    destination: ClusterSettings
    topics: TopicSettings
    mirror: MirrorSettings = field(default_factory=MirrorSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    lifecycle: Any = None   # linker.lifecycle.settings.LifecycleSettings (parsed there)
    proxy: Any = None       # linker.proxy.link_settings.ProxySettings, None without a [proxy] table


def load_config(path: str | os.PathLike[str]) -> LinkConfig:
    """Read and validate a link file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read link file {p}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"link file {p} is not valid TOML: {exc}") from None
    return parse_config(data)


def parse_config(data: dict[str, Any]) -> LinkConfig:
    """Validate an already-parsed TOML document."""
    _only_keys(data, "", {"name", "source", "destination", "topics", "mirror", "metrics", "lifecycle", "proxy"})
    name = _get(data, "", "name", str, "link")
    if not name:
        raise ConfigError("name: must not be empty")
    source = _cluster(_table(data, "", "source", required=True), "source")
    destination = _cluster(_table(data, "", "destination", required=True), "destination")
    topics = _topics(_table(data, "", "topics", required=True))
    mirror = _mirror(_table(data, "", "mirror"))
    metrics = _metrics(_table(data, "", "metrics"))
    from linker.lifecycle.settings import parse_lifecycle
    lifecycle = parse_lifecycle(_table(data, "", "lifecycle"))
    from linker.proxy.link_settings import ProxySettingsError, parse_proxy
    try:
        proxy = parse_proxy(_table(data, "", "proxy") if "proxy" in data else None)
    except ProxySettingsError as exc:
        raise ConfigError(str(exc)) from None
    return LinkConfig(name, source, destination, topics, mirror, metrics, lifecycle, proxy)


# -- sections ---------------------------------------------------------------

def _cluster(t: dict[str, Any], where: str) -> ClusterSettings:
    _only_keys(t, where, {"bootstrap_servers", "security_protocol", "tls", "sasl",
                          "client_id", "request_timeout_ms"})
    servers = t.get("bootstrap_servers")
    if isinstance(servers, str):
        servers = [s.strip() for s in servers.split(",") if s.strip()]
    if not isinstance(servers, list) or not servers:
        raise ConfigError(f"{where}.bootstrap_servers: required, a non-empty list of host:port")
    for s in servers:
        _check_host_port(s, f"{where}.bootstrap_servers")
    proto = _get(t, where, "security_protocol", str, "PLAINTEXT").upper()
    if proto not in SECURITY_PROTOCOLS:
        raise ConfigError(f"{where}.security_protocol: {proto!r} is not one of {', '.join(SECURITY_PROTOCOLS)}")
    tls_t = _table(t, where, "tls")
    sasl_t = _table(t, where, "sasl")
    tls = None
    if proto in ("SSL", "SASL_SSL"):
        _only_keys(tls_t, f"{where}.tls", {"ca_file", "cert_file", "key_file", "check_hostname"})
        tls = TlsSettings(
            ca_file=_get(tls_t, f"{where}.tls", "ca_file", str, None),
            cert_file=_get(tls_t, f"{where}.tls", "cert_file", str, None),
            key_file=_get(tls_t, f"{where}.tls", "key_file", str, None),
            check_hostname=_get(tls_t, f"{where}.tls", "check_hostname", bool, True),
        )
        if (tls.cert_file is None) != (tls.key_file is None):
            raise ConfigError(f"{where}.tls: cert_file and key_file go together")
    elif tls_t:
        raise ConfigError(f"{where}.tls: given but security_protocol is {proto}")
    sasl = None
    if proto.startswith("SASL_"):
        w = f"{where}.sasl"
        _only_keys(sasl_t, w, {"mechanism", "username", "password", "password_env"})
        mech = _get(sasl_t, w, "mechanism", str, None)
        if mech is None or mech.upper() not in SASL_MECHANISMS:
            raise ConfigError(f"{w}.mechanism: required, one of {', '.join(SASL_MECHANISMS)}")
        user = _get(sasl_t, w, "username", str, None)
        if not user:
            raise ConfigError(f"{w}.username: required")
        password = _get(sasl_t, w, "password", str, None)
        env = _get(sasl_t, w, "password_env", str, None)
        if (password is None) == (env is None):
            raise ConfigError(f"{w}: give exactly one of password, password_env")
        if env is not None:
            if env not in os.environ:
                raise ConfigError(f"{w}.password_env: environment variable {env} is not set")
            password = os.environ[env]
        sasl = SaslSettings(mech.upper(), user, password or "")
    elif sasl_t:
        raise ConfigError(f"{where}.sasl: given but security_protocol is {proto}")
    return ClusterSettings(
        bootstrap_servers=tuple(servers),
        security_protocol=proto,
        tls=tls,
        sasl=sasl,
        client_id=_get(t, where, "client_id", str, "linker"),
        request_timeout_ms=_positive(t, where, "request_timeout_ms", 30_000),
    )


def _topics(t: dict[str, Any]) -> TopicSettings:
    _only_keys(t, "topics", {"names", "include", "exclude", "prefix"})
    prefix = _get(t, "topics", "prefix", str, "")
    if prefix and not _TOPIC_CHARS.fullmatch(prefix):
        raise ConfigError(f"topics.prefix: {prefix!r} may only hold the Kafka topic characters A-Z a-z 0-9 . _ -")
    if len(prefix) >= 249:
        raise ConfigError(f"topics.prefix: {len(prefix)} characters leave no room for a topic name (limit 249)")
    names = _str_list(t, "topics", "names")
    include = _str_list(t, "topics", "include")
    exclude = _str_list(t, "topics", "exclude")
    if not names and not include:
        raise ConfigError("topics: give at least one of names, include")
    for pat_key, pats in (("include", include), ("exclude", exclude)):
        for i, pat in enumerate(pats):
            try:
                re.compile(pat)
            except re.error as exc:
                raise ConfigError(f"topics.{pat_key}[{i}]: bad regular expression {pat!r}: {exc}") from None
    for i, n in enumerate(names):
        if not _TOPIC_NAME.fullmatch(n):
            raise ConfigError(f"topics.names[{i}]: {n!r} is not a legal Kafka topic name")
        if len(prefix) + len(n) > 249:
            raise ConfigError(f"topics.names[{i}]: mirror topic {prefix + n!r} is longer than 249 characters")
    return TopicSettings(tuple(names), tuple(include), tuple(exclude), prefix)


def _mirror(t: dict[str, Any]) -> MirrorSettings:
    d = MirrorSettings()
    keys = set(d.__dataclass_fields__)
    _only_keys(t, "mirror", keys)
    acks = _get(t, "mirror", "acks", (int, str), d.acks)
    if acks == "all":
        acks = -1
    if acks not in (-1, 1):
        raise ConfigError("mirror.acks: must be \"all\" (-1) or 1; acks=0 gives no offsets to verify")
    values: dict[str, Any] = {"acks": acks}
    for k in keys - {"acks", "create_topics", "replication_factor", "verify_on_start"}:
        values[k] = _positive(t, "mirror", k, getattr(d, k))
    values["create_topics"] = _get(t, "mirror", "create_topics", bool, d.create_topics)
    values["verify_on_start"] = _get(t, "mirror", "verify_on_start", bool, d.verify_on_start)
    rf = _get(t, "mirror", "replication_factor", int, d.replication_factor)
    if rf != -1 and rf < 1:
        raise ConfigError("mirror.replication_factor: -1 (broker default) or >= 1")
    values["replication_factor"] = rf
    if values["partition_max_bytes"] > values["fetch_max_bytes"]:
        raise ConfigError("mirror.partition_max_bytes: must not exceed mirror.fetch_max_bytes")
    if values["max_in_flight_bytes"] < values["partition_max_bytes"]:
        raise ConfigError("mirror.max_in_flight_bytes: must be at least mirror.partition_max_bytes")
    return MirrorSettings(**values)


def _metrics(t: dict[str, Any]) -> MetricsSettings:
    _only_keys(t, "metrics", {"listen"})
    listen = _get(t, "metrics", "listen", str, None)
    if listen is None:
        return MetricsSettings()
    host, port = _check_host_port(listen, "metrics.listen")
    return MetricsSettings(host or "127.0.0.1", port)


# -- helpers ----------------------------------------------------------------

_TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
_TOPIC_CHARS = re.compile(r"[A-Za-z0-9._-]+")


def _check_host_port(s: Any, where: str) -> tuple[str, int]:
    if not isinstance(s, str) or ":" not in s:
        raise ConfigError(f"{where}: {s!r} is not host:port")
    host, _, port_s = s.rpartition(":")
    host = host.strip("[]")
    if not port_s.isdigit() or not 0 <= int(port_s) <= 65535:
        raise ConfigError(f"{where}: {s!r} has no valid port")
    return host, int(port_s)


def _only_keys(t: dict[str, Any], where: str, allowed: set[str]) -> None:
    unknown = sorted(set(t) - allowed)
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(f"{prefix}{unknown[0]}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _table(t: dict[str, Any], where: str, key: str, required: bool = False) -> dict[str, Any]:
    full = f"{where}.{key}" if where else key
    v = t.get(key)
    if v is None:
        if required:
            raise ConfigError(f"{full}: required table is missing")
        return {}
    if not isinstance(v, dict):
        raise ConfigError(f"{full}: must be a table")
    return v


def _get(t: dict[str, Any], where: str, key: str, kind: Any, default: Any) -> Any:
    if key not in t:
        return default
    v = t[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if bool not in kinds and isinstance(v, bool):
        raise ConfigError(f"{where}.{key}: expected {'/'.join(k.__name__ for k in kinds)}, got a boolean")
    if not isinstance(v, kinds):
        raise ConfigError(f"{where}.{key}: expected {'/'.join(k.__name__ for k in kinds)}, got {type(v).__name__}")
    return v


def _positive(t: dict[str, Any], where: str, key: str, default: int) -> int:
    v = _get(t, where, key, int, default)
    if v <= 0:
        raise ConfigError(f"{where}.{key}: must be > 0, got {v}")
    return v


def _str_list(t: dict[str, Any], where: str, key: str) -> list[str]:
    v = t.get(key, [])
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ConfigError(f"{where}.{key}: must be a list of strings")
    return v
