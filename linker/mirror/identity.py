"""Which topic a mirror copies: topic ids, and the topics a link must never select.

A topic deleted and recreated under the same name is another topic with the
same name; only its id (Metadata v10+) tells them apart. The engine pins the
source topic id of each mirrored topic when it selects it (and the mirror
topic's id when it first sees it) and fetches by the pinned id (Fetch v13+),
so the recreated topic answers UNKNOWN_TOPIC_ID instead of its records. Every
metadata snapshot of either cluster is judged here: a changed id moves the
topic's partitions to TOPIC_RECREATED naming both ids; a source topic gone
from the source is listed in ``missing`` ("source topic missing" in /status).

The pinned source ids are also written to the link's state topic (by the
lifecycle, ``pending``) and read back at start (``remember``), so a topic
recreated while no linker ran is caught before anything is located. A
remembered id counts only while its mirror topic exists: a mirror deleted by
hand holds nothing to protect, and the topic is mirrored afresh.

``LinkGuard`` refuses links and topics that would make a mirror loop: source
and destination being one cluster (same cluster id), a source topic that *is*
a destination topic (same topic id), a linker state topic, and a source topic
that another link mirrored from our own destination (``foreign_mirrors``).
"""
from __future__ import annotations

import base64
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from linker.client import Client, ClusterSnapshot
from linker.mirror.table import PartitionTable
from linker.naming import MirrorNames

log = logging.getLogger("linker.mirror")

SOURCE_MISSING = "source topic missing"
#: The default name of a link's state topic (``LifecycleSettings.state_topic_for``).
STATE_TOPIC = re.compile(r"__linker-.*-state")


def kafka_id(topic_id: Any) -> str:
    """A topic id as Kafka's tools print it (URL-safe base64 without padding)."""
    if isinstance(topic_id, uuid.UUID):
        return base64.urlsafe_b64encode(topic_id.bytes).rstrip(b"=").decode()
    return str(topic_id)


def _known(topic_id: Any) -> bool:
    return topic_id is not None and topic_id != uuid.UUID(int=0)


@dataclass(frozen=True)
class MirrorIdentity:
    """What a mirror topic was built from: written to the state topic per source topic."""
    topic: str                 # source topic
    source_cluster: str
    source_topic_id: str       # kafka_id form
    mirror_topic: str
    mirror_topic_id: str


class TopicIds:
    """Pinned topic ids of the mirrored topics, judged at every metadata snapshot."""

    def __init__(self, table: PartitionTable, names: MirrorNames, source: Client, dest: Client) -> None:
        self.table, self.names, self.source, self.dest = table, names, source, dest
        self.source_ids: dict[str, Any] = {}     # source topic -> pinned source topic id
        self.mirror_ids: dict[str, Any] = {}     # source topic -> pinned mirror topic id
        self.remembered: dict[str, str] = {}     # source topic -> source topic id from the state topic
        self.missing: set[str] = set()           # mirrored source topics gone from the source
        self.pending: dict[str, MirrorIdentity] = {}   # pins not yet written to the state topic
        source.on_snapshot.append(lambda _: self.judge())
        dest.on_snapshot.append(lambda _: self.judge())

    def remember(self, ids: dict[str, str]) -> None:
        """Source topic ids the mirrors were built from, as recorded by an earlier run."""
        self.remembered.update(ids)

    def pin(self, topic: str) -> None:
        """Pin ``topic``'s current source id (at selection, before it is located)."""
        self.judge_topic(topic, False)   # selected from the snapshot: it exists there
        info = self.source.snapshot.topics.get(topic)
        if topic in self.source_ids or topic in self.table.recreated or info is None or not _known(info.topic_id):
            return
        self.source_ids[topic] = info.topic_id
        self._record(topic)

    def fetch_ids(self, topics: set[str]) -> dict[str, Any]:
        """The ids to fetch ``topics`` by: the pinned ones, never the cache's newer ones."""
        return {t: self.source_ids[t] for t in topics if t in self.source_ids}

    def judge(self) -> None:
        """Judge every mirrored topic against the current snapshots of both clusters."""
        mirrored = self.mirrored()
        for topic in mirrored | set(self.source_ids) | set(self.remembered):
            self.judge_topic(topic, topic in mirrored)

    def mirrored(self) -> set[str]:
        return {t for t, _ in self.table.partitions}

    def judge_topic(self, topic: str, mirrored: bool) -> None:
        if topic in self.table.recreated:
            return
        src, dst = self.source.snapshot, self.dest.snapshot
        mt = self.names.mirror_topic(topic)
        minfo = dst.topics.get(mt)
        mirror_id = minfo.topic_id if minfo is not None and not minfo.error_code else None
        if topic in self.remembered and dst.brokers and not _known(mirror_id) and topic not in self.source_ids:
            log.info("mirror topic %s is gone: the source id recorded for %s is forgotten", mt, topic)
            del self.remembered[topic]
        info = src.topics.get(topic)
        if info is None or info.error_code or not _known(info.topic_id):
            if src.brokers and mirrored:
                if topic not in self.missing:
                    log.warning("source topic %s is missing (deleted?); its mirror is kept as it is", topic)
                self.missing.add(topic)
            return
        self.missing.discard(topic)
        was = self.source_ids.get(topic)
        # A remembered id counts once the destination shows the mirror topic it describes.
        old = kafka_id(was) if was is not None else self.remembered.get(topic) if _known(mirror_id) else None
        if old is not None and old != kafka_id(info.topic_id):
            self.table.mark_recreated(topic, f"source topic {topic} was deleted and recreated: the mirror holds "
                                             f"topic id {old}, the source now has topic id {kafka_id(info.topic_id)}")
            return
        if not _known(mirror_id):
            return
        pinned = self.mirror_ids.get(topic)
        if pinned is None:
            if topic in self.source_ids:
                self.mirror_ids[topic] = mirror_id
                self._record(topic)
        elif pinned != mirror_id:
            self.table.mark_recreated(topic, f"mirror topic {mt} was deleted and recreated: the linker wrote "
                                             f"topic id {kafka_id(pinned)}, the destination now has topic id "
                                             f"{kafka_id(mirror_id)}")

    def _record(self, topic: str) -> None:
        sid, mid = self.source_ids.get(topic), self.mirror_ids.get(topic)
        if sid is None:
            return
        self.pending[topic] = MirrorIdentity(topic, self.source.snapshot.cluster_id or "", kafka_id(sid),
                                             self.names.mirror_topic(topic), kafka_id(mid) if mid else "")


