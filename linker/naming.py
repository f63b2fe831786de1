"""The one mapping between source topic names and mirror (destination) topic names.

Every place that turns a source topic into the topic written on the
destination goes through ``MirrorNames``, so a ``[topics] prefix`` can never
be applied in one place and forgotten in another.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar
from linker.client import TopicPartition as TP

V = TypeVar("V")


@dataclass(frozen=True)
class MirrorNames:
    prefix: str = ""

    def mirror_topic(self, source_topic: str) -> str:
        """The destination topic that mirrors ``source_topic``."""
        return self.prefix + source_topic

    def mirror_tp(self, tp: TP) -> TP:
        return (self.prefix + tp[0], tp[1])

    def source_topic(self, mirror_topic: str) -> str | None:
        """The source topic mirrored to ``mirror_topic``, or None if it carries no prefix."""
        if not mirror_topic.startswith(self.prefix):
            return None
        return mirror_topic[len(self.prefix):] or None

    def resolve(self, name: str, source_topics: set[str]) -> str | None:
        """A command's topic argument (source or mirror name) as a source topic name.

        Accepted when exactly one reading names a mirrored source topic, so
        ``orders`` and ``src.orders`` both work and nothing is guessed.
        """
        readings = {name} & source_topics
        stripped = self.source_topic(name) if self.prefix else None
        if stripped is not None and stripped in source_topics:
            readings.add(stripped)
        return next(iter(readings)) if len(readings) == 1 else None

    def by_source(self, by_mirror: dict[TP, V], tps: Iterable[TP]) -> dict[TP, V]:
        """Re-key an answer about mirror partitions by the source partitions ``tps``."""
        if not self.prefix:
            return {tp: by_mirror[tp] for tp in tps}
        return {tp: by_mirror[(self.prefix + tp[0], tp[1])] for tp in tps}
