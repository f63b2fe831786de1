"""The state topic's record format (pure: no I/O).

One compacted topic on the destination per link. Keys are UTF-8 strings:

- ``topic/<name>``: the mirror topic's lifecycle state (the latest record wins);
- ``progress/<name>``: the last source log ends the linker saw (for failover RPO);
- ``heartbeat``: written by a running linker every poll (commands know whether to wait for it);
- ``mirror/<name>``: the source cluster and topic id a mirror was built from, and the mirror's id
  (a topic recreated while no linker ran is caught at start; another link refuses to mirror it back);
- ``proxy/front``: the cluster the link's proxy fronts since its last switch (a restarted proxy
  fronts it whatever its file's ``proxy.front`` says), and, after `linker promote --per-topic`,
  the topics (``routed``) and consumer groups (``groups``) it serves from the destination while
  it fronts the source (a restarted proxy routes them the same way);
- ``group``: scale-out only: the group's last assignment as its leader wrote it (which member owns
  which partition; ``linker status`` shows it).

Values are UTF-8 JSON objects with ``"v": 1``; a null value (tombstone) deletes the key.
"""
from __future__ import annotations

import enum
import json
import time
from dataclasses import dataclass, field
from typing import Any

FORMAT_VERSION = 1


class TopicState(enum.Enum):
    ACTIVE = "ACTIVE"        # mirrored, read-only for everyone else
    PAUSED = "PAUSED"        # kept read-only, not fetched
    BLOCKED = "BLOCKED"      # the engine stopped a partition: content it cannot copy exactly
    FAILED = "FAILED"        # the destination disagrees with what was written (foreign writes, ...)
    DIVERGED = "DIVERGED"    # the source lost offsets the destination holds
    PROMOTING = "PROMOTING"  # catching up to the source end, then STOPPED
    STOPPED = "STOPPED"      # never written by the linker again; writable


class RecordFormatError(ValueError):
    """A state-topic record that does not follow the documented format."""


@dataclass
class TopicRecord:
    topic: str
    state: TopicState
    reason: str = ""
    by: str = "cli"                       # "cli" or "linker"
    at_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    # promote: final destination ends; failover: destination ends and the RPO per partition
    offsets: dict[int, int] = field(default_factory=dict)
    rpo: dict[int, int] | None = None

    def key(self) -> bytes:
        return topic_key(self.topic)

    def value(self) -> bytes:
        doc: dict[str, Any] = {"v": FORMAT_VERSION, "state": self.state.value, "reason": self.reason,
                               "by": self.by, "at_ms": self.at_ms,
                               "offsets": {str(p): o for p, o in sorted(self.offsets.items())}}
        if self.rpo is not None:
            doc["rpo"] = {str(p): o for p, o in sorted(self.rpo.items())}
        return json.dumps(doc, sort_keys=True).encode()


@dataclass
class ProgressRecord:
    topic: str
    source_ends: dict[int, int]
    at_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    def key(self) -> bytes:
        return b"progress/" + self.topic.encode()

    def value(self) -> bytes:
        return json.dumps({"v": FORMAT_VERSION, "at_ms": self.at_ms,
                           "source_ends": {str(p): o for p, o in sorted(self.source_ends.items())}},
                          sort_keys=True).encode()


@dataclass
class MirrorRecord:
    topic: str
    source_cluster: str
    source_topic_id: str
    mirror_topic: str
    mirror_topic_id: str = ""

    def key(self) -> bytes:
        return b"mirror/" + self.topic.encode()

    def value(self) -> bytes:
        return json.dumps({"v": FORMAT_VERSION, "source_cluster": self.source_cluster,
                           "source_topic_id": self.source_topic_id, "mirror_topic": self.mirror_topic,
                           "mirror_topic_id": self.mirror_topic_id}, sort_keys=True).encode()


def parse_mirror_record(key: bytes, value: bytes) -> MirrorRecord:
    k = key.decode("utf-8", "replace")
    doc = _doc(k, value)
    if not k.startswith("mirror/") or not isinstance(doc.get("source_topic_id"), str):
        raise RecordFormatError(f"state record {k!r}: a mirror record needs a source_topic_id")
    return MirrorRecord(k[7:], str(doc.get("source_cluster", "")), doc["source_topic_id"],
                        str(doc.get("mirror_topic", k[7:])), str(doc.get("mirror_topic_id", "")))


PROXY_FRONT_KEY = b"proxy/front"
FRONTS = ("source", "destination")


@dataclass
class FrontRecord:
    """Which cluster the link's proxy fronts, written by the proxy just before it switches or
    routes topics to the destination (a per-topic promote: `routed` and `groups`, every one so
    far, since the split is the proxy's routing and a restart must rebuild all of it)."""
    front: str
    topics: list[str] = field(default_factory=list)   # the promote or failover that switched it
    command: str = "promote"
    at_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    routed: list[str] = field(default_factory=list)   # served by the destination while `front` is the source
    groups: list[str] = field(default_factory=list)   # coordinated by the destination while split

    def key(self) -> bytes:
        return PROXY_FRONT_KEY

    def value(self) -> bytes:
        doc = {"v": FORMAT_VERSION, "front": self.front, "topics": sorted(self.topics),
               "command": self.command, "at_ms": self.at_ms}
        if self.routed:
            doc.update(routed=sorted(self.routed), groups=sorted(self.groups))
        return json.dumps(doc, sort_keys=True).encode()