class LinkRefused(RuntimeError):
    """A link that would mirror a cluster into itself: a person must fix the link file."""


class LinkGuard:
    """Refuses a link into its own cluster and source topics that would make a mirror loop."""

    def __init__(self, source: Client, dest: Client) -> None:
        self.source, self.dest = source, dest
        # Topics another link mirrored into our source from our destination (read from that link's
        # state topic by the lifecycle): mirroring them back would copy our own mirrors in a circle.
        self.foreign_mirrors: dict[str, str] = {}
        # Reads the mirror records of the linker state topics on our source (set by the lifecycle):
        # {mirror topic: the cluster id it was mirrored from}.
        self.read_foreign: Callable[[], Awaitable[dict[str, str]]] | None = None
        self.never: set[str] = set()       # the link's own state topic, whatever its name
        self._told: set[str] = set()

    async def refresh_foreign(self) -> None:
        """Re-read which source topics other links mirrored there (before every selection)."""
        if self.read_foreign is not None:
            self.foreign_mirrors = await self.read_foreign()

    async def check_link(self) -> None:
        """Refuse (``LinkRefused``) a source and destination that are one cluster."""
        src, dst = await self.source.refresh_metadata([]), await self.dest.refresh_metadata([])
        if src.cluster_id is not None and src.cluster_id == dst.cluster_id:
            raise LinkRefused(f"source and destination are the same cluster (cluster id {src.cluster_id}): "
                              "a link into its own cluster would mirror its own mirrors")

    def refusal(self, topic: str) -> str | None:
        """Why ``topic`` must never be selected as a source topic (None: it may be)."""
        why = self._why(topic, self.source.snapshot, self.dest.snapshot)
        if why is not None and topic not in self._told:
            self._told.add(topic)
            log.warning("source topic %s is not mirrored: %s", topic, why)
        return why

    def _why(self, topic: str, src: ClusterSnapshot, dst: ClusterSnapshot) -> str | None:
        if topic in self.never or STATE_TOPIC.fullmatch(topic):
            return "it is a linker state topic"
        info = src.topics.get(topic)
        if info is not None and _known(info.topic_id) and info.topic_id in dst.topic_names_by_id:
            return (f"it is destination topic {dst.topic_names_by_id[info.topic_id]} itself "
                    "(same topic id): source and destination are one cluster")
        origin = self.foreign_mirrors.get(topic)
        if origin is not None and origin == dst.cluster_id:
            return (f"it is a mirror another link made from cluster {origin}, this link's destination: "
                    "mirroring it back would copy mirrors in a circle")
        return None
