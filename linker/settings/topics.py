"""``[topics]``: which source topics the link mirrors, and under which name."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .reading import TOPIC_CHARS, TOPIC_NAME, get, only_keys, regexes, str_list


@dataclass(frozen=True)
class TopicSettings:
    names: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    prefix: str = ""        # mirror topic = prefix + source topic (like cluster.link.prefix)


def parse_topics(t: dict[str, Any]) -> TopicSettings:
    """Validate ``[topics]``; errors name ``topics.<key>``."""
    only_keys(t, "topics", {"names", "include", "exclude", "prefix"})
    prefix = get(t, "topics", "prefix", str, "")
    if prefix and not TOPIC_CHARS.fullmatch(prefix):
        raise ConfigError(f"topics.prefix: {prefix!r} may only hold the Kafka topic characters A-Z a-z 0-9 . _ -")
    if len(prefix) >= 249:
        raise ConfigError(f"topics.prefix: {len(prefix)} characters leave no room for a topic name (limit 249)")
    names = str_list(t, "topics", "names")
    include = str_list(t, "topics", "include")
    exclude = str_list(t, "topics", "exclude")
    if not names and not include:
        raise ConfigError("topics: give at least one of names, include")
    regexes(include, "topics.include")
    regexes(exclude, "topics.exclude")
    for i, n in enumerate(names):
        if not TOPIC_NAME.fullmatch(n):
            raise ConfigError(f"topics.names[{i}]: {n!r} is not a legal Kafka topic name")
        if len(prefix) + len(n) > 249:
            raise ConfigError(f"topics.names[{i}]: mirror topic {prefix + n!r} is longer than 249 characters")
    return TopicSettings(tuple(names), tuple(include), tuple(exclude), prefix)
