"""Read-only mirrors and cutover holds: which writes the proxy refuses, and how.

The proxy only ever narrows what a client may do: a refused resource gets an
error in the response, every other resource of the same request goes to the
broker unchanged. A request whose every resource is refused never reaches the
broker; its response is made here.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from kproto import ApiKey, messages
from kproto.errors import ErrorCode
from linker.client import ConfigResourceType, PatternType, ResourceType




class MirrorRegistry(Protocol):
    """What the proxy needs to know about mirror topics on the cluster it fronts.

    The CLI wires this to the link state; the proxy never reads the mirror
    engine's internals.
    """

    def mirror_link(self, topic: str) -> str | None:
        """The link name if `topic` is an ACTIVE (read-only) mirror, else None."""
        ...

    def has_mirrors(self) -> bool:
        """False when no topic is a mirror or internal: the proxy then decodes no write request."""
        ...

    def internal_link(self, topic: str) -> str | None:
        """The link name if `topic` is one of a link's own topics (its state topic), else None."""
        ...


class MirrorTopics:
    """A MirrorRegistry held in memory: topic -> link, changed as links start and promote."""

    def __init__(self, mirrors: Mapping[str, str] | None = None) -> None:
        self._links: dict[str, str] = dict(mirrors or {})
        self._internal: dict[str, str] = {}
        self._selected: Callable[[str], bool] | None = None
        self._selected_names: frozenset[str] = frozenset()
        self._selection_link = ""
        self._promoted: set[str] = set()

    def set_selection(self, matches: Callable[[str], bool], names: Iterable[str], link: str) -> None:
        """Every topic `link` selects (its literal `names` and patterns, `matches`) is a mirror
        from the start, not only once the link state knows it: a topic named in the link that
        the source does not have yet would otherwise be open, and a client could create it
        (or auto-create it by producing) and fill it; the engine then finds records the source
        does not have and the partition is DIVERGED. `promote` still lifts it."""
        if not link:
            raise ValueError("a link selection needs the link's name")
        self._selected, self._selected_names, self._selection_link = matches, frozenset(names), link

    def set_internal(self, topic: str, link: str) -> None:
        """`topic` belongs to `link` itself (its state topic): no client may write or change it."""
        if not topic or not link:
            raise ValueError(f"an internal topic needs a topic and a link name, got {topic!r}, {link!r}")
        self._internal[topic] = link

    def internal_link(self, topic: str) -> str | None:
        return self._internal.get(topic)

    def internal_topics(self) -> list[str]:
        return sorted(self._internal)

    def set_mirror(self, topic: str, link: str) -> None:
        if not topic or not link:
            raise ValueError(f"a mirror needs a topic and a link name, got {topic!r}, {link!r}")
        self._links[topic] = link
        self._promoted.discard(topic)

    def promote(self, topic: str) -> None:
        """The topic stops being a mirror: writes are accepted from now on."""
        self._links.pop(topic, None)
        self._promoted.add(topic)

    def mirror_link(self, topic: str) -> str | None:
        link = self._links.get(topic)
        if link is None and self._selected is not None and topic not in self._promoted and self._selected(topic):
            return self._selection_link
        return link

    def has_mirrors(self) -> bool:
        return bool(self._links) or bool(self._internal) or self._selected is not None

    def topics(self) -> list[str]:
        """The mirrors by name (a selection's patterns cannot be listed; its literal names are)."""
        named = {n for n in self._selected_names if n not in self._promoted}
        return sorted(set(self._links) | named)


@dataclasses.dataclass(frozen=True)
class Refusal:
    """Why writes to one topic are refused. `hold` marks a retriable cutover hold (it applies
    to the data writes of the first six guarded APIs only); otherwise the topic is a mirror
    or a link's internal topic and every change to it is refused."""

    error_code: ErrorCode
    message: str
    hold: bool = False


RefusalOf = Callable[[str], "Refusal | None"]
TopicNameOf = Callable[[Any], "str | None"]
#: The topics no client may change (mirrors and a link's own topics): for wildcard ACLs and
#: cluster-wide configs. Empty while only cutover holds are in force.
ProtectedNames = Callable[[], "list[str]"]


def _none() -> list[str]:
    return []


@dataclasses.dataclass
class Guarded:
    """A request after the guard: what to forward (None: nothing) and how to answer the rest.

    `complete(response)` adds the refused resources to the broker's response
    (or to an empty one when nothing was forwarded) and returns it.
    """

    forward: Any | None
    complete: Callable[[Any], Any]
    refused: list[str]


