"""Generated-source buffer and the generator state shared by decode and encode."""
from __future__ import annotations

import struct
import uuid
from typing import Any

from kproto.codegen.runtime import default_for, has_records
from kproto.schema import FIXED_FORMATS, Field, Message

__all__ = ["Source", "CompilerBase", "SIZES"]

SIZES = {k: struct.calcsize(">" + v) for k, v in FIXED_FORMATS.items()}


class Source:
    """Indented source lines plus the constants the code refers to."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {}
        self._by_value: dict[Any, str] = {}

    def add(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def const(self, value: Any, prefix: str = "_k") -> str:
        if isinstance(value, struct.Struct):
            key: Any = ("S", value.format)
        elif isinstance(value, (int, float, str, bytes, bool, uuid.UUID)):
            key = (type(value).__name__, repr(value))
        else:
            key = ("id", id(value))
        name = self._by_value.get(key)
        if name is None:
            name = f"{prefix}{len(self.consts)}"
            self.consts[name] = value
            self._by_value[key] = name
        return name

    def struct(self, fmt: str) -> str:
        return self.const(struct.Struct(">" + fmt), "_s")

    def unpack(self, fmt: str) -> str:
        """Name bound to the precompiled ``Struct(fmt).unpack_from``."""
        name = "_u_" + self.struct(fmt)
        if name not in self.consts:
            self.consts[name] = self.consts[self.struct(fmt)].unpack_from
        return name

    def pack(self, fmt: str) -> str:
        """Name bound to the precompiled ``Struct(fmt).pack``."""
        name = "_p_" + self.struct(fmt)
        if name not in self.consts:
            self.consts[name] = self.consts[self.struct(fmt)].pack
        return name


class CompilerBase:
    """State and helpers shared by the decode and encode generators of one
    message version in one flavour (fast or tracking)."""

    def __init__(self, msg: Message, version: int, classes: dict[str, type], track: bool) -> None:
        self.msg = msg
        self.version = version
        self.classes = classes
        self.track = track
        self.flexible = version in msg.flexible_versions
        self.src = Source()
        self.done: set[str] = set()
        self.pending: list[str] = []
        self.has_records = False
        self.uses_mv = has_records(msg)
        self.tmp = 0

    # -- helpers -----------------------------------------------------------
    def var(self, base: str) -> str:
        self.tmp += 1
        return f"{base}{self.tmp}"

    def fn(self, kind: str, struct_name: str) -> str:
        if struct_name not in self.done:
            self.done.add(struct_name)
            self.pending.append(struct_name)
        return f"{'t' if self.track else ''}{kind}_{struct_name}"

    def present(self, f: Field) -> bool:
        return self.version in f.v and f.tag is None

    def tagged(self, f: Field) -> bool:
        return self.flexible and f.tag is not None and self.version in f.tv and self.version in f.v

    def compact(self, f: Field) -> bool:
        if f.fv is not None:
            return self.version in f.fv
        return self.flexible

    def nullable(self, f: Field) -> bool:
        return self.version in f.nv

    def default_expr(self, f: Field) -> str:
        """Expression for the absent-field value (a fresh object if mutable)."""
        if f.is_array and f.default is not None:
            return "[]"
        if f.is_struct and f.default is None:
            return "None"
        if f.is_struct:
            return "_UNSET"  # the slot of a lazy default; the property builds it
        return self.src.const(default_for(f, lambda _n: None))

    def cls(self, struct_name: str) -> str:
        return self.src.const(self.classes[struct_name], "_C")

    def push(self, ind: int, item: str) -> None:
        if self.track:
            self.src.add(ind, f"P.append({item})")

    def pop(self, ind: int) -> None:
        if self.track:
            self.src.add(ind, "P.pop()")
