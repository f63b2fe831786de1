"""kproto against kafka-python 3: the same values must give the same bytes.

kafka-python 3 generates its message classes from its own copy of Kafka's
JSON specs. For every API it has and every version whose wire layout is the
same in its copy and in the pinned 4.4.0 specs, random messages are built in
both libraries from the same values and must encode to identical bytes, and
each library must decode the other's bytes back to the same encoding.
"""
from __future__ import annotations

import base64
import importlib
import os
import pkgutil
import random
import uuid
from typing import Any, Iterator, Sequence

import pytest

from kafkabed.javacodec import (
    FieldSpec,
    MessageSpec,
    RandomMessages,
    build_object,
    in_range,
    json_name,
    message_specs,
)

kafka_protocol = pytest.importorskip("kafka.protocol")
messages = pytest.importorskip("kproto.messages", reason="kproto.messages has not landed yet")
from kafka.protocol.api_data import ApiData  # noqa: E402
from kafka.protocol.api_message import ApiMessage  # noqa: E402
from kafka.protocol.schemas.fields.codecs import BitField  # noqa: E402

CASES = int(os.environ.get("KPROTO_DIFFERENTIAL_CASES", "25"))
SPECS = message_specs()


def _kafka_python_classes() -> dict[str, type]:
    """Every message class kafka-python generates from a JSON spec, by spec name."""
    for info in pkgutil.walk_packages(kafka_protocol.__path__, "kafka.protocol."):
        if ".old" not in info.name and not info.name.endswith("generate_stubs"):
            importlib.import_module(info.name)

    def subclasses(cls: type) -> Iterator[type]:
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    found = {c.name: c for c in subclasses(ApiMessage)
             if c._class_version is None and getattr(c, "_json", None)}
    found.update({c.name: c for c in subclasses(ApiData) if getattr(c, "_json", None)})
    return found


KP_CLASSES = _kafka_python_classes()


# -- which versions have the same wire layout in both spec copies --------------

def _kp_type(field: Any) -> str:
    # kafka-python patches some int32 authorized-operations fields into a
    # "bitfield" type (a set of bit numbers); on the wire it is an int32.
    return field._type_str.replace("bitfield", "int32")


def _kp_layout(fields: Sequence[Any], version: int) -> tuple:
    out = []
    for f in fields:
        if not f.for_version_q(version):
            continue
        sub = _kp_subfields(f)
        out.append((_kp_type(f).startswith("[]"), _kp_type(f) if sub is None else "struct",
                    f.nullable_for_version_q(version),
                    f.tag if f.tagged_field_q(version) else None,
                    _kp_flex(f, version),
                    _kp_layout(sub, version) if sub is not None else None))
    return tuple(out)


def _kp_subfields(f: Any) -> tuple | None:
    if f.is_struct_array():
        return f.array_of._fields
    if f.is_struct():
        return f._fields
    return None


def _kp_flex(f: Any, version: int) -> bool | None:
    versions = getattr(f, "_flexible_versions", None)
    return None if versions is None else versions[0] <= version <= versions[1]


def _our_layout(fields: Sequence[FieldSpec], version: int) -> tuple:
    out = []
    for f in fields:
        if not in_range(version, f.versions):
            continue
        flex = None if f.flexible is False else in_range(version, f.flexible)  # type: ignore[arg-type]
        out.append((f.is_array, f.type if not f.is_struct else "struct",
                    in_range(version, f.nullable),
                    f.tag if in_range(version, f.tagged) else None,
                    flex,
                    _our_layout(f.fields or (), version) if f.is_struct else None))
    return tuple(out)


def kp_encode(kp: type, obj: Any, version: int) -> bytes:
    if issubclass(kp, ApiData):  # data messages: body only, no int16 version prefix
        return bytes(obj.encode(version=version, header=False))
    return bytes(obj.encode(version=version))


def kp_decode(kp: type, data: bytes, version: int) -> Any:
    if issubclass(kp, ApiData):
        return kp.decode(data, version=version, header=False)
    obj = kp.decode(data, version=version)
    obj._header = None  # kafka-python 3.0.12's decode skips __init__, which sets it
    return obj