def guard_request(api_key: int, version: int, body: Any, refusal_of: RefusalOf,
                  topic_name_of: TopicNameOf, protected: ProtectedNames = _none) -> Guarded | None:
    """None when nothing in the request is refused (forward the original bytes)."""
    handler = _HANDLERS.get(api_key)
    return handler(version, body, refusal_of, topic_name_of, protected) if handler else None


def _split(items: list[Any], name_of: Callable[[Any], str | None], refusal_of: RefusalOf,
           unknown: Refusal | None = None) -> tuple[list[Any], list[tuple[Any, Refusal]]]:
    keep: list[Any] = []
    refused: list[tuple[Any, Refusal]] = []
    for item in items:
        name = name_of(item)
        why = unknown if name is None else refusal_of(name)
        if why is None:
            keep.append(item)
        else:
            refused.append((item, why))
    return keep, refused


#: What a refused client reads. Clients may not have authenticated (the proxy refuses before
#: the broker sees the request): the texts name no topic, link or cutover (issue 17.4); the
#: client knows which of its own topics each error belongs to.
MIRROR_REFUSAL = "the topic is a read-only mirror; writes are accepted after it is promoted"
HOLD_REFUSAL = "writes to the topic are held for a moment; retry"
INTERNAL_REFUSAL = "the topic belongs to a link; clients may not change it"

_UNKNOWN_ID = Refusal(ErrorCode.UNKNOWN_TOPIC_ID, "topic id not yet seen by the proxy; refresh metadata")


def _produce(version: int, body: Any, refusal_of: RefusalOf, topic_name_of: TopicNameOf,
                protected: ProtectedNames = _none) -> Guarded | None:
    by_id = version >= 13
    name_of = (lambda t: topic_name_of(t.topic_id)) if by_id else (lambda t: t.name)
    keep, refused = _split(body.topic_data, name_of, refusal_of, _UNKNOWN_ID if by_id else None)
    if not refused:
        return None
    R = messages.ProduceResponse
    body.topic_data = keep

    def complete(response: Any) -> Any:
        response = response if response is not None else R()
        for topic, why in refused:
            response.responses.append(R.TopicProduceResponse(
                name=topic.name, topic_id=topic.topic_id, partition_responses=[
                    R.PartitionProduceResponse(index=p.index, error_code=why.error_code, base_offset=-1,
                                               error_message=why.message)
                    for p in topic.partition_data]))
        return response
    return Guarded(body if keep else None, complete, [name_of(t) or str(t.topic_id) for t, _ in refused])


def _delete_records(version: int, body: Any, refusal_of: RefusalOf, topic_name_of: TopicNameOf,
                protected: ProtectedNames = _none) -> Guarded | None:
    keep, refused = _split(body.topics, lambda t: t.name, refusal_of)
    if not refused:
        return None
    R = messages.DeleteRecordsResponse
    body.topics = keep

    def complete(response: Any) -> Any:
        response = response if response is not None else R()
        for topic, why in refused:
            response.topics.append(R.DeleteRecordsTopicResult(name=topic.name, partitions=[
                R.DeleteRecordsPartitionResult(partition_index=p.partition_index, low_watermark=-1,
                                               error_code=why.error_code)
                for p in topic.partitions]))
        return response
    return Guarded(body if keep else None, complete, [t.name for t, _ in refused])


def _create_partitions(version: int, body: Any, refusal_of: RefusalOf, topic_name_of: TopicNameOf,
                protected: ProtectedNames = _none) -> Guarded | None:
    keep, refused = _split(body.topics, lambda t: t.name, refusal_of)
    if not refused:
        return None
    R = messages.CreatePartitionsResponse
    body.topics = keep

    def complete(response: Any) -> Any:
        response = response if response is not None else R()
        for topic, why in refused:
            response.results.append(R.CreatePartitionsTopicResult(
                name=topic.name, error_code=why.error_code, error_message=why.message))
        return response
    return Guarded(body if keep else None, complete, [t.name for t, _ in refused])


