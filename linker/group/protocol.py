"""What members exchange through the coordinator: JSON, versioned, the linker's own protocol.

JoinGroup metadata: the member's claim (what it owns, since which generation, the bytes/s it
measured for it) and who it is.
SyncGroup assignment: the partitions it may write, the leader, and every member's count (for logs).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from linker.group.assign import TP, Claim

PROTOCOL_TYPE = "kafka-linker"
PROTOCOL_NAME = "sticky-cooperative-v1"
VERSION = 1


class ProtocolFormatError(ValueError):
    """A member's metadata or an assignment that does not follow this format."""


@dataclass
class MemberInfo:
    claim: Claim
    host: str = ""
    pid: int = 0
    instance: str = ""


@dataclass
class Assignment:
    partitions: set[TP]
    leader: str = ""
    generation: int = -1
    counts: dict[str, int] = field(default_factory=dict)


def _tps(raw: Any, what: str) -> set[TP]:
    try:
        return {(str(t), int(p)) for t, p in raw}
    except (TypeError, ValueError):
        raise ProtocolFormatError(f"{what}: partitions must be [topic, partition] pairs") from None


def _doc(raw: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolFormatError(f"{what}: not JSON") from None
    if not isinstance(doc, dict) or doc.get("v") != VERSION:
        raise ProtocolFormatError(f"{what}: needs a JSON object with \"v\": {VERSION}")
    return doc


def encode_member(info: MemberInfo) -> bytes:
    return json.dumps({"v": VERSION, "generation": info.claim.generation, "owned": sorted(info.claim.owned),
                       "rates": [[t, p, round(r, 1)] for (t, p), r in sorted(info.claim.rates.items())],
                       "host": info.host, "pid": info.pid, "instance": info.instance}).encode()


def decode_member(raw: bytes) -> MemberInfo:
    doc = _doc(raw, "member metadata")
    try:
        rates = {(str(t), int(p)): float(r) for t, p, r in doc.get("rates", [])}
    except (TypeError, ValueError):
        raise ProtocolFormatError("member metadata: rates must be [topic, partition, bytes/s] triples") from None
    return MemberInfo(Claim(int(doc.get("generation", -1)), _tps(doc.get("owned", []), "member metadata"), rates),
                      str(doc.get("host", "")), int(doc.get("pid", 0)), str(doc.get("instance", "")))


def encode_assignment(a: Assignment) -> bytes:
    return json.dumps({"v": VERSION, "partitions": sorted(a.partitions), "leader": a.leader,
                       "generation": a.generation, "counts": a.counts}).encode()


def decode_assignment(raw: bytes) -> Assignment:
    doc = _doc(raw, "assignment")
    return Assignment(_tps(doc.get("partitions", []), "assignment"), str(doc.get("leader", "")),
                      int(doc.get("generation", -1)), {str(k): int(v) for k, v in doc.get("counts", {}).items()})
