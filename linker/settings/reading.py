"""Typed reads from a parsed TOML table, each failure naming its dotted key.

Every section parser reads through these helpers, so "which key is wrong" is
phrased the same way everywhere in the link file.
"""
from __future__ import annotations

import re
from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T")

TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
TOPIC_CHARS = re.compile(r"[A-Za-z0-9._-]+")


def dotted(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def only_keys(t: dict[str, Any], where: str, allowed: set[str]) -> None:
    unknown = sorted(set(t) - allowed)
    if unknown:
        raise ConfigError(f"{dotted(where, unknown[0])}: unknown key (allowed: {', '.join(sorted(allowed))})")


def table(t: dict[str, Any], where: str, key: str, required: bool = False) -> dict[str, Any]:
    full = dotted(where, key)
    v = t.get(key)
    if v is None:
        if required:
            raise ConfigError(f"{full}: required table is missing")
        return {}
    if not isinstance(v, dict):
        raise ConfigError(f"{full}: must be a table")
    return v


def get(t: dict[str, Any], where: str, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
    """``t[key]`` checked against `kind` (a bool is never taken for an int), else `default`."""
    if key not in t:
        return default
    v = t[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if bool not in kinds and isinstance(v, bool):
        raise ConfigError(f"{where}.{key}: expected {'/'.join(k.__name__ for k in kinds)}, got a boolean")
    if not isinstance(v, kinds):
        raise ConfigError(f"{where}.{key}: expected {'/'.join(k.__name__ for k in kinds)}, got {type(v).__name__}")
    return v


def positive(t: dict[str, Any], where: str, key: str, default: int) -> int:
    v: int = get(t, where, key, int, default)
    if v <= 0:
        raise ConfigError(f"{where}.{key}: must be > 0, got {v}")
    return v


def str_list(t: dict[str, Any], where: str, key: str) -> list[str]:
    v = t.get(key, [])
    if isinstance(v, str):   # taken as a list of one, it would hide a typo: only bootstrap_servers may be one string
        raise ConfigError(f"{where}.{key}: must be a list of strings, e.g. {key} = [{v!r}] "
                          "(only bootstrap_servers accepts a single string)")
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise ConfigError(f"{where}.{key}: must be a list of strings")
    return v


def host_port(s: Any, where: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` too); the host may be empty, the port 0..65535."""
    if not isinstance(s, str) or ":" not in s:
        raise ConfigError(f"{where}: {s!r} is not host:port")
    host, _, port_s = s.rpartition(":")
    host = host.strip("[]")
    if not port_s.isdigit() or not 0 <= int(port_s) <= 65535:
        raise ConfigError(f"{where}: {s!r} has no valid port")
    return host, int(port_s)


def regexes(patterns: list[str], where: str) -> None:
    """Every pattern compiles; else the error names ``where[i]``."""
    for i, pat in enumerate(patterns):
        try:
            re.compile(pat)
        except re.error as exc:
            raise ConfigError(f"{where}[{i}]: bad regular expression {pat!r}: {exc}") from None
