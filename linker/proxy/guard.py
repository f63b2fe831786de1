"""Read-only mirrors and cutover holds: which writes the proxy refuses, and how.

The proxy only ever narrows what a client may do: a refused resource gets an
error in the response, every other resource of the same request goes to the
broker unchanged. A request whose every resource is refused never reaches the
broker; its response is made here.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from kproto import ApiKey, messages
from kproto.errors import ErrorCode
from linker.client import ConfigResourceType


GUARDED_APIS = frozenset({ApiKey.PRODUCE, ApiKey.DELETE_RECORDS, ApiKey.CREATE_PARTITIONS,
                          ApiKey.ALTER_CONFIGS, ApiKey.INCREMENTAL_ALTER_CONFIGS,
                          ApiKey.DELETE_TOPICS})


class MirrorRegistry(Protocol):
    """What the proxy needs to know about mirror topics on the cluster it fronts.

    The CLI wires this to the link state; the proxy never reads the mirror
    engine's internals.
    """

    def mirror_link(self, topic: str) -> str | None:
        """The link name if `topic` is an ACTIVE (read-only) mirror, else None."""
        ...

    def has_mirrors(self) -> bool:
        """False when no topic is a mirror: the proxy then decodes no write request."""
        ...


class MirrorTopics:
    """A MirrorRegistry held in memory: topic -> link, changed as links start and promote."""

    def __init__(self, mirrors: Mapping[str, str] | None = None) -> None:
        self._links: dict[str, str] = dict(mirrors or {})

    def set_mirror(self, topic: str, link: str) -> None:
        if not topic or not link:
            raise ValueError(f"a mirror needs a topic and a link name, got {topic!r}, {link!r}")
        self._links[topic] = link

    def promote(self, topic: str) -> None:
        """The topic stops being a mirror: writes are accepted from now on."""
        self._links.pop(topic, None)

    def mirror_link(self, topic: str) -> str | None:
        return self._links.get(topic)

    def has_mirrors(self) -> bool:
        return bool(self._links)

    def topics(self) -> list[str]:
        return sorted(self._links)


@dataclasses.dataclass(frozen=True)
class Refusal:
    error_code: ErrorCode
    message: str


RefusalOf = Callable[[str], "Refusal | None"]
TopicNameOf = Callable[[Any], "str | None"]


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
                  topic_name_of: TopicNameOf) -> Guarded | None:
    """None when nothing in the request is refused (forward the original bytes)."""
    handler = _HANDLERS.get(api_key)
    return handler(version, body, refusal_of, topic_name_of) if handler else None


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

_UNKNOWN_ID = Refusal(ErrorCode.UNKNOWN_TOPIC_ID, "topic id not yet seen by the proxy; refresh metadata")


def _produce(version: int, body: Any, refusal_of: RefusalOf, topic_name_of: TopicNameOf) -> Guarded | None:
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


def _delete_records(version: int, body: Any, refusal_of: RefusalOf, topic_name_of: TopicNameOf) -> Guarded | None:
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


def _create_partitions(version: int, body: Any, refusal_of: RefusalOf, topic_name_of: TopicNameOf) -> Guarded | None:
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
    def handler(version: int, body: Any, refusal_of: RefusalOf, topic_name_of: TopicNameOf) -> Guarded | None:
        # only topic resources can be mirrors; brokers, groups, etc. always pass
        keep = [r for r in body.resources if r.resource_type != ConfigResourceType.TOPIC
                or refusal_of(r.resource_name) is None]
        refused = [(r, refusal_of(r.resource_name)) for r in body.resources
                   if r.resource_type == ConfigResourceType.TOPIC and refusal_of(r.resource_name) is not None]
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


def _delete_topics(version: int, body: Any, refusal_of: RefusalOf, topic_name_of: TopicNameOf) -> Guarded | None:
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


_HANDLERS: dict[int, Callable[..., Guarded | None]] = {
    ApiKey.PRODUCE: _produce,
    ApiKey.DELETE_RECORDS: _delete_records,
    ApiKey.CREATE_PARTITIONS: _create_partitions,
    ApiKey.ALTER_CONFIGS: _alter_configs(messages.AlterConfigsResponse),
    ApiKey.INCREMENTAL_ALTER_CONFIGS: _alter_configs(messages.IncrementalAlterConfigsResponse),
    ApiKey.DELETE_TOPICS: _delete_topics,
}
