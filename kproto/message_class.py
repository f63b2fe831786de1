"""Build the Python classes of one message definition (the message and its structs).

Every struct becomes a ``__slots__`` class with a keyword-only constructor
(omitted fields take their spec default), ``==`` and ``repr``.  The message
class also gets ``encode``/``encode_chunks``/``decode``; their per-version
functions are compiled by ``kproto.codegen`` on first use and cached.
"""
from __future__ import annotations

import gc
import keyword
import struct
import threading
from typing import Any, Callable, ClassVar

from kproto.codegen import UNSET, Unsupported, compile_version, default_for, has_records, is_lazy, slot_of
from kproto.exceptions import DecodeError, EncodeError, UnsupportedVersion
from kproto.primitives import Malformed
from kproto.schema import Field, Message

__all__ = ["build_classes", "KafkaStruct", "KafkaMessage", "DECODE_FAILURES", "ENCODE_FAILURES"]

_MISSING: Any = object()
_gc_isenabled = gc.isenabled
_gc_disable = gc.disable
_gc_enable = gc.enable

#: Bodies from this size on are decoded with the cyclic garbage collector
#: paused (see _Codec.decode); below it the three calls cost more than they save.
GC_PAUSE_MIN_BYTES = 2048

#: What a generated decoder can raise on malformed input; all become DecodeError.
DECODE_FAILURES = (Malformed, struct.error, IndexError, ValueError, UnicodeDecodeError,
                   OverflowError, TypeError, RecursionError, MemoryError)
#: What a generated encoder can raise on a bad object; all become EncodeError.
ENCODE_FAILURES = (Unsupported, struct.error, AttributeError, TypeError, ValueError,
                   OverflowError, UnicodeEncodeError, RecursionError, IndexError)


class KafkaStruct:
    """Base of every generated struct class."""

    __slots__ = ("_u",)
    _FIELDS: ClassVar[tuple[Field, ...]] = ()
    _ATTRS: ClassVar[tuple[str, ...]] = ()

    @property
    def unknown_tags(self) -> dict[int, bytes]:
        """Tagged fields this version does not know, kept to be written back."""
        u = self._u
        if u is None:
            u = self._u = {}
        return u

    @unknown_tags.setter
    def unknown_tags(self, value: dict[int, bytes]) -> None:
        self._u = dict(value) if value else None

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        for a in self._ATTRS:
            if getattr(self, a) != getattr(other, a):
                return False
        return (self._u or None) == (other._u or None)  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = [f"{a}={getattr(self, a, '<unset>')!r}" for a in self._ATTRS]
        if self._u:
            parts.append(f"unknown_tags={self._u!r}")
        return f"{type(self).__qualname__}({', '.join(parts)})"


class KafkaMessage(KafkaStruct):
    """Base of every generated message (request/response/header/data) class."""

    __slots__ = ()
    API_KEY: ClassVar[int | None] = None
    NAME: ClassVar[str] = ""
    VALID_VERSIONS: ClassVar[tuple[int, int] | None] = None
    FLEXIBLE_FROM: ClassVar[int | None] = None
    DEFINITION: ClassVar[Message]
    _codec: ClassVar["_Codec"]

    def encode(self, version: int) -> bytes:
        """The body in ``version`` as one bytes object."""
        return b"".join(self._codec.encode_parts(self, version)[0])

    def encode_chunks(self, version: int) -> list[Any]:
        """The body as a list of buffers; ``records`` buffers pass through uncopied."""
        out, rec = self._codec.encode_parts(self, version)
        if not rec:
            return [b"".join(out)]
        chunks: list[Any] = []
        start = 0
        for i in rec:
            if i > start:
                chunks.append(b"".join(out[start:i]))
            chunks.append(out[i])
            start = i + 1
        if start < len(out):
            chunks.append(b"".join(out[start:]))
        return chunks

    @classmethod
    def decode(cls, buf: Any, version: int) -> Any:
        """Decode a body; ``records`` fields are ``memoryview`` slices of ``buf``."""
        return cls._codec.decode(buf, version)


def _format_path(path: list[Any]) -> str:
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + p
    return out


