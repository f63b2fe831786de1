"""Every Kafka message class, built lazily from the definitions in kproto.defs.

``messages.ProduceRequest`` (or ``messages.by_key(0, request=True)``) builds the
class the first time it is asked for; nothing is compiled until a version is
first encoded or decoded.
"""
from __future__ import annotations

import importlib
import threading
from typing import Any

from kproto.defs import INDEX
from kproto.message_class import KafkaMessage, build_classes
from kproto.schema import Message

__all__ = ["by_key", "by_name", "definition", "all_names", "api_keys"]

_lock = threading.RLock()
_built: dict[str, type] = {}
_BY_KEY: dict[tuple[int, str], str] = {
    (key, kind): name for name, (_m, _v, key, kind) in INDEX.items() if key is not None
}


def definition(name: str) -> Message:
    """The declarative definition of a message by its spec name."""
    try:
        module, var, _key, _kind = INDEX[name]
    except KeyError:
        raise KeyError(f"no Kafka message named {name!r}") from None
    return getattr(importlib.import_module(f"kproto.defs.{module}"), var)  # type: ignore[no-any-return]


def by_name(name: str) -> type[KafkaMessage]:
    """The class of a message by its spec name (``"ProduceRequest"``)."""
    cls = _built.get(name)
    if cls is None:
        with _lock:
            cls = _built.get(name)
            if cls is None:
                cls = build_classes(definition(name))
                _built[name] = cls
    return cls  # type: ignore[return-value]


def by_key(api_key: int, request: bool = True) -> type[KafkaMessage]:
    """The request (or response) class of an API key."""
    try:
        name = _BY_KEY[(int(api_key), "request" if request else "response")]
    except KeyError:
        raise KeyError(f"unknown API key {api_key!r}") from None
    return by_name(name)


def all_names(kind: str | None = None) -> list[str]:
    """Spec names of every message (or only of one kind: request, response, header, data)."""
    return [n for n, (_m, _v, _k, k) in INDEX.items() if kind is None or k == kind]


def api_keys() -> list[int]:
    """Every API key that has a request/response pair."""
    return sorted({k for (k, _kind) in _BY_KEY})


def __getattr__(name: str) -> Any:
    if name in INDEX:
        return by_name(name)
    raise AttributeError(f"module 'kproto.messages' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(INDEX))
