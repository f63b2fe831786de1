"""Apache Kafka's own message codec as a test oracle, in one long-lived JVM.

`java/KafkaCodecServer.java` is compiled at first use against the pinned
kafka-clients jar (fetched by the test bed, never committed as classes) and
answers many cases over a pipe, so the JVM start-up is paid once per test
module. Each case is wire bytes (Kafka reads them, writes them back and
renders its JsonConverter JSON), JsonConverter JSON (Kafka builds the
message from it) or a request for Kafka's default message.

The module has four parts, in this order: the helper process (`JavaCodec`,
`Case`, `Answer`); Kafka's JSON specs read from the same jar
(`message_specs`); random valid messages in JsonConverter form
(`RandomMessages`); and conversion between that form and kproto-style
objects (`build_object`, `render_object`). Used by the kproto conformance
tests; never by runtime code.
"""
from __future__ import annotations

import atexit
import base64
import ctypes
import fcntl
import hashlib
import json
import keyword
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
import uuid
import zipfile
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, Iterable, Sequence

from .fetch import cache_root, kafka_jars
from .versions import PINNED

SOURCE = Path(__file__).with_name("java") / "KafkaCodecServer.java"
MAIN_CLASS = "KafkaCodecServer"

_HEAD = struct.Struct(">ibhh")  # frame length, op, api key, version
_LEN = struct.Struct(">i")
_OP_FROM_JSON = 4
_OP_LIST = 8
_OP_DATA_BYTES = 9
_OP_DATA_JSON = 10
_OP_DEFAULT = 11
_OP_DATA_DEFAULT = 15
_NAME_LEN = struct.Struct(">h")
_PR_SET_PDEATHSIG = 1


class Kind(IntEnum):
    """What a case's bytes are: a message body or one of the two headers."""

    REQUEST = 0
    RESPONSE = 1
    REQUEST_HEADER = 2
    RESPONSE_HEADER = 3


class JavaCodecError(RuntimeError):
    """The helper itself failed (not a case Kafka rejected): it died or spoke garbage."""


@dataclass(frozen=True)
class Case:
    """One question for Kafka: `payload` is wire bytes, or a JSON value if `from_json`.

    `data_class` names a "data" message (ConsumerProtocolAssignment, ...)
    instead of an API body or header; `kind` and `api_key` are then ignored.
    """

    kind: Kind
    api_key: int
    version: int
    payload: bytes | Any
    from_json: bool = False
    data_class: str | None = None
    #: Ask for Kafka's default-constructed message instead (payload ignored).
    default: bool = False


@dataclass(frozen=True)
class Answer:
    """Kafka's reply: its serialization and JSON rendering, or why it refused."""

    ok: bool
    data: bytes = b""
    json: Any = None
    error: str = ""


def helper_classpath(version: str = PINNED) -> list[Path]:
    """The jars the helper needs: kafka-clients and Jackson (for JsonConverter)."""
    jars = [p for p in kafka_jars(version)
            if p.name.startswith(("kafka-clients-", "jackson-core-", "jackson-databind-",
                                  "jackson-annotations-"))]
    if not any(p.name.startswith("kafka-clients-") for p in jars):
        raise JavaCodecError(f"no kafka-clients jar among the fetched jars of Kafka {version}")
    return jars


