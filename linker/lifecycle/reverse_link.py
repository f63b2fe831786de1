"""The reverse link of a failback: the forward link file with source and destination swapped.

Failback mirrors the promoted topics back into the old source with the same offsets, and
that is an ordinary link in the other direction: the engine, its exactness checks, offset
sync, producer-id moving and the proxy cutover are all reused by running `linker run` and
`linker promote` on it. What changes from the forward file: the clusters swap, the link is
named ``<name>-failback`` (so its own state topic, on the old source, is
``__linker-<name>-failback-state``), the topics are exactly the ones failed back (by name),
the proxy (if any) fronts the source side (the promoted cluster, where the clients are now),
mirror.produce_timeout_ms is lowered when the new destination's request timeout needs it,
and settings that bind a local address (metrics, proxy listeners) are kept as they were, so
run the reverse link after the forward processes are stopped, or change them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from linker.settings import ConfigError, parse_config
from linker.settings.cluster import parse_cluster
from linker.settings.mirror import PRODUCE_TIMEOUT_SHARE, parse_mirror

#: Keys of ``[topics]`` that select topics: replaced by the failed-back names.
_SELECTION = {"names", "include", "exclude"}


def reverse_document(forward: dict[str, Any], topics: list[str]) -> dict[str, Any]:
    """The reverse link as a TOML document (a dict), from the forward link's document."""
    doc = json.loads(json.dumps(forward))   # a deep copy of plain TOML values
    if (doc.get("topics") or {}).get("prefix"):
        raise ConfigError("topics.prefix: failback of a link with a prefix is not supported (the mirror "
                          "topic's name differs from the source topic's; fail back by hand)")
    doc["source"], doc["destination"] = forward["destination"], forward["source"]
    doc["name"] = f"{forward.get('name', 'link')}-failback"
    doc["topics"] = {k: v for k, v in (doc.get("topics") or {}).items() if k not in _SELECTION}
    doc["topics"]["names"] = list(topics)
    lifecycle = doc.get("lifecycle")
    if isinstance(lifecycle, dict):
        lifecycle.pop("state_topic", None)   # the reverse link keeps its own, on the old source
    proxy = doc.get("proxy")
    if isinstance(proxy, dict):
        proxy["front"] = "source"            # clients are on the promoted cluster: the reverse source
        # and saw its epochs shifted one generation up: they must not go backwards (proxy/epochs.py)
        proxy["epoch_generation"] = int(proxy.get("epoch_generation", 0)) + 1
    _fit_produce_timeout(doc)
    parse_config(doc)                        # never write a file `linker run` would refuse
    return doc


def _fit_produce_timeout(doc: dict[str, Any]) -> None:
    """The produce timeout must stay within half the destination's request timeout; the old
    source (now the destination) may have a shorter one than the forward destination had."""
    limit = int(parse_cluster(doc["destination"], "destination").request_timeout_ms * PRODUCE_TIMEOUT_SHARE)
    wanted = parse_mirror(doc.get("mirror") or {}).produce_timeout_ms
    if wanted > limit:
        doc.setdefault("mirror", {})["produce_timeout_ms"] = limit


def dumps(doc: dict[str, Any]) -> str:
    """TOML for a link document: scalars, arrays of scalars and nested tables (what link files hold)."""
    lines: list[str] = []
    _table(doc, [], lines)
    return "\n".join(lines).strip() + "\n"


def _table(doc: dict[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in doc.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in doc.items() if isinstance(v, dict)}
    if path and (scalars or not tables):
        lines.append("")
        lines.append("[" + ".".join(_key(p) for p in path) + "]")
    for k, v in scalars.items():
        lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in tables.items():
        _table(v, path + [k], lines)


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() and k.isascii() else json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise ConfigError(f"cannot write a value of type {type(v).__name__} into the reverse link file")


def write_reverse(forward: dict[str, Any], topics: list[str], path: str | Path) -> Path:
    """Write the reverse link file; returns its path."""
    p = Path(path)
    p.write_text(dumps(reverse_document(forward, topics)), encoding="utf-8")
    return p
