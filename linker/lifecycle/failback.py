"""`linker failback`: prepare the old source to take the promoted topics back (issue 21).

Vanilla Kafka cannot truncate a partition's tail, so records the old source took after
the failover offsets can only go away with the topic. The steps, per topic, in order:

1. the failover offsets: the STOPPED record (``by: linker``) of the forward link's state topic;
2. fence: DENY WRITE ``User:*`` on the topic on the old cluster (``manage_acls``), first, as soon
   as the old cluster answers — the same binding the reverse link keeps while it mirrors and
   removes at its promote; without ACLs the caller must say writes are stopped (``fence=False``);
3. diff (``tail_diff``): the old source below the failover offset against the promoted topic
   (batch bytes), and every record at or after it — the exact loss — optionally exported
   (``tail_export``);
4. reuse the old topic when every partition's tail is empty and its prefix exact, else recreate
   it (same partition count, replication factor and topic configs) only when asked;
5. write the reverse link file (``reverse_link``): `linker run` on it mirrors the promoted
   topics back with the same offsets, `linker promote` on it cuts back (offset sync, producer
   ids, proxy).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kproto.errors import ErrorCode
from linker.client import Admin, ClientError, ConfigResourceType, KafkaError, NewTopic
from linker.connect import connect
from linker.lifecycle.acls import NoAuthorizer, acls_bind, deny_writes, linker_principal
from linker.lifecycle.records import TopicState
from linker.lifecycle.reverse_link import write_reverse
from linker.lifecycle.state_store import StateStore
from linker.lifecycle.store_view import LinkState
from linker.lifecycle.tail_diff import PartitionDiff, diff_topic
from linker.lifecycle.tail_export import TailExport
from linker.settings import LifecycleSettings, LinkConfig

log = logging.getLogger("linker.lifecycle")

#: DescribeConfigs' source of a config set on the topic itself (what a recreated topic must keep).
DYNAMIC_TOPIC_CONFIG = 1
RECREATE_TIMEOUT_S = 60.0


class FailbackError(RuntimeError):
    """Failback cannot go on; the message says why and what to do."""


@dataclass
class TopicFailback:
    topic: str
    diffs: list[PartitionDiff] = field(default_factory=list)
    action: str = ""   # "reused", "recreated", "absent" (the reverse link creates it), or "" (refused)

    @property
    def lost(self) -> int:
        return sum(d.lost for d in self.diffs)

    @property
    def reusable(self) -> bool:
        return all(d.reusable for d in self.diffs)


@dataclass
class FailbackReport:
    topics: list[TopicFailback]
    fence: str = ""
    exported: list[Path] = field(default_factory=list)
    reverse_link: Path | None = None
    refusal: str | None = None   # set when a topic needs --recreate and it was not given

    def lines(self) -> list[str]:
        out = [self.fence] if self.fence else []
        for t in self.topics:
            out += [d.line() for d in t.diffs]
            what = {"reused": "old topic reused (nothing beyond the failover offsets, prefix exact)",
                    "recreated": "old topic deleted and recreated empty (same partitions, replication, configs)",
                    "absent": "not on the old source: the reverse link creates it"}.get(t.action, "not changed")
            out.append(f"{t.topic}: lost by the failover {t.lost} records; {what}")
        if self.exported:
            out.append("exported: " + ", ".join(str(p) for p in self.exported))
        if self.reverse_link is not None:
            names = " ".join(t.topic for t in self.topics)
            out.append(f"reverse link: {self.reverse_link} (next: `linker run --config {self.reverse_link}` mirrors "
                       f"the topics back with the same offsets; then `linker promote --config {self.reverse_link} "
                       f"{names}` cuts clients back)")
        return out


class Failback:
    """One failback of a forward link (``config``: the link file that was failed over)."""

    def __init__(self, config: LinkConfig) -> None:
        self.config = config
        self.settings: LifecycleSettings = config.lifecycle or LifecycleSettings()
        if config.topics.prefix:
            raise FailbackError("topics.prefix: failback of a link with a prefix is not supported (the "
                                "promoted topic is named differently from the old one)")
        self.old = connect(config.source, "old source", f"{config.source.client_id}-{config.name}-failback")
        self.promoted = connect(config.destination, "promoted cluster",
                                f"{config.destination.client_id}-{config.name}-failback")
        self.store = StateStore(self.promoted, self.settings.state_topic_for(config.name),
                                config.mirror.replication_factor)

    async def close(self) -> None:
        await self.old.close()
        await self.promoted.close()

    async def run(self, topics: list[str], *, fence: bool = True, recreate: bool = False,
                  export_dir: str | Path | None = None, forward_doc: dict[str, Any] | None = None,
                  reverse_path: str | Path | None = None) -> FailbackReport:
        failover = await self._failover_offsets(topics)
        old_topics = await self._old_topics(topics, failover)
        report = FailbackReport([TopicFailback(t) for t in topics])
        report.fence = await self._fence(topics, fence)
        export = TailExport(export_dir) if export_dir is not None else None
        try:
            for tf in report.topics:
                if tf.topic in old_topics:
                    tf.diffs = await diff_topic(self.old, self.promoted, tf.topic, failover[tf.topic], sink=export,
                                                compacted=await self._compacted(tf.topic))
                else:
                    tf.action = "absent"
        finally:
            if export is not None:
                export.close()
                report.exported = export.paths
        todo = [t for t in report.topics if not t.action and not t.reusable]
        for t in report.topics:
            if not t.action and t.reusable:
                t.action = "reused"
        if todo and not recreate:
            report.refusal = (
                "the old topics hold data the promoted topics do not ("
                + "; ".join(f"{t.topic}: " + ", ".join(
                    f"partition {d.partition} {d.lost} records beyond offset {d.failover_offset}"
                    + (" and a differing prefix" if d.prefix_problem else "") for d in t.diffs if not d.reusable)
                    for t in todo)
                + "). Kafka cannot truncate a tail: export the records if they matter (--export DIR), then run "
                  "failback again with --recreate to delete and recreate the old topics")
            return report
        for t in todo:
            await self._recreate(t.topic)
            t.action = "recreated"
        if forward_doc is not None and reverse_path is not None:
            report.reverse_link = write_reverse(forward_doc, topics, reverse_path)
        return report

    async def _failover_offsets(self, topics: list[str]) -> dict[str, dict[int, int]]:
        """The offsets each topic was stopped at (failover or promote), from the forward state topic."""
        try:
            await self.promoted.refresh_metadata([])
        except (ClientError, OSError) as exc:
            raise FailbackError(f"the promoted cluster does not answer: {exc}") from exc
        snap = await self.promoted.refresh_metadata([self.store.topic])
        info = snap.topics.get(self.store.topic)
        if info is None or info.error_code:
            raise FailbackError(f"no state topic {self.store.topic} on the destination: nothing was failed over")
        st = LinkState.from_records(await self.store.read_all())
        out = {}
        for t in topics:
            r = st.topics.get(t)
            if r is None or r.state is not TopicState.STOPPED or r.by != "linker" or not r.offsets:
                state = "ACTIVE" if r is None else f"{r.state.value} by {r.by}"
                raise FailbackError(f"{t} is not failed over or promoted (state {state}): failback needs the "
                                    "offsets of a STOPPED topic; run `linker failover` (or promote) first")
            out[t] = dict(r.offsets)
        return out

    async def _old_topics(self, topics: list[str], failover: dict[str, dict[int, int]]) -> set[str]:
        """The topics present on the old source; refuses one whose partitions are not the failed-over ones."""
        try:
            snap = await self.old.refresh_metadata(topics)
        except (ClientError, OSError) as exc:
            raise FailbackError(f"the old source does not answer ({exc}): failback starts once it is back") from exc
        present = set()
        for t in topics:
            info = snap.topics.get(t)
            if info is None or info.error_code:
                continue
            if set(info.partitions) != set(failover[t]):
                raise FailbackError(f"{t}: the old source has partitions {sorted(info.partitions)}, the failover "
                                    f"recorded {sorted(failover[t])}: fail back by hand")
            present.add(t)
        return present

    async def _compacted(self, topic: str) -> bool:
        policy = (await Admin(self.old).topic_configs([topic])).get(topic, {}).get("cleanup.policy") or ""
        return "compact" in policy

    async def _fence(self, topics: list[str], fence: bool) -> str:
        if not fence:
            return ("fence: NOT fenced (--no-fence): writes to the old source are not refused; make sure its "
                    "producers are stopped")
        if not self.settings.manage_acls:
            raise FailbackError("writes to the old source cannot be fenced: lifecycle.manage_acls is off. Turn it on "
                                "(the old cluster needs an authorizer) or stop the old source's producers and pass "
                                "--no-fence")
        principal = linker_principal(self.config.source.sasl)
        try:
            if principal is not None and await acls_bind(
                    self.old, principal, f"{self.settings.state_topic_for(self.config.name + '-failback')}-acl-probe"):
                raise FailbackError(
                    f"the linker's principal on the old source ({principal}) is not a super user: a DENY WRITE "
                    "User:* there would refuse the reverse link's own writes too. Stop the old source's producers "
                    "and pass --no-fence (docs/lifecycle.md, \"Who may write when\")")
            await deny_writes(self.old, topics)
        except KafkaError as exc:
            if exc.code != ErrorCode.SECURITY_DISABLED:
                raise
            raise FailbackError(f"writes to the old source cannot be fenced (no authorizer: {exc}); stop its "
                                "producers and pass --no-fence") from exc
        except NoAuthorizer as exc:
            raise FailbackError(f"writes to the old source cannot be fenced ({exc}); stop its producers and pass "
                                "--no-fence") from exc
        return (f"fence: DENY WRITE User:* on {', '.join(topics)} on the old source (kept until `linker promote` "
                "on the reverse link)")

    async def _recreate(self, topic: str) -> None:
        """Delete ``topic`` on the old source and create it again, empty, as it was configured."""
        admin = Admin(self.old)
        info = (await self.old.refresh_metadata([topic])).topics[topic]
        parts = len(info.partitions)
        rf = len(next(iter(info.partitions.values())).replicas)
        entries = (await admin.describe_configs([(ConfigResourceType.TOPIC, topic)]))[(int(ConfigResourceType.TOPIC), topic)]
        configs = {k: e.value for k, e in entries.items() if e.source == DYNAMIC_TOPIC_CONFIG and e.value is not None}
        log.warning("failback: deleting %s on the old source (%d partitions, replication factor %d, configs %s)",
                    topic, parts, rf, configs)
        await admin.delete_topics([topic])
        deadline = asyncio.get_running_loop().time() + RECREATE_TIMEOUT_S
        while True:
            try:
                await admin.create_topics([NewTopic(topic, parts, rf, configs)])
                return
            except KafkaError as exc:   # the deletion may still be finishing on the controller
                if exc.code != ErrorCode.TOPIC_ALREADY_EXISTS or asyncio.get_running_loop().time() > deadline:
                    raise
            await asyncio.sleep(0.2)