def parse_front_record(value: bytes) -> FrontRecord:
    doc = _doc("proxy/front", value)
    front = doc.get("front")
    if front not in FRONTS:
        raise RecordFormatError(f"state record 'proxy/front': front {front!r} is neither 'source' nor 'destination'")
    lists = {}
    for name in ("topics", "routed", "groups"):
        value = doc.get(name, [])
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise RecordFormatError(f"state record 'proxy/front': {name} must be a list of names")
        lists[name] = value
    if lists["routed"] and front != "source":
        raise RecordFormatError("state record 'proxy/front': routed topics need front 'source'")
    try:
        return FrontRecord(front, lists["topics"], str(doc.get("command", "")), int(doc.get("at_ms", 0)),
                           lists["routed"], lists["groups"])
    except (TypeError, ValueError):
        raise RecordFormatError("state record 'proxy/front': at_ms must be an integer") from None


def topic_key(topic: str) -> bytes:
    return b"topic/" + topic.encode()


HEARTBEAT_KEY = b"heartbeat"


def heartbeat_value(at_ms: int | None = None) -> bytes:
    return json.dumps({"v": FORMAT_VERSION, "at_ms": int(time.time() * 1000) if at_ms is None else at_ms}).encode()


def _doc(key: str, value: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(value)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordFormatError(f"state record {key!r}: value is not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("v") != FORMAT_VERSION:
        raise RecordFormatError(f"state record {key!r}: expected a JSON object with \"v\": {FORMAT_VERSION}")
    return doc


def _partition_map(key: str, doc: dict[str, Any], name: str) -> dict[int, int]:
    raw = doc.get(name, {})
    if not isinstance(raw, dict):
        raise RecordFormatError(f"state record {key!r}: {name} must be an object")
    try:
        return {int(p): int(o) for p, o in raw.items()}
    except (TypeError, ValueError):
        raise RecordFormatError(f"state record {key!r}: {name} must map partition numbers to offsets") from None


def parse_topic_record(key: bytes, value: bytes) -> TopicRecord:
    k = key.decode("utf-8", "replace")
    if not k.startswith("topic/") or len(k) == 6:
        raise RecordFormatError(f"state record {k!r}: not a topic key")
    doc = _doc(k, value)
    try:
        state = TopicState(doc.get("state"))
    except ValueError:
        raise RecordFormatError(f"state record {k!r}: unknown state {doc.get('state')!r}") from None
    rpo = _partition_map(k, doc, "rpo") if "rpo" in doc else None
    return TopicRecord(k[6:], state, str(doc.get("reason", "")), str(doc.get("by", "cli")),
                       int(doc.get("at_ms", 0)), _partition_map(k, doc, "offsets"), rpo)


def parse_progress_record(key: bytes, value: bytes) -> ProgressRecord:
    k = key.decode("utf-8", "replace")
    if not k.startswith("progress/"):
        raise RecordFormatError(f"state record {k!r}: not a progress key")
    doc = _doc(k, value)
    return ProgressRecord(k[9:], _partition_map(k, doc, "source_ends"), int(doc.get("at_ms", 0)))


def heartbeat_at(value: bytes) -> int:
    return int(_doc("heartbeat", value).get("at_ms", 0))


# Which commands may follow which state: STOPPED is final (a promoted topic is never mirrored again).
_COMMANDS: dict[str, frozenset[TopicState]] = {
    "pause": frozenset({TopicState.ACTIVE, TopicState.PAUSED}),
    "resume": frozenset({TopicState.ACTIVE, TopicState.PAUSED}),
    "promote": frozenset({TopicState.ACTIVE, TopicState.PAUSED, TopicState.PROMOTING, TopicState.STOPPED}),
    "failover": frozenset({TopicState.ACTIVE, TopicState.PAUSED, TopicState.PROMOTING, TopicState.BLOCKED,
                           TopicState.FAILED, TopicState.DIVERGED, TopicState.STOPPED}),
}


def command_refusal(command: str, topic: str, current: TopicState) -> str | None:
    """Why ``command`` cannot act on a topic in ``current`` state, or None."""
    allowed = _COMMANDS[command]
    if current in allowed:
        return None
    return (f"{command} {topic}: the topic is {current.value}; {command} needs one of "
            f"{', '.join(sorted(s.value for s in allowed))}")


# -- the link's owner: one fenced writer per link ------------------------------------------------
OWNER_KEY = b"owner"


@dataclass
class OwnerRecord:
    """Who may mirror this link. A claim writes ``epoch + 1``; the owner rewrites its record every
    poll with ``beat + 1``. Liveness is a beat seen to change by the observer's own monotonic clock
    within ``liveness_ms`` (no wall clocks of other hosts are compared)."""
    epoch: int
    owner_id: str
    host: str = ""
    pid: int = 0
    beat: int = 0
    poll_ms: int = 1000
    released: bool = False   # a clean stop: nobody mirrors until the next claim
    group: str = ""          # scale-out: the owner is this group's leader; membership is the lease

    def key(self) -> bytes:
        return OWNER_KEY

    def value(self) -> bytes:
        return json.dumps({"v": FORMAT_VERSION, "epoch": self.epoch, "id": self.owner_id, "host": self.host,
                           "pid": self.pid, "beat": self.beat, "poll_ms": self.poll_ms,
                           "released": self.released, **({"group": self.group} if self.group else {})},
                          sort_keys=True).encode()

    def liveness_ms(self) -> int:
        """How long an observer waits for the beat to change before it considers the owner dead."""
        return liveness_ms(self.poll_ms)

    def who(self) -> str:
        grp = f", leader of group {self.group}" if self.group else ""
        return f"{self.owner_id} on host {self.host or '?'} (pid {self.pid}, owner epoch {self.epoch}{grp})"


def liveness_ms(poll_ms: int) -> int:
    return 3 * poll_ms + 2000


def parse_owner_record(value: bytes) -> OwnerRecord:
    doc = _doc("owner", value)
    try:
        return OwnerRecord(int(doc["epoch"]), str(doc["id"]), str(doc.get("host", "")), int(doc.get("pid", 0)),
                           int(doc.get("beat", 0)), int(doc.get("poll_ms", 1000)), bool(doc.get("released", False)),
                           str(doc.get("group", "")))
    except (KeyError, TypeError, ValueError):
        raise RecordFormatError("state record 'owner': needs an integer epoch and an id") from None


def supersedes(key: bytes, old: bytes | None, new: bytes | None) -> str | None:
    """Why a later record ``new`` must NOT replace ``old`` for ``key`` (None: it replaces it).

    States never go backwards: STOPPED is final for a topic (a retried or late PROMOTING, ACTIVE or
    tombstone after it is ignored), and the owner only moves to a higher epoch (the first claim of an
    epoch in log order wins; later records of that epoch from another owner are ignored)."""
    if old is None:
        return None
    try:
        if key.startswith(b"topic/"):
            if parse_topic_record(key, old).state is not TopicState.STOPPED:
                return None
            try:
                got = "a tombstone" if new is None else parse_topic_record(key, new).state.value
            except RecordFormatError:
                got = "a malformed record"
            if got == TopicState.STOPPED.value:
                return None
            return f"{key.decode('utf-8', 'replace')} is STOPPED (final); {got} after it is ignored"
        if key == OWNER_KEY:
            cur = parse_owner_record(old)
            if new is None:
                return "owner tombstone ignored: the owner epoch never goes back"
            nxt = parse_owner_record(new)
            if nxt.epoch > cur.epoch or (nxt.epoch == cur.epoch and nxt.owner_id == cur.owner_id):
                return None
            return (f"owner record of {nxt.who()} ignored: {cur.who()} holds epoch {cur.epoch}")
    except RecordFormatError:
        return None   # a malformed old value never blocks; LinkState reports malformed records
    return None


# -- scale-out: who owns which partition ------------------------------------------------------------
GROUP_KEY = b"group"


@dataclass
class GroupRecord:
    """The group leader's last assignment: ``owners`` maps topic -> partition -> member id."""
    group: str
    generation: int
    leader: str
    members: dict[str, dict[str, Any]] = field(default_factory=dict)   # member id: host, pid
    owners: dict[str, dict[int, str]] = field(default_factory=dict)
    at_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    def key(self) -> bytes:
        return GROUP_KEY

    def value(self) -> bytes:
        return json.dumps({"v": FORMAT_VERSION, "group": self.group, "generation": self.generation,
                           "leader": self.leader, "members": self.members, "at_ms": self.at_ms,
                           "owners": {t: {str(p): m for p, m in sorted(ps.items())}
                                      for t, ps in sorted(self.owners.items())}}, sort_keys=True).encode()

    def owner_of(self, topic: str, partition: int) -> str | None:
        return self.owners.get(topic, {}).get(partition)


def parse_group_record(value: bytes) -> GroupRecord:
    doc = _doc("group", value)
    try:
        return GroupRecord(str(doc["group"]), int(doc["generation"]), str(doc.get("leader", "")),
                           {str(k): dict(v) for k, v in doc.get("members", {}).items()},
                           {str(t): {int(p): str(m) for p, m in ps.items()} for t, ps in doc.get("owners", {}).items()},
                           int(doc.get("at_ms", 0)))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise RecordFormatError("state record 'group': needs a group, a generation and owners") from None