def compile_helper(jars: Sequence[Path], source: Path = SOURCE, main_class: str = MAIN_CLASS,
                   cache: str = "javacodec") -> Path:
    """Compile a Java helper once per (source, jars) into the cache; return the class dir.

    Also used by kafkabed/streams.py for its Kafka Streams application."""
    javac = shutil.which("javac")
    if javac is None:
        raise JavaCodecError(f"'javac' (JDK 17+) is not on PATH; {source.name} needs it")
    digest = hashlib.sha256(source.read_bytes())
    for jar in jars:
        digest.update(jar.name.encode())
    target = cache_root() / cache / digest.hexdigest()[:16]
    done = target / f"{main_class}.class"
    if done.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / "compile.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return target
        work = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
        try:
            cmd = [javac, "-J-Xmx256m", "-nowarn", "-d", str(work),
                   "-cp", os.pathsep.join(map(str, jars)), str(source)]
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode != 0:
                raise JavaCodecError(f"javac failed ({run.returncode}):\n{run.stdout}{run.stderr}")
            os.replace(work, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def _load_libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None


# Loaded here, not in the child: dlopen between fork and exec can deadlock.
_LIBC = _load_libc()


def _die_with_parent() -> None:
    # Between fork and exec: the JVM gets SIGKILL if this process dies.
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class JavaCodec:
    """A running helper JVM. Use as a context manager; `close()` always reaps it."""

    def __init__(self, version: str = PINNED, heap: str = "256m") -> None:
        jars = helper_classpath(version)
        classes = compile_helper(jars)
        java = shutil.which("java")
        if java is None:
            raise JavaCodecError("'java' (JDK 17+) is not on PATH")
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            [java, f"-Xmx{heap}", "-XX:+UseSerialGC", "-Xss4m",
             "-cp", os.pathsep.join([str(classes), *map(str, jars)]), MAIN_CLASS],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            start_new_session=True, preexec_fn=_die_with_parent,
        )
        self._lock = threading.Lock()
        atexit.register(self.close)

    def __enter__(self) -> JavaCodec:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def close(self) -> None:
        """Close stdin (the helper exits on EOF); kill it if it lingers."""
        proc = self._proc
        if proc.poll() is None:
            try:
                proc.stdin.close()
            except OSError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if not self._stderr.closed:
            self._stderr.close()
        atexit.unregister(self.close)

    # -- questions ---------------------------------------------------------

    def roundtrip(self, kind: Kind, api_key: int, version: int, data: bytes) -> Answer:
        """Kafka reads `data` and writes it back."""
        return self.run([Case(kind, api_key, version, data)])[0]

    def from_json(self, kind: Kind, api_key: int, version: int, value: Any) -> Answer:
        """Kafka builds the message from its JsonConverter form and serializes it."""
        return self.run([Case(kind, api_key, version, value, from_json=True)])[0]

    def apis(self) -> list[dict[str, Any]]:
        """The API keys and version ranges of Kafka's ApiMessageType, plus the headers."""
        frame = _HEAD.pack(5, _OP_LIST, 0, 0)
        (answer,) = self._exchange([frame])
        if not answer.ok:
            raise JavaCodecError(f"listing APIs failed: {answer.error}")
        return answer.json

    def run(self, cases: Iterable[Case]) -> list[Answer]:
        """Ask many cases at once; replies come back in order."""
        frames = []
        for case in cases:
            if case.from_json:
                payload = json.dumps(case.payload, allow_nan=True).encode()
                op = _OP_FROM_JSON + int(case.kind)
            else:
                payload = bytes(case.payload)
                op = int(case.kind)
            if case.default:
                payload = b""
                op = _OP_DEFAULT + int(case.kind)
            if case.data_class is not None:
                name = case.data_class.encode()
                payload = _NAME_LEN.pack(len(name)) + name + payload
                op = (_OP_DATA_DEFAULT if case.default else
                      _OP_DATA_JSON if case.from_json else _OP_DATA_BYTES)
            frames.append(_HEAD.pack(5 + len(payload), op, case.api_key, case.version) + payload)
        return self._exchange(frames)

    # -- wire --------------------------------------------------------------

    def _exchange(self, frames: list[bytes]) -> list[Answer]:
        with self._lock:
            if self._proc.poll() is not None:
                raise JavaCodecError(f"the helper JVM has exited: {self._tail()}")
            failure: list[BaseException] = []

            def write_all() -> None:
                # A separate writer keeps both pipes moving: the helper may
                # block on a full stdout while we are still writing stdin.
                try:
                    for frame in frames:
                        self._proc.stdin.write(frame)
                    self._proc.stdin.flush()
                except BaseException as exc:  # reported after the reads
                    failure.append(exc)

            writer = threading.Thread(target=write_all, name="javacodec-writer", daemon=True)
            writer.start()
            try:
                answers = [self._read_answer() for _ in frames]
            finally:
                writer.join()
            if failure:
                raise JavaCodecError(f"writing to the helper failed: {failure[0]!r}")
            return answers

    def _read_answer(self) -> Answer:
        out = self._proc.stdout
        head = out.read(4)
        if len(head) < 4:
            raise JavaCodecError(f"the helper JVM stopped answering: {self._tail()}")
        (length,) = _LEN.unpack(head)
        body = out.read(length)
        if len(body) < length or length < 1:
            raise JavaCodecError(f"short reply ({len(body)} of {length} bytes): {self._tail()}")
        if body[0] == 1:
            return Answer(ok=False, error=body[1:].decode("utf-8", "replace"))
        if body[0] != 0:
            raise JavaCodecError(f"reply status {body[0]} is neither 0 nor 1")
        (size,) = _LEN.unpack_from(body, 1)
        data = body[5:5 + size]
        text = body[5 + size:].decode("utf-8")
        return Answer(ok=True, data=data, json=json.loads(text) if text else None)

    def _tail(self) -> str:
        code = self._proc.poll()
        try:
            self._stderr.seek(0)
            err = self._stderr.read()[-4000:].decode("utf-8", "replace")
        except (OSError, ValueError):
            err = ""
        return f"exit code {code}, stderr: {err.strip() or '(empty)'}"


