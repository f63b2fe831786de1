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

from typing import Any, Callable

from kproto.codegen.decode import DecodeGen
from kproto.codegen.encode import EncodeGen
from kproto.codegen.runtime import RUNTIME, UNSET, Unsupported, default_for, has_records, is_lazy, slot_of
from kproto.schema import Message

__all__ = ["compile_version", "default_for", "has_records", "is_lazy", "slot_of", "UNSET", "Unsupported"]


def compile_version(msg: Message, version: int, classes: dict[str, type], kind: str,
                    track: bool) -> tuple[Callable[..., Any], str, bool]:
    """Returns (entry function, its source, whether records chunks are emitted).

    ``kind`` is ``"d"`` (decode) or ``"e"`` (encode); ``track`` picks the
    path-tracking flavour.
    """
    comp = (DecodeGen if kind == "d" else EncodeGen)(msg, version, classes, track)
    entry = comp.generate(msg.name)
    # The functions are nested in a factory whose parameters are the runtime
    # helpers and constants: inside, they are closure cells, not global lookups.
    names = {**RUNTIME, **comp.src.consts}
    body = "".join(f"    {line}\n" for line in comp.src.lines)
    source = f"def _factory({', '.join(names)}):\n{body}    return {entry}\n"
    ns: dict[str, Any] = {}
    code = compile(source, f"<kproto {msg.name} v{version} {kind}{'t' if track else ''}>", "exec")
    exec(code, ns)  # noqa: S102 - source generated from kproto's own definitions
    return ns["_factory"](*names.values()), source, comp.has_records

