"""Compile a (message, version) into flat decode and encode functions.

For every struct reachable in that version this writes Python source with one
decode and one encode function, then execs it once.  Adjacent fixed-width
fields share one precompiled ``struct.Struct`` (one ``unpack_from``/``pack``),
strings and records are sliced from a ``memoryview`` after a bounds check, and
nothing dispatches on field types at run time.

Each pair comes in two flavours from the same generator: the *fast* one used
on every call, and a *tracking* one (no merged runs, a path stack pushed per
field) that is run only after the fast one failed, to name the field.  The
fast path therefore pays nothing for error reporting.
"""
from __future__ import annotations

import struct
import uuid
from typing import Any, Callable

from kproto.primitives import Malformed, ZERO_UUID, read_uvarint, write_uvarint
from kproto.schema import FIXED_FORMATS, NO_DEFAULT, Field, Message, Versions

__all__ = ["compile_version", "default_for", "has_records", "is_lazy", "slot_of", "UNSET", "Unsupported"]

_SIZES = {k: struct.calcsize(">" + v) for k, v in FIXED_FORMATS.items()}


class Unsupported(Exception):
    """Internal: a non-ignorable field holds a value the version cannot carry."""


def default_for(f: Field, make_struct: Callable[[str], Any]) -> Any:
    """The value a field takes when absent (the spec default or the type's zero)."""
    if f.default is not NO_DEFAULT:
        if f.default is None or not f.is_struct:
            return f.default
    if f.is_array:
        return []
    t = f.type
    if t in ("int8", "int16", "int32", "int64", "uint16", "uint32"):
        return 0
    if t == "float64":
        return 0.0
    if t == "bool":
        return False
    if t == "string":
        return ""
    if t == "bytes":
        return b""
    if t == "records":
        return None
    if t == "uuid":
        return ZERO_UUID
    return make_struct(t)