# -- Kafka's JSON message specs (the definitions the Java classes are generated from)

#: A version range, inclusive at both ends; `None` in place of one means "none".
VersionRange = tuple[int, int]
_NO_UPPER = 0x7FFF


def parse_versions(text: str | None) -> VersionRange | None:
    """'3+', '1-4', '7' or 'none' (as in Kafka's specs) to an inclusive range."""
    if text is None or text == "none":
        return None
    text = text.strip()
    try:
        if text.endswith("+"):
            return (int(text[:-1]), _NO_UPPER)
        if "-" in text:
            lo, hi = text.split("-", 1)
            return (int(lo), int(hi))
        return (int(text), int(text))
    except ValueError:
        raise ValueError(f"not a Kafka version range: {text!r}") from None


def in_range(version: int, versions: VersionRange | None) -> bool:
    return versions is not None and versions[0] <= version <= versions[1]


@dataclass(frozen=True)
class FieldSpec:
    """One field of a message spec, with struct types resolved to their fields."""

    name: str
    type: str  # 'int32', 'string', '[]int32', 'SomeStruct', '[]SomeStruct', ...
    versions: VersionRange | None
    nullable: VersionRange | None
    tagged: VersionRange | None
    tag: int | None
    default: Any  # the raw spec value, or None if the spec has none
    fields: tuple[FieldSpec, ...] | None  # for struct and []struct types
    flexible: VersionRange | None | bool  # field-level override; False if absent

    @property
    def element(self) -> str:
        """The element type of an array, or the type itself."""
        return self.type[2:] if self.type.startswith("[]") else self.type

    @property
    def is_array(self) -> bool:
        return self.type.startswith("[]")

    @property
    def is_struct(self) -> bool:
        return self.fields is not None


@dataclass(frozen=True)
class MessageSpec:
    """One JSON spec file: a request, response, header or data message."""

    name: str
    kind: str  # 'request', 'response', 'header', 'data', ...
    api_key: int | None
    valid: VersionRange | None
    flexible: VersionRange | None
    fields: tuple[FieldSpec, ...]
    latest_unstable: bool

    def versions(self) -> range:
        if self.valid is None:
            return range(0)
        return range(self.valid[0], self.valid[1] + 1)


def _strip_comments(text: str) -> str:
    # Kafka's specs only use whole-line // comments.
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def _field(raw: dict[str, Any], structs: dict[str, list[dict[str, Any]]], where: str) -> FieldSpec:
    name = raw["name"]
    ftype = raw["type"]
    element = ftype[2:] if ftype.startswith("[]") else ftype
    sub = raw.get("fields")
    if sub is None and element in structs:
        sub = structs[element]
    fields = tuple(_field(f, structs, f"{where}.{name}") for f in sub) if sub is not None else None
    if fields is None and element[:1].isupper():
        raise ValueError(f"{where}.{name}: struct type {element!r} has no definition")
    flexible: VersionRange | None | bool = False
    if "flexibleVersions" in raw:
        flexible = parse_versions(raw["flexibleVersions"])
    return FieldSpec(
        name=name, type=ftype, versions=parse_versions(raw.get("versions")),
        nullable=parse_versions(raw.get("nullableVersions")),
        tagged=parse_versions(raw.get("taggedVersions")), tag=raw.get("tag"),
        default=raw.get("default"), fields=fields, flexible=flexible,
    )


