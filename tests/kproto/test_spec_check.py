"""kproto's definitions against the JSON specs that kafka-python 3 installs.

kafka-python ships its own copy of Apache Kafka's message specs (older or
equal to kproto's 4.4.0 source).  For every message both know, the fields are
compared one by one: names and order, types, versions, nullable versions, tag
ids, tagged versions, field-level flexible versions and defaults.  Messages
whose valid versions are the same in both copies must match exactly; the rest
(specs that changed between the two Kafka versions) may differ only in fields
that changed, and the overlap must stay large.
"""
from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

import pytest

from kproto import messages
from kproto.schema import NO_DEFAULT, Field, Message, Versions

RESOURCES = "kafka.protocol.schemas.resources"


def strip_comments(text: str) -> str:
    return re.sub(r"(?m)^\s*//.*\n?", "", text)


def kafka_python_specs() -> dict[str, dict[str, Any]]:
    out = {}
    for entry in resources.files(RESOURCES).iterdir():
        if entry.name.endswith(".json"):
            spec = json.loads(strip_comments(entry.read_text()))
            out[spec["name"]] = spec
    return out


SPECS = kafka_python_specs()
SHARED = sorted(n for n in SPECS if n in messages.all_names())


def norm_versions(text: str | None) -> str:
    return str(Versions.parse(text))


def typed_default(ftype: str, raw: Any) -> Any:
    if raw == "null":
        return None
    if ftype in ("int8", "int16", "int32", "int64", "uint16", "uint32"):
        return int(raw, 0) if isinstance(raw, str) else int(raw)
    if ftype == "bool":
        return raw if isinstance(raw, bool) else raw == "true"
    if ftype == "float64":
        return float(raw)
    return raw


def describe_json(field: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": field["type"],
        "versions": norm_versions(field["versions"]),
        "nullable": norm_versions(field.get("nullableVersions")),
        "tag": field.get("tag"),
        "tagged": norm_versions(field.get("taggedVersions")),
        "flexible": norm_versions(field["flexibleVersions"]) if "flexibleVersions" in field else None,
        "default": typed_default(field["type"], field["default"]) if "default" in field else NO_DEFAULT,
    }


def describe_kproto(f: Field) -> dict[str, Any]:
    return {
        "type": f.type,
        "versions": str(f.v),
        "nullable": str(f.nv),
        "tag": f.tag,
        "tagged": str(f.tv),
        "flexible": None if f.fv is None else str(f.fv),
        "default": f.default,
    }


def compare_fields(json_fields: list[dict[str, Any]], common: dict[str, list[dict[str, Any]]],
                   mine: Message, struct_name: str, path: str, diffs: list[str]) -> int:
    """Compares one struct's fields recursively; returns how many fields matched."""
    ours = {f.name: f for f in mine.structs[struct_name].fields}
    if [f["name"] for f in json_fields] != [f.name for f in mine.structs[struct_name].fields]:
        diffs.append(f"{path}: field names {[f['name'] for f in json_fields]} != {list(ours)}")
    matched = 0
    for jf in json_fields:
        f = ours.get(jf["name"])
        if f is None:
            continue
        want, got = describe_json(jf), describe_kproto(f)
        bad = {k: (want[k], got[k]) for k in want if want[k] != got[k]}
        if bad:
            diffs.append(f"{path}.{jf['name']}: {bad}")
        else:
            matched += 1
        elem = jf["type"][2:] if jf["type"].startswith("[]") else jf["type"]
        sub = jf.get("fields", common.get(elem))
        if sub is not None and elem in mine.structs:
            matched += compare_fields(sub, common, mine, elem, f"{path}.{jf['name']}", diffs)
    return matched


def compare_message(name: str) -> tuple[int, list[str]]:
    spec = SPECS[name]
    mine = messages.definition(name)
    diffs: list[str] = []
    for key, ours in (("validVersions", str(mine.valid_versions)),
                      ("flexibleVersions", str(mine.flexible_versions))):
        if norm_versions(spec.get(key, "none")) != ours:
            diffs.append(f"{name}.{key}: {spec.get(key)} != {ours}")
    if spec.get("apiKey") != mine.api_key:
        diffs.append(f"{name}.apiKey: {spec.get('apiKey')} != {mine.api_key}")
    common = {s["name"]: s["fields"] for s in spec.get("commonStructs", [])}
    matched = compare_fields(spec.get("fields", []), common, mine, name, name, diffs)
    return matched, diffs


# Where kafka-python's copy differs from Kafka 4.4.0 on purpose: it keeps fields
# of versions Kafka 4 removed (it still talks to old brokers), or it is older.
# A difference starting with ":" is in the message's top-level fields.
KNOWN_DIFFERENCES = {
    "DescribeConfigsResponse": ["Results.Configs: field names"],  # keeps IsDefault (v0)
    "OffsetCommitRequest": ["Topics.Partitions: field names"],  # keeps CommitTimestamp (v1)
    "ListOffsetsRequest": ["Topics.Partitions: field names"],  # MaxNumOffsets (v0)
    "ListOffsetsResponse": ["Topics.Partitions: field names"],  # OldStyleOffsets (v0)
    # older: 4.4.0 added ApiVersions v5 (ClusterId, NodeId), DeleteGroups v3
    # (ErrorMessage) and TxnOffsetCommit v6 (topic ids, GenerationIdOrMemberEpoch)
    "ApiVersionsRequest": ["validVersions", ": field names"],
    "ApiVersionsResponse": ["validVersions"],
    "DeleteGroupsRequest": ["validVersions"],
    "DeleteGroupsResponse": ["validVersions", "Results: field names"],
    "TxnOffsetCommitRequest": ["validVersions", ": field names", "Topics"],
    "TxnOffsetCommitResponse": ["validVersions", "Topics"],
}


def test_the_overlap_is_large() -> None:
    assert len(SPECS) >= 100
    assert len(SHARED) >= 0.95 * len(SPECS), sorted(set(SPECS) - set(SHARED))
    total = sum(compare_message(n)[0] for n in SHARED)
    assert total >= 850  # fields equal in every compared attribute


@pytest.mark.parametrize("name", SHARED)
def test_definitions_match_field_by_field(name: str) -> None:
    matched, diffs = compare_message(name)
    allowed = [f"{name}{d}" if d.startswith(":") else f"{name}.{d}" for d in KNOWN_DIFFERENCES.get(name, [])]
    unexpected = [d for d in diffs if not any(d.startswith(a) for a in allowed)]
    assert not unexpected, "\n".join(unexpected)
    assert matched > 0 or not SPECS[name].get("fields")


def test_a_wrong_definition_is_caught() -> None:
    # The comparison itself must see a change: alter one field of a copy of kproto's Produce spec.
    mine = messages.definition("ProduceRequest")
    spec = json.loads(json.dumps(SPECS["ProduceRequest"]))
    spec["fields"][0]["nullableVersions"] = "none"
    diffs: list[str] = []
    compare_fields(spec["fields"], {}, mine, "ProduceRequest", "ProduceRequest", diffs)
    assert diffs and "TransactionalId" in diffs[0]