class _Codec:
    """Per-message cache of compiled functions, keyed by version."""

    def __init__(self, cls: type, msg: Message, classes: dict[str, type]) -> None:
        self.cls = cls
        self.msg = msg
        self.classes = classes
        self.valid = msg.valid_versions
        self.zero_copy = has_records(msg)
        self.dec: dict[int, Callable[..., Any]] = {}
        self.enc: dict[int, Callable[..., Any]] = {}
        self.tdec: dict[int, Callable[..., Any]] = {}  # path-tracking flavours, built on first error
        self.tenc: dict[int, Callable[..., Any]] = {}
        self.lock = threading.Lock()

    def check_version(self, version: int, error: type[Exception]) -> None:
        if not isinstance(version, int) or version not in self.valid:
            raise error(self.msg.name, version, "",
                        f"version {version!r} outside the valid versions {self.valid}")

    def compiled(self, table: dict[int, Any], kind: str, version: int, track: bool) -> Any:
        with self.lock:
            fn = table.get(version)
            if fn is None:
                fn = compile_version(self.msg, version, self.classes, kind, track)[0]
                table[version] = fn
            return fn

    def decode(self, buf: Any, version: int) -> Any:
        fn = self.dec.get(version)
        if fn is None:
            self.check_version(version, DecodeError)
            fn = self.compiled(self.dec, "d", version, False)
        if self.zero_copy:
            mv = buf if type(buf) is memoryview else memoryview(buf)
            if mv.format != "B" or mv.ndim != 1:
                mv = mv.cast("B")
        elif type(buf) is bytes:
            mv = buf
        elif isinstance(buf, (bytearray, memoryview)):
            mv = bytes(buf)
        else:
            mv = bytes(memoryview(buf))  # TypeError for a non-buffer, never bytes(int)
        end = len(mv)
        # A decoder builds a tree: it creates no reference cycles, so a
        # collection triggered by its allocations (one per 700 new objects:
        # each struct and each list) can free nothing, yet walks every young
        # object.  Pausing the collector took about 40 % off a 1,000-partition
        # Metadata decode.  The decoded objects stay counted: they are
        # examined at the next collection if still alive (once, instead of in
        # several passes while decoding).  The collector is switched back on
        # only if this call switched it off.
        paused = end >= GC_PAUSE_MIN_BYTES and _gc_isenabled()
        if paused:
            _gc_disable()
        try:
            obj, pos = fn(mv, 0, end)
        except DECODE_FAILURES as exc:
            raise self.locate_decode_error(mv, version, exc) from None
        finally:
            if paused:
                _gc_enable()
        if pos != end:
            raise DecodeError(self.msg.name, version, "",
                              f"{end - pos} trailing bytes after the message")
        return obj

    def locate_decode_error(self, mv: Any, version: int, first: BaseException) -> DecodeError:
        """Re-run the path-tracking decoder to name the field that failed."""
        tfn = self.compiled(self.tdec, "d", version, True)
        path: list[Any] = []
        try:
            tfn(mv, 0, len(mv), path)
        except DECODE_FAILURES as exc:
            return DecodeError(self.msg.name, version, _format_path(path), _reason(exc))
        return DecodeError(self.msg.name, version, "", _reason(first))

    def encode_parts(self, obj: Any, version: int) -> tuple[list[Any], list[int]]:
        """The pieces of the body, and the indexes of the records buffers among them."""
        fn = self.enc.get(version)
        if fn is None:
            self.check_version(version, UnsupportedVersion)
            fn = self.compiled(self.enc, "e", version, False)
        if type(obj) is not self.cls:
            raise EncodeError(self.msg.name, version, "", f"expected {self.cls.__name__}, got {type(obj).__name__}")
        out: list[Any] = []
        rec: list[int] = []
        try:
            fn(obj, out, rec)
        except ENCODE_FAILURES as exc:
            raise self.locate_encode_error(obj, version, exc) from None
        return out, rec

    def locate_encode_error(self, obj: Any, version: int, first: BaseException) -> EncodeError:
        tfn = self.compiled(self.tenc, "e", version, True)
        path: list[Any] = []
        try:
            tfn(obj, [], [], path)
        except ENCODE_FAILURES as exc:
            kind = UnsupportedVersion if isinstance(exc, Unsupported) else EncodeError
            return kind(self.msg.name, version, _format_path(path), _reason(exc))
        return EncodeError(self.msg.name, version, "", _reason(first))