def parse_spec(text: str) -> MessageSpec:
    """Parse one spec file's text (comments allowed) into a MessageSpec."""
    raw = json.loads(_strip_comments(text))
    structs: dict[str, list[dict[str, Any]]] = {}

    def collect(fields: list[dict[str, Any]]) -> None:
        for f in fields:
            if "fields" in f:
                element = f["type"][2:] if f["type"].startswith("[]") else f["type"]
                structs.setdefault(element, f["fields"])
                collect(f["fields"])

    for common in raw.get("commonStructs", []):
        structs[common["name"]] = common["fields"]
    for common in raw.get("commonStructs", []):
        collect(common["fields"])
    collect(raw.get("fields", []))
    return MessageSpec(
        name=raw["name"], kind=raw["type"], api_key=raw.get("apiKey"),
        valid=parse_versions(raw.get("validVersions")),
        flexible=parse_versions(raw.get("flexibleVersions")),
        fields=tuple(_field(f, structs, raw["name"]) for f in raw.get("fields", [])),
        latest_unstable=bool(raw.get("latestVersionUnstable", False)),
    )


def message_specs(version: str = PINNED) -> dict[str, MessageSpec]:
    """Every `common/message/*.json` spec inside the kafka-clients jar of `version`."""
    jar = next(p for p in helper_classpath(version) if p.name.startswith("kafka-clients-"))
    specs: dict[str, MessageSpec] = {}
    with zipfile.ZipFile(jar) as archive:
        for entry in archive.namelist():
            if entry.startswith("common/message/") and entry.endswith(".json"):
                text = archive.read(entry).decode("utf-8")
                try:
                    spec = parse_spec(text)
                except (ValueError, KeyError) as exc:
                    raise ValueError(f"{entry} in {jar.name}: {exc}") from exc
                specs[spec.name] = spec
    return specs



_HEADER_KINDS = {"RequestHeader": Kind.REQUEST_HEADER, "ResponseHeader": Kind.RESPONSE_HEADER}


def is_codec_spec(spec: MessageSpec) -> bool:
    """Specs with classes in Kafka: API bodies, the two headers and data messages (not removed APIs)."""
    return spec.valid is not None and (
        spec.kind in ("request", "response", "data") or spec.name in _HEADER_KINDS)


def case_for(spec: MessageSpec, version: int, payload: bytes | Any, from_json: bool = False,
             default: bool = False) -> Case:
    """The Case asking Kafka about one message of `spec`: bytes, JSON, or its default."""
    if spec.kind == "data":
        return Case(Kind.REQUEST, 0, version, payload, from_json, data_class=spec.name, default=default)
    if spec.kind in ("request", "response"):
        kind = Kind.REQUEST if spec.kind == "request" else Kind.RESPONSE
        return Case(kind, spec.api_key or 0, version, payload, from_json, default=default)
    if spec.name in _HEADER_KINDS:
        return Case(_HEADER_KINDS[spec.name], 0, version, payload, from_json, default=default)
    raise ValueError(f"{spec.name}: Kafka has no codec class for a {spec.kind!r} spec")

# -- random messages in JsonConverter form ---------------------------------

ZERO_UUID = "AAAAAAAAAAAAAAAAAAAAAA"  # Uuid.ZERO_UUID as Kafka prints it
_INT_RANGES = {
    "int8": (-(1 << 7), (1 << 7) - 1), "int16": (-(1 << 15), (1 << 15) - 1),
    "int32": (-(1 << 31), (1 << 31) - 1), "int64": (-(1 << 63), (1 << 63) - 1),
    "uint16": (0, (1 << 16) - 1), "uint32": (0, (1 << 32) - 1),
}
_TEXT = "abcxyzABC019 -_.:/é中🙂\u00a0"


