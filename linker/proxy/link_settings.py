"""The `[proxy]` table of a link file: what `linker proxy --config` serves.

Parsed here (not in linker.config) so the link file format stays in one place
per feature; errors name the key as ``proxy.<key>``.
"""
from __future__ import annotations

import dataclasses
from typing import Any

_KEYS = {"listen", "advertise", "port_base", "broker_ports", "front", "control", "tls_cert", "tls_key",
         "fetch_node_endpoints", "catch_up_timeout_s", "group_drain_timeout_s"}
FRONTS = ("source", "destination")


class ProxySettingsError(ValueError):
    """A bad `[proxy]` table; the message starts with the key."""


@dataclasses.dataclass(frozen=True)
class ProxySettings:
    listen_host: str = "127.0.0.1"
    listen_port: int = 0                     # the bootstrap listener; 0: any free port
    advertise: str | None = None             # host clients should connect to
    port_base: int | None = None             # broker N served on BASE+N
    broker_ports: dict[int, int] = dataclasses.field(default_factory=dict)
    front: str = "destination"               # the cluster fronted at start
    control: tuple[str, int] | None = None   # loopback endpoint `linker promote` drives the cutover through
    tls_cert: str | None = None
    tls_key: str | None = None
    fetch_node_endpoints: bool = True
    catch_up_timeout_s: float = 120.0
    group_drain_timeout_s: float = 20.0


def _host_port(v: Any, key: str) -> tuple[str, int]:
    if not isinstance(v, str) or ":" not in v:
        raise ProxySettingsError(f"proxy.{key}: {v!r} is not host:port")
    host, _, port = v.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ProxySettingsError(f"proxy.{key}: {v!r} has no valid port (0..65535)")
    return host.strip("[]") or "127.0.0.1", int(port)


def _typed(t: dict[str, Any], key: str, kinds: tuple[type, ...], default: Any) -> Any:
    if key not in t:
        return default
    v = t[key]
    if isinstance(v, bool) and bool not in kinds or not isinstance(v, kinds):
        raise ProxySettingsError(f"proxy.{key}: expected {'/'.join(k.__name__ for k in kinds)}, "
                                 f"got {type(v).__name__}")
    return v


def parse_proxy(t: dict[str, Any] | None) -> ProxySettings | None:
    """None when the link file has no `[proxy]` table."""
    if t is None:
        return None
    unknown = sorted(set(t) - _KEYS)
    if unknown:
        raise ProxySettingsError(f"proxy.{unknown[0]}: unknown key (allowed: {', '.join(sorted(_KEYS))})")
    host, port = _host_port(t.get("listen", "127.0.0.1:0"), "listen")
    front = _typed(t, "front", (str,), "destination")
    if front not in FRONTS:
        raise ProxySettingsError(f"proxy.front: {front!r} is neither 'source' nor 'destination'")
    control = _host_port(t["control"], "control") if "control" in t else None
    if control is not None and control[1] == 0:
        raise ProxySettingsError("proxy.control: needs a fixed port (`linker promote` connects to it)")
    base = _typed(t, "port_base", (int,), None)
    if base is not None and not 0 < base < 65536:
        raise ProxySettingsError(f"proxy.port_base: {base} is outside 1..65535")
    raw_ports = _typed(t, "broker_ports", (dict,), {})
    ports: dict[int, int] = {}
    for node, p in raw_ports.items():
        if not str(node).isdigit() or isinstance(p, bool) or not isinstance(p, int) or not 0 < p < 65536:
            raise ProxySettingsError(f"proxy.broker_ports.{node}: needs a broker id key and a port 1..65535, "
                                     f"got {p!r}")
        ports[int(node)] = p
    cert, key = _typed(t, "tls_cert", (str,), None), _typed(t, "tls_key", (str,), None)
    if (cert is None) != (key is None):
        raise ProxySettingsError(f"proxy.{'tls_key' if key is None else 'tls_cert'}: tls_cert and tls_key go together")
    timeouts = {}
    for k in ("catch_up_timeout_s", "group_drain_timeout_s"):
        v = _typed(t, k, (int, float), getattr(ProxySettings, k))
        if v <= 0:
            raise ProxySettingsError(f"proxy.{k}: must be > 0, got {v}")
        timeouts[k] = float(v)
    return ProxySettings(host, port, _typed(t, "advertise", (str,), None), base, ports, front, control,
                         cert, key, _typed(t, "fetch_node_endpoints", (bool,), True), **timeouts)
