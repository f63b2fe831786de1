"""kproto's declarative message definitions: one Message per spec, all versions.

The definitions under ``kproto/defs`` are plain data built from these classes.
They say *what* is on the wire for every version; ``kproto.codegen`` turns a
(message, version) pair into flat encode/decode functions once.  Version ranges
are kept as the spec's own strings (``"0+"``, ``"3-12"``, ``"none"``) so a
definition reads like the spec it came from.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field as dc_field
from typing import Any

__all__ = [
    "Versions", "Field", "Struct", "Message", "PRIMITIVE_TYPES", "FIXED_FORMATS",
    "snake_case", "NO_DEFAULT",
]

#: Primitive wire types and the struct format of the fixed-width ones.
FIXED_FORMATS: dict[str, str] = {
    "bool": "?", "int8": "b", "int16": "h", "int32": "i", "int64": "q",
    "uint16": "H", "uint32": "I", "float64": "d", "uuid": "16s",
}
PRIMITIVE_TYPES = frozenset(FIXED_FORMATS) | {"string", "bytes", "records"}


class _NoDefault:
    """Marker: the spec gives no default, so the type's zero value applies."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


@dataclass(frozen=True, slots=True)
class Versions:
    """An inclusive version range; ``hi is None`` means open-ended ("3+")."""

    lo: int
    hi: int | None
    empty: bool = False

    @classmethod
    def parse(cls, text: str | None) -> "Versions":
        if text is None or text == "none":
            return cls(0, -1, True)
        m = re.fullmatch(r"(\d+)(\+|-(\d+))?", text.strip())
        if not m:
            raise ValueError(f"bad version range {text!r}")
        lo = int(m.group(1))
        if m.group(2) == "+":
            return cls(lo, None)
        hi = int(m.group(3)) if m.group(3) else lo
        return cls(lo, hi, hi < lo)

    def __contains__(self, v: int) -> bool:
        return not self.empty and v >= self.lo and (self.hi is None or v <= self.hi)

    def __str__(self) -> str:
        if self.empty:
            return "none"
        if self.hi is None:
            return f"{self.lo}+"
        return str(self.lo) if self.lo == self.hi else f"{self.lo}-{self.hi}"


def snake_case(name: str) -> str:
    """Spec field name to attribute name: ``TopicData`` -> ``topic_data``."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


@dataclass(eq=False)
class Field:
    """One field of a message or struct, across every version it exists in.

    ``type`` is the spec's type string: a primitive, ``"[]int32"``,
    ``"[]StructName"`` or ``"StructName"``.  A struct-typed field either
    carries its own ``fields`` or names a common struct of the message.
    """

    name: str
    type: str
    versions: str
    nullable: str = "none"
    default: Any = NO_DEFAULT
    ignorable: bool = False
    tag: int | None = None
    tagged: str = "none"
    flexible: str | None = None
    fields: list["Field"] | None = None
    zero_copy: bool = False
    # Filled in by Message.__post_init__.
    attr: str = dc_field(default="", init=False)
    v: Versions = dc_field(default=None, init=False)  # type: ignore[assignment]
    nv: Versions = dc_field(default=None, init=False)  # type: ignore[assignment]
    tv: Versions = dc_field(default=None, init=False)  # type: ignore[assignment]
    fv: Versions | None = dc_field(default=None, init=False)

    def __post_init__(self) -> None:
        self.attr = snake_case(self.name)
        self.v = Versions.parse(self.versions)
        self.nv = Versions.parse(self.nullable)
        self.tv = Versions.parse(self.tagged)
        self.fv = None if self.flexible is None else Versions.parse(self.flexible)

    @property
    def is_array(self) -> bool:
        return self.type.startswith("[]")

    @property
    def elem_type(self) -> str:
        """The element type of an array, else the type itself."""
        return self.type[2:] if self.is_array else self.type

    @property
    def is_struct(self) -> bool:
        return self.elem_type not in PRIMITIVE_TYPES


@dataclass(eq=False)
class Struct:
    """A named group of fields: a message body, a nested or a common struct."""

    name: str
    versions: str
    fields: list[Field]


@dataclass(eq=False)
class Message:
    """One spec: a request, response, header or data schema, all versions."""

    name: str
    kind: str  # "request" | "response" | "header" | "data"
    valid: str
    flexible: str
    fields: list[Field]
    api_key: int | None = None
    common: list[Struct] = dc_field(default_factory=list)
    listeners: tuple[str, ...] = ()
    latest_unstable: bool = False
    # Filled in by __post_init__.
    structs: dict[str, Struct] = dc_field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.structs = {s.name: s for s in self.common}
        self.structs[self.name] = Struct(self.name, self.valid, self.fields)
        self._collect(self.fields)
        for s in self.common:
            self._collect(s.fields)

    def _collect(self, fields: list[Field]) -> None:
        for f in fields:
            if f.fields is not None:
                name = f.elem_type
                if name in self.structs:
                    raise ValueError(f"{self.name}: struct {name} defined twice")
                self.structs[name] = Struct(name, f.versions, f.fields)
                self._collect(f.fields)

    @property
    def valid_versions(self) -> Versions:
        return Versions.parse(self.valid)

    @property
    def flexible_versions(self) -> Versions:
        return Versions.parse(self.flexible)