def uuid_text(raw: bytes) -> str:
    """Kafka's Uuid.toString(): URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def default_json(field: FieldSpec, version: int) -> Any:
    """The JsonConverter value of `field` when it holds its spec default."""
    raw = field.default
    if raw == "null":
        return None
    ftype = field.type
    if field.is_array:
        return []
    if field.is_struct:
        return struct_default(field.fields or (), version)
    if ftype in _INT_RANGES:
        return int(raw, 0) if isinstance(raw, str) else int(raw or 0)
    if ftype == "bool":
        return raw is True or raw == "true"
    if ftype == "float64":
        return float(raw) if raw is not None else 0.0
    if ftype == "string":
        return raw if raw is not None else ""
    if ftype == "bytes":
        return ""
    if ftype == "records":
        return None
    if ftype == "uuid":
        return ZERO_UUID
    raise ValueError(f"field {field.name}: unknown type {ftype!r}")


def struct_default(fields: Sequence[FieldSpec], version: int) -> dict[str, Any]:
    """A default-constructed struct as JsonConverter renders it (tagged defaults left out)."""
    out: dict[str, Any] = {}
    for f in fields:
        if in_range(version, f.versions) and not in_range(version, f.tagged):
            out[json_name(f.name)] = default_json(f, version)
    return out


def json_name(spec_name: str) -> str:
    """JsonConverter's key for a spec field: the name with a lower-case first letter."""
    return spec_name[:1].lower() + spec_name[1:]


