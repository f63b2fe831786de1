"""``[proxy]``: what `linker proxy --config` serves (listeners, the fronted side, the
control endpoint, cutover timeouts).

These are the link file's words; `linker.app.proxy_settings` turns them into the
proxy server's own `linker.proxy.ProxyConfig`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError
from .reading import get, host_port, only_keys

_KEYS = {"listen", "advertise", "port_base", "broker_ports", "front", "control", "tls_cert", "tls_key",
         "fetch_node_endpoints", "catch_up_timeout_s", "group_drain_timeout_s", "txn_drain_timeout_s",
         "allow_plaintext_clients", "allow_sasl_plain_over_plaintext", "control_token_file",
         "max_connections", "max_connections_per_address", "epoch_generation"}
FRONTS = ("source", "destination")
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
#: linker/proxy/epochs.py: generation g shows the source's epochs + g * 2**24, the destination's
#: + (g + 1) * 2**24; each failback's reverse link is one generation up (int32 leaves room for 63)
MAX_EPOCH_GENERATION = 63


@dataclass(frozen=True)
class ProxySettings:
    listen_host: str = "127.0.0.1"
    listen_port: int = 0                     # the bootstrap listener; 0: any free port
    advertise: str | None = None             # host clients should connect to
    port_base: int | None = None             # broker N served on BASE+N
    broker_ports: dict[int, int] = field(default_factory=dict)
    front: str = "destination"               # the cluster fronted at start
    control: tuple[str, int] | None = None   # loopback endpoint `linker promote` drives the cutover through
    tls_cert: str | None = None
    tls_key: str | None = None
    fetch_node_endpoints: bool = False
    catch_up_timeout_s: float = 120.0
    group_drain_timeout_s: float = 20.0
    txn_drain_timeout_s: float = 60.0        # transactions open at a cutover hold must end within this
    allow_plaintext_clients: bool = False    # plaintext clients although the brokers are reached over TLS
    allow_sasl_plain_over_plaintext: bool = False  # SASL PLAIN (password in clear) without tls_cert
    control_token_file: str | None = None    # where the control endpoint's token lives (default: see control.py)
    max_connections: int = 1000              # client connections at once (more are refused)
    max_connections_per_address: int = 100   # from one client address
    epoch_generation: int = 0                # leader-epoch shift generation (written by failback)


def _endpoint(t: dict[str, Any], key: str, default: str) -> tuple[str, int]:
    host, port = host_port(t.get(key, default), f"proxy.{key}")
    return host or "127.0.0.1", port


def parse_proxy(t: dict[str, Any] | None) -> ProxySettings | None:
    """Validate ``[proxy]``; None when the link file has none. Errors name ``proxy.<key>``."""
    if t is None:
        return None
    only_keys(t, "proxy", _KEYS)
    host, port = _endpoint(t, "listen", "127.0.0.1:0")
    front = get(t, "proxy", "front", str, "destination")
    if front not in FRONTS:
        raise ConfigError(f"proxy.front: {front!r} is neither 'source' nor 'destination'")
    control = _endpoint(t, "control", "") if "control" in t else None
    if control is not None and control[1] == 0:
        raise ConfigError("proxy.control: needs a fixed port (`linker promote` connects to it)")
    base = get(t, "proxy", "port_base", int, None)
    if base is not None and not 0 < base < 65536:
        raise ConfigError(f"proxy.port_base: {base} is outside 1..65535")
    raw_ports = get(t, "proxy", "broker_ports", dict, {})
    ports: dict[int, int] = {}
    for node, p in raw_ports.items():
        if not str(node).isdigit() or isinstance(p, bool) or not isinstance(p, int) or not 0 < p < 65536:
            raise ConfigError(f"proxy.broker_ports.{node}: needs a broker id key and a port 1..65535, got {p!r}")
        ports[int(node)] = p
    cert, key = get(t, "proxy", "tls_cert", str, None), get(t, "proxy", "tls_key", str, None)
    if (cert is None) != (key is None):
        raise ConfigError(f"proxy.{'tls_key' if key is None else 'tls_cert'}: tls_cert and tls_key go together")
    timeouts = {}
    for k in ("catch_up_timeout_s", "group_drain_timeout_s", "txn_drain_timeout_s"):
        v = get(t, "proxy", k, (int, float), getattr(ProxySettings, k))
        if v <= 0:
            raise ConfigError(f"proxy.{k}: must be > 0, got {v}")
        timeouts[k] = float(v)
    limits = {}
    for k in ("max_connections", "max_connections_per_address"):
        v = get(t, "proxy", k, int, getattr(ProxySettings, k))
        if v < 1:
            raise ConfigError(f"proxy.{k}: must be >= 1, got {v}")
        limits[k] = v
    if control is not None and control[0] not in _LOOPBACK:
        raise ConfigError(f"proxy.control: {control[0]} is not a loopback address; the control endpoint "
                          "runs irreversible failovers and listens on loopback only (127.0.0.1, ::1, localhost)")
    generation = get(t, "proxy", "epoch_generation", int, 0)
    if not 0 <= generation <= MAX_EPOCH_GENERATION:
        raise ConfigError(f"proxy.epoch_generation: {generation} is outside 0..{MAX_EPOCH_GENERATION}")
    return ProxySettings(host, port, get(t, "proxy", "advertise", str, None), base, ports, front, control,
                         cert, key, get(t, "proxy", "fetch_node_endpoints", bool, False), **timeouts, **limits,
                         allow_plaintext_clients=get(t, "proxy", "allow_plaintext_clients", bool, False),
                         control_token_file=get(t, "proxy", "control_token_file", str, None),
                         epoch_generation=generation,
                         allow_sasl_plain_over_plaintext=get(t, "proxy", "allow_sasl_plain_over_plaintext", bool,
                                                             False))