def _alter_configs(response_cls: Any) -> Callable[..., Guarded | None]:
    def handler(version: int, body: Any, refusal_of: RefusalOf, topic_name_of: TopicNameOf,
                protected: ProtectedNames = _none) -> Guarded | None:
        # topic resources that are mirrors; and, while mirrors exist, BROKER resources: a
        # cluster-wide default (retention, message format, ...) applies to every mirror too
        broker_refusal = (Refusal(ErrorCode.POLICY_VIOLATION, "broker configs apply to read-only mirrors "
                                  "too; change them on the cluster directly") if protected() else None)

        def why_of(r: Any) -> Refusal | None:
            if r.resource_type == ConfigResourceType.TOPIC:
                return refusal_of(r.resource_name)
            return broker_refusal if r.resource_type == ConfigResourceType.BROKER else None
        verdicts = [(r, why_of(r)) for r in body.resources]
        keep = [r for r, why in verdicts if why is None]
        refused = [(r, why) for r, why in verdicts if why is not None]
        if not refused:
            return None
        body.resources = keep

        def complete(response: Any) -> Any:
            response = response if response is not None else response_cls()
            for res, why in refused:
                response.responses.append(response_cls.AlterConfigsResourceResponse(
                    error_code=why.error_code, error_message=why.message,
                    resource_type=res.resource_type, resource_name=res.resource_name))
            return response
        return Guarded(body if keep else None, complete, [r.resource_name for r, _ in refused])
    return handler


def _delete_topics(version: int, body: Any, refusal_of: RefusalOf, topic_name_of: TopicNameOf,
                protected: ProtectedNames = _none) -> Guarded | None:
    R = messages.DeleteTopicsResponse
    if version >= 6:
        keep, refused = _split(body.topics, lambda t: t.name if t.name is not None else topic_name_of(t.topic_id),
                               refusal_of, _UNKNOWN_ID)
        if not refused:
            return None
        body.topics = keep
        entries = [(t.name if t.name is not None else topic_name_of(t.topic_id), t.topic_id, why)
                   for t, why in refused]
    else:
        keep, refused = _split(body.topic_names, lambda n: n, refusal_of)
        if not refused:
            return None
        body.topic_names = keep
        entries = [(n, None, why) for n, why in refused]

    def complete(response: Any) -> Any:
        response = response if response is not None else R()
        for name, topic_id, why in entries:
            kwargs: dict[str, Any] = {"name": name, "error_code": why.error_code, "error_message": why.message}
            if topic_id is not None:
                kwargs["topic_id"] = topic_id
            response.responses.append(R.DeletableTopicResult(**kwargs))
        return response
    return Guarded(body if keep else None, complete, [str(n) for n, _, _ in entries])


def _changes_only(refusal_of: RefusalOf) -> RefusalOf:
    """Mirror and internal-topic refusals only: a cutover hold (retriable, for data writes)
    does not apply to transactions, ACLs, elections or reassignments."""
    def of(topic: str) -> Refusal | None:
        why = refusal_of(topic)
        return None if why is None or why.hold else why
    return of


def _add_partitions_to_txn(version: int, body: Any, refusal_of: RefusalOf,
                           topic_name_of: TopicNameOf, protected: ProtectedNames = _none) -> Guarded | None:
    """A transaction may not include a mirror partition: else the client's abort (after its
    produce was refused) makes the coordinator write an ABORT marker into the mirror. Like
    the broker, one refused partition fails the whole transaction's request: the refused
    ones get TOPIC_AUTHORIZATION_FAILED (abortable in every client), the others
    OPERATION_NOT_ATTEMPTED; nothing is added."""
    refusal_of = _changes_only(refusal_of)
    R = messages.AddPartitionsToTxnResponse
    txns = ([(body.v3_and_below_transactional_id, body.v3_and_below_topics)] if version <= 3
            else [(t.transactional_id, t.topics) for t in body.transactions])
    failed: dict[Any, list[Any]] = {}
    refused_names: list[str] = []
    for txn_id, topics in txns:
        bad = {t.name for t in topics if refusal_of(t.name) is not None}
        if not bad:
            continue
        refused_names += sorted(bad)
        failed[txn_id] = [R.AddPartitionsToTxnTopicResult(name=t.name, results_by_partition=[
            R.AddPartitionsToTxnPartitionResult(
                partition_index=p, partition_error_code=ErrorCode.TOPIC_AUTHORIZATION_FAILED
                if t.name in bad else ErrorCode.OPERATION_NOT_ATTEMPTED) for p in t.partitions])
            for t in topics]
    if not failed:
        return None
    if version <= 3:
        forward = None
    else:
        body.transactions = [t for t in body.transactions if t.transactional_id not in failed]
        forward = body if body.transactions else None

    def complete(response: Any) -> Any:
        response = response if response is not None else R()
        if version <= 3:
            response.results_by_topic_v3_and_below = failed[body.v3_and_below_transactional_id]
        else:
            response.results_by_transaction += [R.AddPartitionsToTxnResult(transactional_id=txn, topic_results=res)
                                                for txn, res in failed.items()]
        return response
    return Guarded(forward, complete, refused_names)


