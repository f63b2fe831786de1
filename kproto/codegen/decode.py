"""Generator of flat decode functions (fast and path-tracking flavours)."""
from __future__ import annotations

import struct

from kproto.codegen.base import SIZES, CompilerBase
from kproto.codegen.runtime import slot_of
from kproto.schema import FIXED_FORMATS, Field

__all__ = ["DecodeGen"]


class DecodeGen(CompilerBase):
    """Emits decode functions: ``d_<Struct>(buf, pos, end) -> (obj, pos)``."""

    # -- decode ------------------------------------------------------------
    # The fast flavour inlines nested structs into their parent's function (no
    # call, no tuple per element); the tracking flavour keeps one function per
    # struct and pushes the path.  ``o{depth}`` names the object being built.
    def generate(self, root: str) -> str:
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
            s.add(ind, f"elif buf[pos + 2] < 128:")
            s.add(ind + 1, f"{target} = ({target} & 127) | ((buf[pos + 1] & 127) << 7) | (buf[pos + 2] << 14)")
            s.add(ind + 1, "pos += 3")
        s.add(ind, f"else: {target}, pos = _uvar(buf, pos)")

    def gen_decode_struct(self, name: str) -> None:
        s = self.src
        extra = ", P" if self.track else ""
        s.add(0, f"def {'t' if self.track else ''}d_{name}(buf, pos, end{extra}):")
        self.decode_body(1, name, 0, "end")
        s.add(1, "return o0, pos")
        s.add(0, "")

    def min_size(self, name: str) -> int:
        """The fewest bytes one struct ``name`` takes on the wire in this version."""
        total = 1 if self.flexible else 0  # the tagged-field count
        for f in self.msg.structs[name].fields:
            if not self.present(f):
                continue
            t = f.type
            if f.is_array:
                total += 1 if self.compact(f) else 4
            elif t in FIXED_FORMATS:
                total += SIZES[t]
            elif t in ("string", "bytes", "records"):
                total += 1 if self.compact(f) else (2 if t == "string" else 4)
            elif self.nullable(f):
                total += 1
            else:
                total += self.min_size(t)
        return total

    def decode_body(self, ind: int, name: str, depth: int, end: str, alloc: bool = True) -> None:
        """Emits code that decodes struct ``name`` into ``o{depth}`` (allocated
        here unless the caller already did)."""
        s = self.src
        st = self.msg.structs[name]
        o = f"o{depth}"
        if alloc:
            s.add(ind, f"{o} = _new({self.cls(name)})")
        run: list[Field] = []
        for f in st.fields:
            if self.present(f):
                if f.type in FIXED_FORMATS and not self.track:
                    run.append(f)
                    continue
                # The length byte of a fast-path field is read with the fixed run.
                pre = self.var("n") if run and self.short_candidate(f) else None
                self.flush_fixed(ind, o, run, pre)
                run = []
                self.push(ind, repr(f.attr))
                self.read_field(ind, f, f"{o}.{slot_of(f)}", end, depth, pre)
                self.pop(ind)
            else:
                self.flush_fixed(ind, o, run)
                run = []
                if not self.tagged(f):
                    s.add(ind, f"{o}.{slot_of(f)} = {self.default_expr(f)}")
        # The tagged-field count byte is read with a final fixed run.
        first = self.var("tb") if run and self.flexible else "buf[pos]"
        self.flush_fixed(ind, o, run, None if first == "buf[pos]" else first)
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
            s.add(ind, f"if {first} == 0:")
            s.add(ind + 1, "pos += 1")
            s.add(ind + 1, f"{o}._u = None")
            s.add(ind, "else:")
            s.add(ind + 1, f"{o}._u, pos = _read_unknown(buf, pos, {end}, {s.const(foreign, '_T')}, {self.version})")
            self.pop(ind)
            return
        nt = self.var("nt")
        s.add(ind, f"{o}._u = None")
        if not self.track:
            # Most structs carry none of their tagged fields: one byte, 0.
            s.add(ind, f"if {first} == 0: pos += 1")
            s.add(ind, "else:")
            ind += 1
        self.read_uvar(ind, nt)
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

    def short_candidate(self, f: Field) -> bool:
        """Whether the fast flavour reads ``f`` through a one-length-byte fast path."""
        if self.track or not self.compact(f):
            return False
        if f.is_array:
            return f.elem_type in FIXED_FORMATS and f.elem_type != "uuid"
        return f.type == "string"

    def flush_fixed(self, ind: int, o: str, run: list[Field], pre: str | None = None) -> None:
        """One unpack for a run of fixed-width fields (plus, as ``pre``, the
        first byte after them, which then stays unconsumed)."""
        if not run:
            return
        s = self.src
        fmt = "".join(FIXED_FORMATS[f.type] for f in run) + ("B" if pre else "")
        size = sum(SIZES[f.type] for f in run)
        st = s.unpack(fmt)
        targets = []
        post = []
        for f in run:
            if f.type == "uuid":
                t = self.var("u")
                targets.append(t)
                post.append(f"{o}.{f.attr} = _uuids_get({t}) or _uuid({t})")
            else:
                targets.append(f"{o}.{f.attr}")
        if pre:
            targets.append(pre)
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

    def short_string(self, ind: int, target: str, end: str, pre: str | None = None) -> int:
        """Emits the fast branch of a compact string under 127 bytes (one length
        byte, neither null nor over 32767); returns the indent of the general case."""
        s = self.src
        n, e = pre or self.var("n"), self.var("e")
        if not pre:
            s.add(ind, f"{n} = buf[pos]")
        s.add(ind, f"if 0 < {n} < 128:")
        s.add(ind + 1, f"{e} = pos + {n}")
        s.add(ind + 1, f"if {e} > {end}: raise _Bad(f'string length {{{n} - 1}} exceeds the {{{end} - pos - 1}} remaining bytes')")
        if self.uses_mv:
            s.add(ind + 1, f"{target} = str(buf[pos + 1:{e}], 'utf-8')")
        else:
            s.add(ind + 1, f"{target} = buf[pos + 1:{e}].decode()")
        s.add(ind + 1, f"pos = {e}")
        s.add(ind, "else:")
        return ind + 1

    def short_int_array(self, ind: int, f: Field, target: str, pre: str | None = None) -> int:
        """Emits the fast branch of a compact array of under 63 fixed-width ints:
        one precompiled Struct skips the length byte and reads them all (its own
        bounds check refuses a short buffer); returns the indent of the general case."""
        s = self.src
        code = FIXED_FORMATS[f.elem_type]
        size = SIZES[f.elem_type]
        table = s.const((None,) + tuple(struct.Struct(f">x{k}{code}").unpack_from for k in range(63)), "_A")
        n = pre or self.var("n")
        if not pre:
            s.add(ind, f"{n} = buf[pos]")
        s.add(ind, f"if 0 < {n} < 64:")
        s.add(ind + 1, f"{target} = [*{table}[{n}](buf, pos)]")
        s.add(ind + 1, f"pos += {n} * {size} - {size - 1}")
        s.add(ind, "else:")
        return ind + 1

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

    def read_field(self, ind: int, f: Field, target: str, end: str, depth: int,
                   pre: str | None = None) -> None:
        """Emits code reading ``f`` into ``target`` (``pre``: its first byte, already read)."""
        s = self.src
        t = f.type
        if f.is_array:
            self.read_array(ind, f, target, end, depth, pre)
        elif t in FIXED_FORMATS:
            st = s.unpack(FIXED_FORMATS[t])
            if t == "uuid":
                u = self.var("u")
                s.add(ind, f"{u}, = {st}(buf, pos)")
                s.add(ind, f"{target} = _uuids_get({u}) or _uuid({u})")
            else:
                s.add(ind, f"{target}, = {st}(buf, pos)")
            s.add(ind, f"pos += {SIZES[t]}")
        elif t in ("string", "bytes", "records"):
            if t == "string" and self.compact(f) and not self.track:
                ind = self.short_string(ind, target, end, pre)
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

    def read_array(self, ind: int, f: Field, target: str, end: str, depth: int,
                   pre: str | None = None) -> None:
        s = self.src
        et = f.elem_type
        if et in FIXED_FORMATS and et != "uuid" and not self.track and self.compact(f):
            ind = self.short_int_array(ind, f, target, pre)
        n = self.var("n")
        self.read_length(ind, f, "i", n)
        body = self.read_null_check(ind, f, n, target, "array")
        s.add(body, f"if {n} > {end} - pos: raise _Bad(f'array length {{{n}}} exceeds the {{{end} - pos}} remaining bytes')")
        if et in FIXED_FORMATS and et != "uuid" and not self.track:
            code = FIXED_FORMATS[et]
            table = s.const(tuple(struct.Struct(f">{k}{code}").unpack_from for k in range(64)), "_A")
            s.add(body, f"if {n} < 64: {target} = [*{table}[{n}](buf, pos)]")
            s.add(body, f"else: {target} = [*_unpack_from(f'>{{{n}}}{code}', buf, pos)]")
            s.add(body, f"pos += {n} * {SIZES[et]}")
            return
        lst = self.var("L")
        i = self.var("i")
        is_struct = not (et in FIXED_FORMATS or et in ("string", "bytes", "records"))
        if is_struct and self.min_size(et) > 1:
            ms = self.min_size(et)
            s.add(body, f"if {n} * {ms} > {end} - pos: raise _Bad(f'array of {{{n}}} elements needs at least "
                        f"{{{n} * {ms}}} bytes but {{{end} - pos}} remain')")
        if is_struct and not self.track:
            # All elements allocated by one C-level map (no call and no
            # append per element); the checks above bound their number by
            # the bytes left.
            o = f"o{depth + 1}"
            s.add(body, f"{lst} = [*_map(_new, _repeat({self.cls(et)}, {n}))]")
            s.add(body, f"for {o} in {lst}:")
            self.decode_body(body + 1, et, depth + 1, end, alloc=False)
            s.add(body, f"{target} = {lst}")
            return
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