def _reason(exc: BaseException) -> str:
    """A short reason for an exception raised inside generated code."""
    if isinstance(exc, (Malformed, Unsupported)):
        return str(exc.args[0]) if exc.args else type(exc).__name__
    if isinstance(exc, IndexError) or (isinstance(exc, struct.error) and "buffer" in str(exc)):
        return f"truncated input ({exc})"
    return f"{type(exc).__name__}: {exc}"


def _attr_name(f: Field) -> str:
    a = f.attr
    if keyword.iskeyword(a) or a in ("encode", "decode", "encode_chunks", "unknown_tags"):
        a += "_"
    f.attr = a
    return a


def _lazy_property(f: Field, classes: dict[str, type]) -> property:
    """Property over a lazy struct slot: builds the default instance on first read."""
    slot = slot_of(f)
    struct_name = f.elem_type

    def get(self: Any) -> Any:
        v = getattr(self, slot)
        if v is UNSET:
            v = classes[struct_name]()
            setattr(self, slot, v)
        return v

    def set_(self: Any, value: Any) -> None:
        setattr(self, slot, value)

    return property(get, set_, doc=f"{f.name} ({struct_name}); its default is built on first read.")


def _make_init(name: str, fields: list[Field], classes: dict[str, type]) -> Callable[..., None]:
    """A keyword-only __init__ whose omitted arguments take the spec defaults."""
    ns: dict[str, Any] = {"_MISSING": _MISSING, "_UNSET": UNSET}
    params = []
    body = []
    for i, f in enumerate(fields):
        a = f.attr
        if is_lazy(f):
            params.append(f"{a}=_MISSING")
            body.append(f"    self.{slot_of(f)} = _UNSET if {a} is _MISSING else {a}")
        elif f.is_array and f.default is not None:
            params.append(f"{a}=_MISSING")
            body.append(f"    self.{a} = [] if {a} is _MISSING else {a}")
        else:
            ns[f"_d{i}"] = default_for(f, lambda _n: None)
            params.append(f"{a}=_d{i}")
            body.append(f"    self.{a} = {a}")
    params.append("unknown_tags=None")
    body.append("    self._u = dict(unknown_tags) if unknown_tags else None")
    src = f"def __init__(self, *, {', '.join(params)}):\n" + "\n".join(body) + "\n"
    exec(compile(src, f"<kproto {name}.__init__>", "exec"), ns)  # noqa: S102
    return ns["__init__"]  # type: ignore[no-any-return]


def build_classes(msg: Message, module: str = "kproto.messages") -> type:
    """All classes of one message; nested structs hang off the message class."""
    classes: dict[str, type] = {}
    for sname, st in msg.structs.items():
        for f in st.fields:
            _attr_name(f)
        attrs = tuple(f.attr for f in st.fields)
        if len(set(attrs)) != len(attrs):
            raise ValueError(f"{msg.name}.{sname}: two fields map to one attribute name")
        slots = tuple(slot_of(f) for f in st.fields)
        base = KafkaMessage if sname == msg.name else KafkaStruct
        ns: dict[str, Any] = {
            "__slots__": slots,
            "__module__": module,
            "__qualname__": sname if sname == msg.name else f"{msg.name}.{sname}",
            "__doc__": f"{sname} of {msg.name} (Kafka spec struct).",
            "_FIELDS": tuple(st.fields),
            "_ATTRS": attrs,
        }
        for f in st.fields:
            if is_lazy(f):
                ns[f.attr] = _lazy_property(f, classes)
        classes[sname] = type(sname, (base,), ns)
    for sname, st in msg.structs.items():
        classes[sname].__init__ = _make_init(sname, st.fields, classes)  # type: ignore[misc]
    top = classes[msg.name]
    for sname, c in classes.items():
        if c is not top:
            setattr(top, sname, c)
    valid = msg.valid_versions
    flex = msg.flexible_versions
    top.NAME = msg.name  # type: ignore[attr-defined]
    top.API_KEY = msg.api_key  # type: ignore[attr-defined]
    top.VALID_VERSIONS = None if valid.empty else (valid.lo, valid.hi)  # type: ignore[attr-defined]
    top.FLEXIBLE_FROM = None if flex.empty else flex.lo  # type: ignore[attr-defined]
    top.DEFINITION = msg  # type: ignore[attr-defined]
    top._codec = _Codec(top, msg, classes)  # type: ignore[attr-defined]
    return top