def _create_topics(version: int, body: Any, refusal_of: RefusalOf, topic_name_of: TopicNameOf,
                protected: ProtectedNames = _none) -> Guarded | None:
    """A mirror's name (perhaps not created yet by the engine) or a link's topic."""
    keep, refused = _split(body.topics, lambda t: t.name, _changes_only(refusal_of))
    if not refused:
        return None
    R = messages.CreateTopicsResponse
    body.topics = keep

    def complete(response: Any) -> Any:
        response = response if response is not None else R()
        for topic, why in refused:
            response.topics.append(R.CreatableTopicResult(name=topic.name, error_code=why.error_code,
                                                          error_message=why.message))
        return response
    return Guarded(body if keep else None, complete, [t.name for t, _ in refused])


def _topic_partitions(request_topics: str, name_attr: str, response_cls: Any, result_topics: str,
                      topic_cls: str, topic_name_field: str, partitions_field: str, partition_cls: str,
                      index_field: str, with_message: bool) -> Callable[..., Guarded | None]:
    """Requests that list topics with partitions and answer per partition (reassignments,
    log-dir moves)."""
    def handler(version: int, body: Any, refusal_of: RefusalOf, topic_name_of: TopicNameOf,
                protected: ProtectedNames = _none) -> Guarded | None:
        keep, refused = _split(getattr(body, request_topics), lambda t: getattr(t, name_attr),
                               _changes_only(refusal_of))
        if not refused:
            return None
        setattr(body, request_topics, keep)
        T, P = getattr(response_cls, topic_cls), getattr(response_cls, partition_cls)

        def complete(response: Any) -> Any:
            response = response if response is not None else response_cls()
            for topic, why in refused:
                parts = []
                for p in topic.partitions:
                    kwargs: dict[str, Any] = {index_field: p if isinstance(p, int) else p.partition_index,
                                              "error_code": why.error_code}
                    if with_message:
                        kwargs["error_message"] = why.message
                    parts.append(P(**kwargs))
                getattr(response, result_topics).append(T(**{topic_name_field: getattr(topic, name_attr),
                                                             partitions_field: parts}))
            return response
        return Guarded(body if keep else None, complete, [getattr(t, name_attr) for t, _ in refused])
    return handler


def _alter_replica_log_dirs(version: int, body: Any, refusal_of: RefusalOf,
                            topic_name_of: TopicNameOf, protected: ProtectedNames = _none) -> Guarded | None:
    """Log-dir moves of a mirror's replicas, per directory."""
    refusal_of = _changes_only(refusal_of)
    R = messages.AlterReplicaLogDirsResponse
    refused: list[tuple[Any, Refusal]] = []
    for d in body.dirs:
        keep, bad = _split(d.topics, lambda t: t.name, refusal_of)
        d.topics = keep
        refused += bad
    if not refused:
        return None
    body.dirs = [d for d in body.dirs if d.topics]

    def complete(response: Any) -> Any:
        response = response if response is not None else R()
        for topic, why in refused:
            response.results.append(R.AlterReplicaLogDirTopicResult(topic_name=topic.name, partitions=[
                R.AlterReplicaLogDirPartitionResult(partition_index=p, error_code=why.error_code)
                for p in topic.partitions]))
        return response
    return Guarded(body if body.dirs else None, complete, [t.name for t, _ in refused])


_UNCLEAN_ELECTION = 1


def _elect_leaders(version: int, body: Any, refusal_of: RefusalOf, topic_name_of: TopicNameOf,
                protected: ProtectedNames = _none) -> Guarded | None:
    """An unclean election may truncate a mirror's log; a preferred one moves nothing. An
    unclean election of every partition (no list) is refused whole while a guard is active."""
    election = getattr(body, "election_type", 0)
    if election != _UNCLEAN_ELECTION:
        return None
    refusal_of = _changes_only(refusal_of)
    R = messages.ElectLeadersResponse
    if body.topic_partitions is None:
        if not protected():
            return None

        def refuse_all(response: Any) -> Any:
            return R(error_code=ErrorCode.POLICY_VIOLATION)
        return Guarded(None, refuse_all, ["every partition"])
    keep, refused = _split(body.topic_partitions, lambda t: t.topic, refusal_of)
    if not refused:
        return None
    body.topic_partitions = keep

    def complete(response: Any) -> Any:
        response = response if response is not None else R()
        for topic, why in refused:
            response.replica_election_results.append(R.ReplicaElectionResult(topic=topic.topic, partition_result=[
                R.PartitionResult(partition_id=p, error_code=why.error_code, error_message=why.message)
                for p in topic.partitions]))
        return response
    return Guarded(body if keep else None, complete, [t.topic for t, _ in refused])


