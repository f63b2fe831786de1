"""Which source topics a link mirrors.

Literal names are always selected (even if absent, so a missing topic is
reported rather than silently skipped). Include/exclude are regular
expressions matched against the whole name; exclude wins. Internal topics
(names starting with ``__``) are only mirrored when named literally, because a
pattern like ``.*`` must not copy ``__consumer_offsets``. ``refuse`` (the
engine's ``LinkGuard`` and topic-id pinning) vetoes topics that would make a
mirror loop, literal names included.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from linker.settings import TopicSettings


class TopicSelector:
    def __init__(self, settings: TopicSettings, refuse: Callable[[str], str | None] | None = None) -> None:
        self._refuse = refuse
        self._names = frozenset(settings.names)
        self._include = [re.compile(p) for p in settings.include]
        self._exclude = [re.compile(p) for p in settings.exclude]

    @property
    def literal_names(self) -> frozenset[str]:
        return self._names

    def matches(self, topic: str) -> bool:
        if any(p.fullmatch(topic) for p in self._exclude):
            return False
        if topic in self._names:
            return True
        if topic.startswith("__"):
            return False
        return any(p.fullmatch(topic) for p in self._include)

    def select(self, existing: Iterable[str]) -> tuple[list[str], list[str]]:
        """Return (selected existing topics, literal names that do not exist)."""
        existing_set = set(existing)
        selected = sorted(t for t in existing_set if self.matches(t)
                          and (self._refuse is None or self._refuse(t) is None))
        missing = sorted(n for n in self._names if n not in existing_set and self.matches(n))
        return selected, missing