class _Unset:
    """Slot value of a struct-typed field left at its default, built on first read.

    Responses carry several such tagged structs per partition (Fetch:
    DivergingEpoch, CurrentLeader, SnapshotId); building them eagerly would
    cost more than decoding the partition itself.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"

    def __reduce__(self) -> str:
        return "UNSET"  # pickle and copy give back the module's singleton


UNSET: Any = _Unset()


def is_lazy(f: Field) -> bool:
    """A non-null struct-valued field: stored in a slot with a lazy default."""
    return f.is_struct and not f.is_array and f.default is not None


def slot_of(f: Field) -> str:
    """The slot that holds a field (a lazy field's property reads ``_l_<attr>``)."""
    return f"_l_{f.attr}" if is_lazy(f) else f.attr


class _Source:
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


class _Compiler:
    """Generates the functions of one message version in one flavour."""

    def __init__(self, msg: Message, version: int, classes: dict[str, type], track: bool) -> None:
        self.msg = msg
        self.version = version
        self.classes = classes
        self.track = track
        self.flexible = version in msg.flexible_versions
        self.src = _Source()
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

    # -- decode ------------------------------------------------------------
    # The fast flavour inlines nested structs into their parent's function (no
    # call, no tuple per element); the tracking flavour keeps one function per
    # struct and pushes the path.  ``o{depth}`` names the object being built.
    def gen_decoders(self, root: str) -> str:
        entry = self.fn("d", root)
        while self.pending:
            self.gen_decode_struct(self.pending.pop())
        return entry

    def read_uvar(self, ind: int, target: str, two_bytes: bool = False) -> None:
        """Inline unsigned varint; ``two_bytes`` also inlines the 2-byte case
        (lengths of records and bytes are usually 128..16383)."""
        s = self.src
        s.add(ind, f"{target} = buf[pos]")
        s.add(ind, f"if {target} < 128: pos += 1")
        if two_bytes:
            s.add(ind, f"elif buf[pos + 1] < 128:")
            s.add(ind + 1, f"{target} = ({target} & 127) | (buf[pos + 1] << 7)")
            s.add(ind + 1, "pos += 2")
        s.add(ind, f"else: {target}, pos = _uvar(buf, pos)")

    def gen_decode_struct(self, name: str) -> None:
        s = self.src
        extra = ", P" if self.track else ""
        s.add(0, f"def {'t' if self.track else ''}d_{name}(buf, pos, end{extra}):")
        self.decode_body(1, name, 0, "end")
        s.add(1, "return o0, pos")
        s.add(0, "")

    def decode_body(self, ind: int, name: str, depth: int, end: str) -> None:
        """Emits code that decodes struct ``name`` into ``o{depth}``."""
        s = self.src
        st = self.msg.structs[name]
        o = f"o{depth}"
        s.add(ind, f"{o} = _new({self.cls(name)})")
        run: list[Field] = []
        for f in st.fields:
            if self.present(f):
                if f.type in FIXED_FORMATS and not self.track:
                    run.append(f)
                    continue
                self.flush_fixed(ind, o, run)
                run = []
                self.push(ind, repr(f.attr))
                self.read_field(ind, f, f"{o}.{slot_of(f)}", end, depth)
                self.pop(ind)
            else:
                self.flush_fixed(ind, o, run)
                run = []
                if not self.tagged(f):
                    s.add(ind, f"{o}.{slot_of(f)} = {self.default_expr(f)}")
        self.flush_fixed(ind, o, run)
        tagged = [f for f in st.fields if self.tagged(f)]
        for f in tagged:
            s.add(ind, f"{o}.{slot_of(f)} = {self.default_expr(f)}")
        if not self.flexible:
            s.add(ind, f"{o}._u = None")
            return
        self.push(ind, "'<tagged fields>'")
        # Tags the struct defines for other versions are refused, as Kafka does.
        foreign = frozenset(f.tag for f in st.fields if f.tag is not None and not self.tagged(f))
        if not tagged:
            s.add(ind, "if buf[pos] == 0:")
            s.add(ind + 1, "pos += 1")
            s.add(ind + 1, f"{o}._u = None")
            s.add(ind, "else:")
            s.add(ind + 1, f"{o}._u, pos = _read_unknown(buf, pos, {end}, {s.const(foreign, '_T')}, {self.version})")
            self.pop(ind)
            return
        nt = self.var("nt")
        self.read_uvar(ind, nt)
        s.add(ind, f"{o}._u = None")
        s.add(ind, f"if {nt}:")
        i2 = ind + 1
        s.add(i2, f"if {nt} > {end} - pos: raise _Bad(f'{{{nt}}} tagged fields but {{{end} - pos}} bytes left')")
        s.add(i2, f"for _ in range({nt}):")
        i3 = i2 + 1
        self.read_uvar(i3, "tag")
        self.read_uvar(i3, "sz")
        te = self.var("te")
        first = True
        for f in tagged:
            s.add(i3, f"{'if' if first else 'elif'} tag == {f.tag}:")
            first = False
            self.push(i3 + 1, repr(f.attr))
            # Like Kafka, a known tag's value is read where it starts and its
            # declared size is not enforced: reading goes on where the value ends.
            self.read_field(i3 + 1, f, f"{o}.{slot_of(f)}", end, depth)
            self.pop(i3 + 1)
        if foreign:
            s.add(i3, f"elif tag in {s.const(foreign, '_T')}:")
            s.add(i3 + 1, f"raise _Bad(f'tag {{tag}} is not valid for version {self.version}')")
        s.add(i3, "else:")
        s.add(i3 + 1, f"{te} = pos + sz")
        s.add(i3 + 1, f"if {te} > {end}: raise _Bad(f'tagged field {{tag}} of {{sz}} bytes exceeds the {{{end} - pos}} remaining')")
        s.add(i3 + 1, f"if {o}._u is None: {o}._u = {{}}")
        s.add(i3 + 1, f"{o}._u[tag] = bytes(buf[pos:{te}])")
        s.add(i3 + 1, f"pos = {te}")
        self.pop(ind)

    def flush_fixed(self, ind: int, o: str, run: list[Field]) -> None:
        if not run:
            return
        s = self.src
        fmt = "".join(FIXED_FORMATS[f.type] for f in run)
        size = sum(_SIZES[f.type] for f in run)
        st = s.unpack(fmt)
        targets = []
        post = []
        for f in run:
            if f.type == "uuid":
                t = self.var("u")
                targets.append(t)
                post.append(f"{o}.{f.attr} = _UUID(bytes={t})")
            else:
                targets.append(f"{o}.{f.attr}")
        lhs = ", ".join(targets) + ("," if len(targets) == 1 else "")
        s.add(ind, f"{lhs} = {st}(buf, pos)")
        for p in post:
            s.add(ind, p)
        s.add(ind, f"pos += {size}")

    def read_length(self, ind: int, f: Field, width: str, n: str) -> None:
        """Reads a length: compact uvarint-1, or int16/int32 per ``width``."""
        s = self.src
        if self.compact(f):
            self.read_uvar(ind, n, two_bytes=f.type in ("bytes", "records"))
            s.add(ind, f"{n} -= 1")
        else:
            s.add(ind, f"{n}, = {s.unpack(width)}(buf, pos)")
            s.add(ind, f"pos += {struct.calcsize(width)}")

    def read_null_check(self, ind: int, f: Field, n: str, target: str, what: str) -> int:
        """Emits the null branch; returns the indent of the non-null branch."""
        s = self.src
        s.add(ind, f"if {n} < 0:")
        if self.nullable(f):
            s.add(ind + 1, f"if {n} != -1: raise _Bad(f'negative {what} length {{{n}}}')")
            s.add(ind + 1, f"{target} = None")
        else:
            s.add(ind + 1, f"raise _Bad(f'null {what} (length {{{n}}}) in a non-nullable field')")
        s.add(ind, "else:")
        return ind + 1

    def read_field(self, ind: int, f: Field, target: str, end: str, depth: int) -> None:
        s = self.src
        t = f.type
        if f.is_array:
            self.read_array(ind, f, target, end, depth)
        elif t in FIXED_FORMATS:
            st = s.unpack(FIXED_FORMATS[t])
            if t == "uuid":
                s.add(ind, f"{target} = _UUID(bytes={st}(buf, pos)[0])")
            else:
                s.add(ind, f"{target}, = {st}(buf, pos)")
            s.add(ind, f"pos += {_SIZES[t]}")
        elif t in ("string", "bytes", "records"):
            n = self.var("n")
            self.read_length(ind, f, "h" if t == "string" else "i", n)
            body = self.read_null_check(ind, f, n, target, t)
            e = self.var("e")
            if t == "string" and self.compact(f):
                s.add(body, f"if {n} > 32767: raise _Bad(f'string length {{{n}}} exceeds 32767')")
            s.add(body, f"{e} = pos + {n}")
            s.add(body, f"if {e} > {end}: raise _Bad(f'{t} length {{{n}}} exceeds the {{{end} - pos}} remaining bytes')")
            if t == "string":
                if self.uses_mv:
                    s.add(body, f"{target} = str(buf[pos:{e}], 'utf-8')")
                else:
                    s.add(body, f"{target} = buf[pos:{e}].decode()")
            elif t == "bytes":
                s.add(body, f"{target} = bytes(buf[pos:{e}])")
            else:
                s.add(body, f"{target} = buf[pos:{e}]")
            s.add(body, f"pos = {e}")
        else:
            ind2 = ind
            if self.nullable(f):
                s.add(ind, "if buf[pos] >= 128:")
                s.add(ind + 1, "pos += 1")
                s.add(ind + 1, f"{target} = None")
                s.add(ind, "else:")
                s.add(ind + 1, "pos += 1")
                ind2 = ind + 1
            if self.track:
                s.add(ind2, f"{target}, pos = {self.fn('d', t)}(buf, pos, {end}, P)")
            else:
                self.decode_body(ind2, t, depth + 1, end)
                s.add(ind2, f"{target} = o{depth + 1}")

    def read_array(self, ind: int, f: Field, target: str, end: str, depth: int) -> None:
        s = self.src
        n = self.var("n")
        self.read_length(ind, f, "i", n)
        body = self.read_null_check(ind, f, n, target, "array")
        s.add(body, f"if {n} > {end} - pos: raise _Bad(f'array length {{{n}}} exceeds the {{{end} - pos}} remaining bytes')")
        et = f.elem_type
        if et in FIXED_FORMATS and et != "uuid" and not self.track:
            code = FIXED_FORMATS[et]
            table = s.const(tuple(struct.Struct(f">{k}{code}").unpack_from for k in range(64)), "_A")
            s.add(body, f"if {n} < 64: {target} = list({table}[{n}](buf, pos))")
            s.add(body, f"else: {target} = list(_unpack_from(f'>{{{n}}}{code}', buf, pos))")
            s.add(body, f"pos += {n} * {_SIZES[et]}")
            return
        lst = self.var("L")
        i = self.var("i")
        s.add(body, f"{lst} = []")
        s.add(body, f"for {i} in range({n}):")
        self.push(body + 1, i)
        if et in FIXED_FORMATS or et in ("string", "bytes", "records"):
            elem = Field("elem", et, f.versions, flexible=f.flexible)
            self.read_field(body + 1, elem, "x", end, depth)
            s.add(body + 1, f"{lst}.append(x)")
        elif self.track:
            s.add(body + 1, f"x, pos = {self.fn('d', et)}(buf, pos, {end}, P)")
            s.add(body + 1, f"{lst}.append(x)")
        else:
            self.decode_body(body + 1, et, depth + 1, end)
            s.add(body + 1, f"{lst}.append(o{depth + 1})")
        self.pop(body + 1)
        s.add(body, f"{target} = {lst}")

    # -- encode ------------------------------------------------------------
    # Encoders append bytes pieces to ``out``; a records buffer is appended
    # as is and its index noted in ``rec`` so that encode_chunks can pass it
    # through.  Like decoding, the fast flavour inlines nested structs
    # (``o{depth}``), the tracking flavour calls one function per struct.
    def gen_encoders(self, root: str) -> str:
        entry = self.fn("e", root)
        while self.pending:
            self.gen_encode_struct(self.pending.pop())
        return entry

    def write_uvar(self, ind: int, expr: str) -> None:
        s = self.src
        n = self.var("w")
        s.add(ind, f"{n} = {expr}")
        s.add(ind, f"ap(_SMALL[{n}] if {n} < 128 else _wuvar({n}))")

    def gen_encode_struct(self, name: str) -> None:
        s = self.src
        extra = ", P" if self.track else ""
        s.add(0, f"def {'t' if self.track else ''}e_{name}(o0, out, rec{extra}):")
        s.add(1, "ap = out.append")
        self.encode_body(1, name, 0)
        s.add(0, "")

    def encode_body(self, ind: int, name: str, depth: int) -> None:
        """Emits code that writes struct ``name`` held in ``o{depth}``."""
        s = self.src
        st = self.msg.structs[name]
        o = f"o{depth}"
        run: list[Field] = []
        for f in st.fields:
            if self.present(f):
                if f.type in FIXED_FORMATS and not self.track:
                    run.append(f)
                    continue
                self.flush_fixed_write(ind, o, run)
                run = []
                self.push(ind, repr(f.attr))
                self.write_field(ind, f, f"{o}.{f.attr}", depth)
                self.pop(ind)
            elif not self.tagged(f) and not f.ignorable:
                self.flush_fixed_write(ind, o, run)
                run = []
                self.push(ind, repr(f.attr))
                self.check_absent(ind, o, f)
                self.pop(ind)
        self.flush_fixed_write(ind, o, run)
        if not self.flexible:
            return
        tagged = sorted((f for f in st.fields if self.tagged(f)), key=lambda f: f.tag)
        if not tagged:
            s.add(ind, f"if {o}._u: _write_unknown(ap, (), {o}._u)")
            s.add(ind, "else: ap(b'\\x00')")
            return
        tg = self.var("tg")
        s.add(ind, f"{tg} = []")
        for f in tagged:
            v = self.var("v")
            s.add(ind, f"{v} = {o}.{slot_of(f)}")
            s.add(ind, f"if {self.non_default(f, v)}:")
            self.push(ind + 1, repr(f.attr))
            out0 = self.var("out")
            s.add(ind + 1, f"{out0} = out; out = []; ap = out.append")
            self.write_field(ind + 1, f, v, depth)
            s.add(ind + 1, f"{tg}.append(({f.tag}, b''.join(out)))")
            s.add(ind + 1, f"out = {out0}; ap = out.append")
            self.pop(ind + 1)
        s.add(ind, f"_write_unknown(ap, {tg}, {o}._u)")

    def non_default(self, f: Field, v: str) -> str:
        if f.is_array:
            return f"{v} is not None" if f.default is None else f"{v}"
        if f.is_struct:
            if f.default is None:
                return f"{v} is not None"
            d = self.src.const(self.classes[f.elem_type](), '_D')
            return f"({v} is not _UNSET and {v} != {d})"
        d = default_for(f, lambda _n: None)
        if d is None:
            return f"{v} is not None"
        return f"{v} != {self.src.const(d)}"

    def check_absent(self, ind: int, o: str, f: Field) -> None:
        s = self.src
        s.add(ind, f"if {self.non_default(f, o + '.' + slot_of(f))}:")
        s.add(ind + 1, f"raise _Unsupported('{f.attr} holds a non-default value but version {self.version} "
                       f"of {self.msg.name} cannot carry it (field versions {f.v})')")

    def flush_fixed_write(self, ind: int, o: str, run: list[Field]) -> None:
        if not run:
            return
        s = self.src
        st = s.pack("".join(FIXED_FORMATS[f.type] for f in run))
        args = ", ".join(f"{o}.{f.attr}.bytes" if f.type == "uuid" else f"{o}.{f.attr}" for f in run)
        s.add(ind, f"ap({st}({args}))")

    def write_length(self, ind: int, f: Field, width: str, n: str) -> None:
        s = self.src
        if self.compact(f):
            self.write_uvar(ind, f"{n} + 1")
        else:
            s.add(ind, f"ap({s.pack(width)}({n}))")

    def write_null(self, ind: int, f: Field, v: str, width: str) -> int:
        """Emits the null case; returns the indent for the non-null case."""
        s = self.src
        s.add(ind, f"if {v} is None:")
        if self.nullable(f):
            if self.compact(f):
                s.add(ind + 1, "ap(b'\\x00')")
            else:
                null = s.const(b"\xff" * struct.calcsize(width))
                s.add(ind + 1, f"ap({null})")
        else:
            s.add(ind + 1, "raise _Unsupported('None in a non-nullable field')")
        s.add(ind, "else:")
        return ind + 1

    def write_field(self, ind: int, f: Field, v: str, depth: int) -> None:
        s = self.src
        t = f.type
        if f.is_array:
            self.write_array(ind, f, v, depth)
        elif t in FIXED_FORMATS:
            st = s.pack(FIXED_FORMATS[t])
            s.add(ind, f"ap({st}({v}.bytes))" if t == "uuid" else f"ap({st}({v}))")
        elif t == "string":
            body = self.write_null(ind, f, v, "h")
            b = self.var("b")
            s.add(body, f"{b} = {v}.encode('utf-8')")
            if self.compact(f):
                s.add(body, f"if len({b}) > 32767: raise _Unsupported(f'string of {{len({b})}} bytes exceeds 32767')")
            self.write_length(body, f, "h", f"len({b})")
            s.add(body, f"ap({b})")
        elif t == "bytes":
            body = self.write_null(ind, f, v, "i")
            b = self.var("b")
            s.add(body, f"{b} = _as_bytes({v})")
            self.write_length(body, f, "i", f"len({b})")
            s.add(body, f"ap({b})")
        elif t == "records":
            self.has_records = True
            body = self.write_null(ind, f, v, "i")
            c, n = self.var("c"), self.var("n")
            s.add(body, f"{c}, {n} = _records_chunks({v})")
            self.write_length(body, f, "i", n)
            s.add(body, f"for x in {c}:")
            s.add(body + 1, "rec.append(len(out))")
            s.add(body + 1, "ap(x)")
        else:
            ind2 = ind
            if self.nullable(f):
                s.add(ind, f"if {v} is None: ap(b'\\xff')")
                s.add(ind, "else:")
                s.add(ind + 1, "ap(b'\\x01')")
                ind2 = ind + 1
            self.write_struct(ind2, t, v, depth)

    def write_struct(self, ind: int, name: str, v: str, depth: int) -> None:
        if self.track:
            self.src.add(ind, f"{self.fn('e', name)}({v}, out, rec, P)")
        else:
            self.src.add(ind, f"o{depth + 1} = {v}")
            self.encode_body(ind, name, depth + 1)

    def write_array(self, ind: int, f: Field, v: str, depth: int) -> None:
        s = self.src
        body = self.write_null(ind, f, v, "i")
        self.write_length(body, f, "i", f"len({v})")
        et = f.elem_type
        if et in FIXED_FORMATS and et != "uuid" and not self.track:
            s.add(body, f"if {v}: ap(_pack(f'>{{len({v})}}{FIXED_FORMATS[et]}', *{v}))")
            return
        i = self.var("i")
        x = self.var("x")
        if self.track:
            s.add(body, f"for {i}, {x} in enumerate({v}):")
        else:
            s.add(body, f"for {x} in {v}:")
        self.push(body + 1, i)
        if et in FIXED_FORMATS or et in ("string", "bytes", "records"):
            self.write_field(body + 1, Field("elem", et, f.versions, flexible=f.flexible), x, depth)
        else:
            self.write_struct(body + 1, et, x, depth)
        self.pop(body + 1)


def _as_bytes(v: Any) -> bytes:
    if isinstance(v, bytes):
        return v
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    raise TypeError(f"expected a bytes-like object, got {type(v).__name__}")


def _nbytes(c: Any) -> int:
    if isinstance(c, (bytes, bytearray)):
        return len(c)
    if isinstance(c, memoryview):
        return c.nbytes
    raise TypeError(f"records chunk must be bytes-like, got {type(c).__name__}")


def _records_chunks(v: Any) -> tuple[tuple[Any, ...] | list[Any], int]:
    """A records value as (chunks, total length): one buffer or a list of them."""
    if type(v) is bytes:
        return (v,), len(v)
    if isinstance(v, (list, tuple)):
        return v, sum(_nbytes(c) for c in v)
    return (v,), _nbytes(v)


def has_records(msg: Message) -> bool:
    """Whether any struct of the message has a records field.

    Such messages are decoded from a memoryview (records stay zero-copy
    slices); all others from ``bytes``, where string slices decode faster.
    """
    return any(f.type == "records" for st in msg.structs.values() for f in st.fields)


def _read_unknown(buf: Any, pos: int, end: int, foreign: frozenset[int] = frozenset(),
                  version: int = -1) -> tuple[dict[int, bytes] | None, int]:
    """Reads a tagged-field section of a struct that knows no tags in this version
    (``foreign``: tags it defines for other versions, refused)."""
    nt, pos = read_uvarint(buf, pos)
    if nt > end - pos:
        raise Malformed(f"{nt} tagged fields but {end - pos} bytes left")
    u: dict[int, bytes] | None = None
    for _ in range(nt):
        tag, pos = read_uvarint(buf, pos)
        size, pos = read_uvarint(buf, pos)
        te = pos + size
        if te > end:
            raise Malformed(f"tagged field {tag} of {size} bytes exceeds the {end - pos} remaining")
        if tag in foreign:
            raise Malformed(f"tag {tag} is not valid for version {version}")
        if u is None:
            u = {}
        u[tag] = bytes(buf[pos:te])
        pos = te
    return u, pos


def _write_unknown(ap: Callable[[Any], None], known: Any, unknown: dict[int, bytes] | None) -> None:
    """Writes a tagged-field section: the known fields plus the kept unknown ones, by tag."""
    items = list(known)
    if unknown:
        items.extend(unknown.items())
        items.sort(key=lambda kv: kv[0])
    ap(write_uvarint(len(items)))
    for tag, raw in items:
        ap(write_uvarint(tag))
        ap(write_uvarint(len(raw)))
        ap(bytes(raw))


def _uvar(buf: Any, pos: int) -> tuple[int, int]:
    return read_uvarint(buf, pos)


def _bad(reason: str) -> Malformed:
    return Malformed(reason)


_RUNTIME: dict[str, Any] = {
    "_new": object.__new__,
    "_UUID": uuid.UUID,
    "_uvar": _uvar,
    "_wuvar": write_uvarint,
    "_Bad": Malformed,
    "_Unsupported": Unsupported,
    "_unpack_from": struct.unpack_from,
    "_pack": struct.pack,
    "_as_bytes": _as_bytes,
    "_records_chunks": _records_chunks,
    "_write_unknown": _write_unknown,
    "_read_unknown": _read_unknown,
    "_UNSET": UNSET,
    "_SMALL": tuple(bytes([i]) for i in range(128)),
}


def compile_version(msg: Message, version: int, classes: dict[str, type], kind: str,
                    track: bool) -> tuple[Callable[..., Any], str, bool]:
    """Returns (entry function, its source, whether records chunks are emitted).

    ``kind`` is ``"d"`` (decode) or ``"e"`` (encode); ``track`` picks the
    path-tracking flavour.
    """
    comp = _Compiler(msg, version, classes, track)
    entry = comp.gen_decoders(msg.name) if kind == "d" else comp.gen_encoders(msg.name)
    # The functions are nested in a factory whose parameters are the runtime
    # helpers and constants: inside, they are closure cells, not global lookups.
    names = {**_RUNTIME, **comp.src.consts}
    body = "".join(f"    {line}\n" for line in comp.src.lines)
    source = f"def _factory({', '.join(names)}):\n{body}    return {entry}\n"
    ns: dict[str, Any] = {}
    code = compile(source, f"<kproto {msg.name} v{version} {kind}{'t' if track else ''}>", "exec")
    exec(code, ns)  # noqa: S102 - source generated from kproto's own definitions
    return ns["_factory"](*names.values()), source, comp.has_records