def comparable_versions(spec: MessageSpec, kp: type) -> list[int]:
    """Versions valid in both copies whose layout (types, nullability, tags) is equal."""
    out = []
    for v in spec.versions():
        lo, hi = kp._valid_versions
        if not lo <= v <= hi:
            continue
        if kp.flexible_version_q(v) != in_range(v, spec.flexible):
            continue
        if _kp_layout(kp._struct._fields, v) == _our_layout(spec.fields, v):
            out.append(v)
    return out


PAIRS = sorted(
    ((SPECS[name], kp) for name, kp in KP_CLASSES.items() if name in SPECS),
    key=lambda pair: (pair[0].api_key if pair[0].api_key is not None else -1, pair[0].name),
)


# -- JsonConverter-form values into kafka-python objects -----------------------

def to_kafka_python(cls: Any, ours: Sequence[FieldSpec], theirs: Sequence[Any], version: int,
                    value: dict[str, Any]) -> Any:
    """Build a kafka-python object; fields are paired by position within the version."""
    kwargs = {}
    present = [f for f in ours if in_range(version, f.versions)]
    their_present = [f for f in theirs if f.for_version_q(version)]
    for mine, their in zip(present, their_present, strict=True):
        key = json_name(mine.name)
        if key in value:
            kwargs[their.name] = _kp_value(mine, their, version, value[key])
    is_top = isinstance(cls, type) and issubclass(cls, (ApiMessage, ApiData))
    return cls(version=version, **kwargs) if is_top else cls(**kwargs)


def _kp_value(mine: FieldSpec, their: Any, version: int, item: Any) -> Any:
    if item is None:
        return None
    if mine.is_array:
        return [_kp_scalar(mine, their, mine.element, version, x) for x in item]
    return _kp_scalar(mine, their, mine.type, version, item)


def _kp_scalar(mine: FieldSpec, their: Any, ftype: str, version: int, item: Any) -> Any:
    if mine.is_struct:
        return to_kafka_python(their.data_class, mine.fields or (), _kp_subfields(their), version, item)
    if their._type_str == "bitfield":
        bits = BitField.from_32_bit_field(item & 0xFFFFFFFF)
        return None if bits == {31} else bits
    if ftype in ("bytes", "records"):
        return base64.b64decode(item)
    if ftype == "uuid":
        return uuid.UUID(bytes=base64.urlsafe_b64decode(item + "=="))
    return item


# -- the tests ------------------------------------------------------------------

def test_kafka_python_apis_are_all_known_to_the_pinned_specs() -> None:
    assert len(PAIRS) >= 100  # kafka-python 3.0.12: 104 API spec classes (52 APIs) + 2 data
    # kafka-python's own data classes (StickyAssignorUserData) have no Kafka spec.
    assert {name for name, c in KP_CLASSES.items() if issubclass(c, ApiMessage)} <= set(SPECS)


def test_most_kafka_python_versions_are_comparable() -> None:
    """Guard against the layout filter silently excluding everything."""
    total = compared = 0
    for spec, kp in PAIRS:
        lo, hi = kp._valid_versions
        both = [v for v in spec.versions() if lo <= v <= hi]
        total += len(both)
        compared += len(comparable_versions(spec, kp))
    assert compared >= 0.9 * total, f"only {compared} of {total} shared versions have equal layouts"


@pytest.mark.parametrize("spec,kp", PAIRS, ids=[s.name for s, _ in PAIRS])
def test_same_values_same_bytes(spec: MessageSpec, kp: type) -> None:
    versions = comparable_versions(spec, kp)
    ours_cls = getattr(messages, spec.name)
    gen = RandomMessages(random.Random(f"differential:{spec.name}"))
    for v in versions:
        for _ in range(CASES):
            value = gen.message(spec, v)
            ours = build_object(ours_cls, ours_cls, spec.fields, v, value).encode(v)
            theirs = kp_encode(kp, to_kafka_python(kp, spec.fields, kp._struct._fields, v, value), v)
            assert ours == theirs, (f"{spec.name} v{v} values {value}\nkproto       {ours.hex()}\n"
                                    f"kafka-python {theirs.hex()}")
            assert ours_cls.decode(theirs, v).encode(v) == theirs
            if spec.name == "ApiVersionsResponse" and value["errorCode"] != 0:
                continue  # kafka-python decodes any failed ApiVersions body as v0 on purpose
            assert kp_encode(kp, kp_decode(kp, ours, v), v) == ours