class RandomMessages:
    """Random, valid messages of a spec version in JsonConverter form.

    Values cover the edges (type bounds, nulls where nullable, empty and
    non-ASCII strings, absent and present tagged fields) so that a codec's
    every branch is hit across a few dozen cases per version.
    """

    def __init__(self, rng: random.Random, max_items: int = 3, max_depth: int = 4) -> None:
        self.rng = rng
        self.max_items = max_items
        self.max_depth = max_depth

    def message(self, spec: MessageSpec, version: int) -> dict[str, Any]:
        return self.struct(spec.fields, version, 0)

    def struct(self, fields: Sequence[FieldSpec], version: int, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields:
            if not in_range(version, f.versions):
                continue
            tagged = in_range(version, f.tagged)
            if tagged and self.rng.random() < 0.35:
                continue  # absent tagged field: holds its default
            value = self.value(f, version, depth)
            if tagged and value == default_json(f, version):
                continue  # Kafka never writes a tagged field at its default
            out[json_name(f.name)] = value
        return out

    def value(self, f: FieldSpec, version: int, depth: int) -> Any:
        rng = self.rng
        if in_range(version, f.nullable) and rng.random() < 0.2:
            return None
        if f.is_array:
            limit = self.max_items if depth < self.max_depth else 0
            count = rng.randint(0, max(0, limit - depth // 2))
            return [self.scalar_or_struct(f, f.element, version, depth + 1) for _ in range(count)]
        return self.scalar_or_struct(f, f.type, version, depth)

    def scalar_or_struct(self, f: FieldSpec, ftype: str, version: int, depth: int) -> Any:
        rng = self.rng
        if f.is_struct:
            return self.struct(f.fields or (), version, depth + 1)
        if ftype in _INT_RANGES:
            lo, hi = _INT_RANGES[ftype]
            pick = rng.random()
            if pick < 0.3:
                return rng.choice((lo, hi, 0, -1 if lo < 0 else 1, 1))
            if pick < 0.6:
                return rng.randint(max(lo, -300), min(hi, 300))
            return rng.randint(lo, hi)
        if ftype == "bool":
            return rng.random() < 0.5
        if ftype == "float64":
            return rng.choice((0.0, 1.5, -2.25, 1e300, -5e-324, rng.uniform(-1e9, 1e9)))
        if ftype == "string":
            return "".join(rng.choice(_TEXT) for _ in range(rng.choice((0, 1, 3, 8, 20))))
        if ftype in ("bytes", "records"):
            size = rng.choice((0, 1, 7, 61, 100))
            return base64.b64encode(rng.randbytes(size)).decode()
        if ftype == "uuid":
            return ZERO_UUID if rng.random() < 0.2 else uuid_text(rng.randbytes(16))
        raise ValueError(f"field {f.name}: unknown type {ftype!r}")


def rendered(fields: Sequence[FieldSpec], version: int, value: dict[str, Any]) -> dict[str, Any]:
    """What JsonConverter prints back for `value`: records fields become their size.

    The helper asks for write(..., serializeRecords=false), which prints a
    records field as "<name>SizeInBytes" (or "<name>": null); the bytes
    themselves are checked by the byte-for-byte comparison instead.
    """
    out: dict[str, Any] = {}
    for f in fields:
        key = json_name(f.name)
        if key not in value:
            continue
        item = value[key]
        if f.type == "records" and item is not None:
            out[key + "SizeInBytes"] = len(base64.b64decode(item))
        elif f.is_struct and item is not None:
            sub = f.fields or ()
            out[key] = ([rendered(sub, version, x) for x in item] if f.is_array
                        else rendered(sub, version, item))
        else:
            out[key] = item
    return out


# -- JsonConverter form <-> kproto-style objects -------------------------------
# kproto's contract (docs/kproto-api.md): attributes are the snake_case spec
# names, nested struct classes hang off the message class under their spec
# struct name, uuid values are uuid.UUID, bytes/records are bytes-like.

_RESERVED_ATTRS = {"encode", "decode", "encode_chunks", "unknown_tags"}


def attr_name(spec_name: str) -> str:
    """The attribute of a spec field: TopicData -> topic_data, a keyword gets a '_'."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", spec_name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()
    return s + "_" if keyword.iskeyword(s) or s in _RESERVED_ATTRS else s


def build_object(top: type, cls: type, fields: Sequence[FieldSpec], version: int,
                 value: dict[str, Any]) -> Any:
    """A kproto-style object from JsonConverter-form values (absent keys keep defaults)."""
    kwargs = {}
    for f in fields:
        key = json_name(f.name)
        if in_range(version, f.versions) and key in value:
            kwargs[attr_name(f.name)] = _value_in(top, f, version, value[key])
    return cls(**kwargs)


def _value_in(top: type, f: FieldSpec, version: int, item: Any) -> Any:
    if item is None:
        return None
    if f.is_array:
        return [_scalar_in(top, f, f.element, version, x) for x in item]
    return _scalar_in(top, f, f.type, version, item)


def _scalar_in(top: type, f: FieldSpec, ftype: str, version: int, item: Any) -> Any:
    if f.is_struct:
        sub = getattr(top, ftype, None)
        if sub is None:
            raise AssertionError(f"{top.__name__} has no nested struct class {ftype}")
        return build_object(top, sub, f.fields or (), version, item)
    if ftype in ("bytes", "records"):
        return base64.b64decode(item)
    if ftype == "uuid":
        return uuid.UUID(bytes=base64.urlsafe_b64decode(item + "=="))
    return item


def render_object(obj: Any, fields: Sequence[FieldSpec], version: int) -> dict[str, Any]:
    """A kproto-style object as Kafka's JsonConverter prints it (records as sizes)."""
    out: dict[str, Any] = {}
    for f in fields:
        if not in_range(version, f.versions):
            continue
        key = json_name(f.name)
        value = getattr(obj, attr_name(f.name))
        if f.type == "records":
            if value is None:
                out[key] = None
            else:
                out[key + "SizeInBytes"] = memoryview(value).nbytes
            continue
        item = _value_out(f, version, value)
        if in_range(version, f.tagged) and item == default_json(f, version):
            continue  # Kafka omits a tagged field at its default
        out[key] = item
    return out


def _value_out(f: FieldSpec, version: int, value: Any) -> Any:
    if value is None:
        return None
    if f.is_array:
        return [_scalar_out(f, f.element, version, x) for x in value]
    return _scalar_out(f, f.type, version, value)


def _scalar_out(f: FieldSpec, ftype: str, version: int, value: Any) -> Any:
    if f.is_struct:
        return render_object(value, f.fields or (), version)
    if ftype == "bytes":
        return base64.b64encode(bytes(value)).decode()
    if ftype == "uuid":
        if not isinstance(value, uuid.UUID):
            raise AssertionError(f"{f.name}: a uuid field holds {type(value).__name__}")
        return uuid_text(value.bytes)
    if ftype == "float64":
        return float(value)
    return value