_ACL_ANY_TYPE = frozenset({ResourceType.ANY, ResourceType.TOPIC})


def _acl_touches(resource_type: int, name: str | None, pattern: int, protected: Callable[[str], bool],
                 names: Callable[[], list[str]]) -> bool:
    """Whether an ACL (binding or filter) may apply to a protected topic. Filters are judged
    conservatively: a wildcard, a missing name or a MATCH/ANY pattern touches every topic."""
    if resource_type not in _ACL_ANY_TYPE:
        return False
    if name is None or name == "*" or pattern in (PatternType.ANY, PatternType.MATCH):
        return bool(names())
    if pattern == PatternType.PREFIXED:
        return any(t.startswith(name) for t in names())
    return protected(name)


def _acls(create: bool) -> Callable[..., Guarded | None]:
    """CreateAcls / DeleteAcls on a mirror's or an internal topic's resource: a deleted DENY
    WRITE lets writers in; a created DENY can stop the linker. Results are answered in the
    request's order, so refused entries are put back at their places."""
    R = messages.CreateAclsResponse if create else messages.DeleteAclsResponse

    def handler(version: int, body: Any, refusal_of: RefusalOf, topic_name_of: TopicNameOf,
                protected: ProtectedNames = _none) -> Guarded | None:
        of = _changes_only(refusal_of)
        items = body.creations if create else body.filters
        refused_at: dict[int, Refusal] = {}
        for i, a in enumerate(items):
            if create:
                touch = _acl_touches(a.resource_type, a.resource_name, a.resource_pattern_type,
                                     lambda n: of(n) is not None, protected)
            else:
                touch = _acl_touches(a.resource_type_filter, a.resource_name_filter, a.pattern_type_filter,
                                     lambda n: of(n) is not None, protected)
            if touch:
                name = a.resource_name if create else a.resource_name_filter
                why = of(name) if name else None
                refused_at[i] = why or Refusal(ErrorCode.POLICY_VIOLATION,
                                               "the ACL may apply to a read-only mirror or a link's topic")
        if not refused_at:
            return None
        kept = [a for i, a in enumerate(items) if i not in refused_at]
        if create:
            body.creations = kept
        else:
            body.filters = kept
        n = len(items)

        def complete(response: Any) -> Any:
            response = response if response is not None else R()
            got = iter(response.results if create else response.filter_results)
            out = []
            for i in range(n):
                why = refused_at.get(i)
                if why is None:
                    out.append(next(got))
                elif create:
                    out.append(R.AclCreationResult(error_code=why.error_code, error_message=why.message))
                else:
                    out.append(R.DeleteAclsFilterResult(error_code=why.error_code, error_message=why.message,
                                                        matching_acls=[]))
            if create:
                response.results = out
            else:
                response.filter_results = out
            return response
        names = [(items[i].resource_name if create else items[i].resource_name_filter) or "*" for i in refused_at]
        return Guarded(body if kept else None, complete, names)
    return handler


_HANDLERS: dict[int, Callable[..., Guarded | None]] = {
    ApiKey.PRODUCE: _produce,
    ApiKey.DELETE_RECORDS: _delete_records,
    ApiKey.CREATE_PARTITIONS: _create_partitions,
    ApiKey.ALTER_CONFIGS: _alter_configs(messages.AlterConfigsResponse),
    ApiKey.INCREMENTAL_ALTER_CONFIGS: _alter_configs(messages.IncrementalAlterConfigsResponse),
    ApiKey.DELETE_TOPICS: _delete_topics,
    ApiKey.ADD_PARTITIONS_TO_TXN: _add_partitions_to_txn,
    ApiKey.CREATE_TOPICS: _create_topics,
    ApiKey.ALTER_PARTITION_REASSIGNMENTS: _topic_partitions(
        "topics", "name", messages.AlterPartitionReassignmentsResponse, "responses", "ReassignableTopicResponse",
        "name", "partitions", "ReassignablePartitionResponse", "partition_index", True),
    ApiKey.ALTER_REPLICA_LOG_DIRS: _alter_replica_log_dirs,
    ApiKey.ELECT_LEADERS: _elect_leaders,
    ApiKey.CREATE_ACLS: _acls(create=True),
    ApiKey.DELETE_ACLS: _acls(create=False),
}

#: Requests the guard decodes (while a guard is active) and may refuse in part.
GUARDED_APIS = frozenset(_HANDLERS)
