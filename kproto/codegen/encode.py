"""Generator of flat encode functions (fast and path-tracking flavours)."""
from __future__ import annotations

import struct

from kproto.codegen.base import CompilerBase
from kproto.codegen.runtime import default_for, slot_of
from kproto.schema import FIXED_FORMATS, Field

__all__ = ["EncodeGen"]


class EncodeGen(CompilerBase):
    """Emits encode functions: ``e_<Struct>(obj, out, rec)`` appending to ``out``."""

    # -- encode ------------------------------------------------------------
    # Encoders append bytes pieces to ``out``; a records buffer is appended
    # as is and its index noted in ``rec`` so that encode_chunks can pass it
    # through.  Like decoding, the fast flavour inlines nested structs
    # (``o{depth}``), the tracking flavour calls one function per struct.
    def generate(self, root: str) -> str:
        entry = self.fn("e", root)
        while self.pending:
            self.gen_encode_struct(self.pending.pop())
        return entry

    def write_uvar(self, ind: int, expr: str) -> None:
        s = self.src
        n = self.var("w")
        s.add(ind, f"{n} = {expr}")
        # Lengths of records and bytes are usually 128..16383: two bytes, one pack.
        s.add(ind, f"if {n} < 128: ap(_SMALL[{n}])")
        s.add(ind, f"elif {n} < 16384: ap(_pack_u16(((({n} & 127) | 128) << 8) | ({n} >> 7)))")
        s.add(ind, f"else: ap(_wuvar({n}))")

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
            s.add(ind + 1, "raise ValueError('None in a non-nullable field')")
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
                s.add(body, f"if len({b}) > 32767: raise ValueError(f'string of {{len({b})}} bytes exceeds 32767')")
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
            c, n, r = self.var("c"), self.var("n"), self.var("r")
            # One bytes object (what producers and mirrors hold) skips the
            # chunk-list normalisation.
            s.add(body, f"{r} = {v}")
            s.add(body, f"if type({r}) is bytes:")
            self.write_length(body + 1, f, "i", f"len({r})")
            s.add(body + 1, "rec.append(len(out))")
            s.add(body + 1, f"ap({r})")
            s.add(body, "else:")
            s.add(body + 1, f"{c}, {n} = _records_chunks({r})")
            self.write_length(body + 1, f, "i", n)
            s.add(body + 1, f"for x in {c}:")
            s.add(body + 2, "rec.append(len(out))")
            s.add(body + 2, "ap(x)")
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
