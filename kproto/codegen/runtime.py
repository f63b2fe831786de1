"""What generated codecs call at run time, and the field facts both sides share.

Kept apart from the generators so that the exec'd code depends on this small
module only: the helpers here are passed into every generated factory.
"""
from __future__ import annotations

import itertools
import struct
import uuid
from typing import Any, Callable

from kproto.primitives import Malformed, ZERO_UUID, read_uvarint, write_uvarint
from kproto.schema import NO_DEFAULT, Field, Message

__all__ = ["RUNTIME", "UNSET", "Unsupported", "default_for", "has_records", "is_lazy", "slot_of", "write_tag_section"]


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


def write_tag_section(ap: Callable[[Any], None], known: Any, unknown: dict[int, bytes] | None) -> None:
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


#: Decoded UUIDs by their 16 bytes.  A client sees the same few topic IDs in
#: every response, and ``UUID(bytes=...)`` costs about a microsecond; UUIDs
#: are immutable, so one object can be shared.  Bounded: past the limit,
#: new IDs are built but not kept.
_UUIDS: dict[bytes, uuid.UUID] = {}
_UUIDS_MAX = 4096


def _uuid(raw: bytes) -> uuid.UUID:
    u = uuid.UUID(bytes=raw)
    if len(_UUIDS) < _UUIDS_MAX:
        _UUIDS[raw] = u
    return u


#: Names the generated code refers to (each passed into its factory).
RUNTIME: dict[str, Any] = {
    "_new": object.__new__,
    "_map": map,
    "_repeat": itertools.repeat,
    "_UUID": uuid.UUID,
    "_uuid": _uuid,
    "_uuids_get": _UUIDS.get,
    "_uvar": read_uvarint,
    "_wuvar": write_uvarint,
    "_Bad": Malformed,
    "_Unsupported": Unsupported,
    "_unpack_from": struct.unpack_from,
    "_pack": struct.pack,
    "_pack_u16": struct.Struct(">H").pack,
    "_as_bytes": _as_bytes,
    "_records_chunks": _records_chunks,
    "_write_unknown": write_tag_section,
    "_read_unknown": _read_unknown,
    "_UNSET": UNSET,
    "_SMALL": tuple(bytes([i]) for i in range(128)),
}
