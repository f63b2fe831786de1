"""Topic names on a cluster that names a link's topics with a prefix (`topics.prefix`): clients
use the source's names, the destination has `prefix + name` (pure).

Requests to such a cluster get the prefix added to every topic name they carry; answers get it
removed, and a Metadata answer drops the topics that do not carry it (the destination's own
topics are not reachable through the proxy). Internal topics (`__...`) keep their names. Only the
APIs in RENAMED_APIS are renamed: the data path, group offsets and transactions.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kproto import ApiKey

#: APIs whose topic names are renamed (requests and responses).
RENAMED_APIS = frozenset({ApiKey.METADATA, ApiKey.PRODUCE, ApiKey.FETCH, ApiKey.LIST_OFFSETS,
                          ApiKey.OFFSET_FOR_LEADER_EPOCH, ApiKey.OFFSET_COMMIT, ApiKey.OFFSET_FETCH,
                          ApiKey.TXN_OFFSET_COMMIT, ApiKey.ADD_PARTITIONS_TO_TXN, ApiKey.DELETE_RECORDS,
                          ApiKey.CONSUMER_GROUP_HEARTBEAT})

#: Lists of topic entries (their `name` or `topic` field is the name) and lists of such lists.
_TOPIC_LISTS = ("topics", "topic_data", "responses", "forgotten_topics_data", "v3_and_below_topics",
                "results_by_topic_v3_and_below", "topic_results")
_NESTED = ("groups", "transactions", "results_by_transaction")


def _walk(body: Any, fn: Callable[[str], str]) -> None:
    for attr in _TOPIC_LISTS:
        for t in getattr(body, attr, None) or ():
            for field in ("name", "topic"):
                value = getattr(t, field, None)
                if isinstance(value, str) and value:
                    setattr(t, field, fn(value))
    for attr in _NESTED:
        for inner in getattr(body, attr, None) or ():
            _walk(inner, fn)


def to_cluster(api_key: int, body: Any, prefix: str) -> None:
    """Client names -> the cluster's, in a request."""
    def add(name: str) -> str:
        return name if name.startswith("__") else prefix + name
    if api_key == ApiKey.CONSUMER_GROUP_HEARTBEAT:
        if body.subscribed_topic_names:
            body.subscribed_topic_names = [add(n) for n in body.subscribed_topic_names]
        return
    _walk(body, add)


def to_client(api_key: int, body: Any, prefix: str) -> None:
    """The cluster's names -> the client's, in a response; a Metadata answer loses the topics
    without the prefix."""
    def strip(name: str) -> str:
        return name[len(prefix):] if name.startswith(prefix) else name
    if api_key == ApiKey.METADATA:
        body.topics = [t for t in body.topics
                       if t.name is None or t.name.startswith(prefix) or t.name.startswith("__")]
    _walk(body, strip)
