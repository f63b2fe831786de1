"""Hypothesis strategies derived from kproto's own definitions.

``message_strategy(cls, version)`` draws an instance of a message class that is
encodable in ``version``: every field the version carries gets a random value
of its type (None where the version allows null), fields the version lacks
keep their defaults, and structs of flexible versions may carry unknown tags.
"""
from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from kproto.schema import Field, Message

INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
}
UNKNOWN_TAG_BASE = 1000  # far above any tag a spec uses


def primitive(t: str) -> st.SearchStrategy[Any]:
    if t in INT_RANGES:
        lo, hi = INT_RANGES[t]
        return st.integers(lo, hi)
    if t == "bool":
        return st.booleans()
    if t == "float64":
        return st.floats(allow_nan=False)
    if t == "uuid":
        return st.uuids()
    if t == "string":
        return st.text(max_size=8)
    if t in ("bytes", "records"):
        return st.binary(max_size=12)
    raise AssertionError(f"unknown primitive {t}")


class StrategyBuilder:
    """Strategies for one message version (struct strategies cached)."""

    def __init__(self, cls: type, version: int) -> None:
        self.cls = cls
        self.msg: Message = cls.DEFINITION
        self.version = version
        self.flexible = version in self.msg.flexible_versions
        self.classes = cls._codec.classes
        self.cache: dict[str, st.SearchStrategy[Any]] = {}

    def carried(self, f: Field) -> bool:
        if self.version not in f.v:
            return False
        if f.tag is None:
            return True
        return self.flexible and self.version in f.tv

    def field(self, f: Field) -> st.SearchStrategy[Any]:
        et = f.elem_type
        elem = self.struct(et) if f.is_struct else primitive(et)
        value = st.lists(elem, max_size=3) if f.is_array else elem
        if self.version in f.nv:
            value = st.none() | value
        return value

    def struct(self, name: str) -> st.SearchStrategy[Any]:
        if name not in self.cache:
            self.cache[name] = st.deferred(lambda: self._struct(name))
        return self.cache[name]

    def _struct(self, name: str) -> st.SearchStrategy[Any]:
        fields = {f.attr: self.field(f) for f in self.msg.structs[name].fields if self.carried(f)}
        if self.flexible:
            fields["unknown_tags"] = st.dictionaries(
                st.integers(UNKNOWN_TAG_BASE, UNKNOWN_TAG_BASE + 5), st.binary(max_size=4), max_size=2)
        return st.builds(self.classes[name], **fields)


def message_strategy(cls: type, version: int) -> st.SearchStrategy[Any]:
    return StrategyBuilder(cls, version).struct(cls.DEFINITION.name)


def all_message_versions(kinds: tuple[str, ...] = ("request", "response")) -> list[tuple[str, int]]:
    """(message name, version) for every valid version of every message of these kinds."""
    from kproto import messages

    out = []
    for name in messages.all_names():
        cls = messages.by_name(name)
        if cls.DEFINITION.kind not in kinds or cls.VALID_VERSIONS is None:
            continue
        lo, hi = cls.VALID_VERSIONS
        out.extend((name, v) for v in range(lo, hi + 1))
    return out
