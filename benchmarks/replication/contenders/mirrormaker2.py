"""(b) Apache Kafka MirrorMaker 2, dedicated mode, same Kafka version as the test bed.

Tuned per its documentation (`<target>.producer.*`, `<source>.consumer.*`,
`tasks.max`): compression matching the source, bigger producer batches with a
linger, five idempotent requests in flight (Connect's default is one), bigger
fetches and polls, one task per partition up to 8. Heartbeats, checkpoints and
group/ACL syncing are off: they are not data replication. Cluster aliases are
unique per run, so a run never inherits a previous run's stored connector
configuration; the alias is the remote topic prefix (`<alias>.<topic>`).
"""
from __future__ import annotations

import re
from typing import Any

from kafkabed import PREVIOUS_4X, fetch_artifacts

from benchmarks.replication.contenders.base import Contender, Launch, RunContext, delete_quietly, dest_configs
from benchmarks.replication.workloads import Workload

#: connect-mirror is not published for every broker release; MirrorMaker 2 runs from the
#: newest 4.x it is published for, against the pinned brokers.
MM2_VERSION = PREVIOUS_4X
#: connect-mirror-maker.sh's own default (KAFKA_HEAP_OPTS="-Xms256M -Xmx2G"): MM2 as its launcher runs it.
MM2_HEAP = "2g"
MAX_TASKS = 8

PRODUCER = {"batch.size": 262144, "linger.ms": 10, "max.in.flight.requests.per.connection": 5,
            "enable.idempotence": "true", "acks": "all", "buffer.memory": 67108864}
#: fetch.max.wait.ms as the linker's (benchmark setting 100 ms; the consumer default is 500 ms):
#: the same wait for every contender, so the latency workload compares replication, not waits.
CONSUMER = {"fetch.max.bytes": 52428800, "max.partition.fetch.bytes": 4194304, "max.poll.records": 2000,
            "fetch.max.wait.ms": 100}
FLOW = {"emit.heartbeats.enabled": "false", "emit.checkpoints.enabled": "false",
        "sync.group.offsets.enabled": "false", "refresh.groups.enabled": "false",
        "sync.topic.acls.enabled": "false", "refresh.topics.interval.seconds": 5}
LOG4J2 = """status = error
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = STDOUT
"""


def mm2_classpath() -> str:
    """connect-mirror of the pinned Kafka with its dependencies and the log4j2 backend the distribution ships."""
    return fetch_artifacts(f"mm2-{MM2_VERSION}", [
        f"org.apache.kafka:connect-mirror:{MM2_VERSION}",
        "org.apache.logging.log4j:log4j-api:2.24.3",
        "org.apache.logging.log4j:log4j-core:2.24.3",
        "org.apache.logging.log4j:log4j-slf4j-impl:2.24.3",
    ])


class MirrorMaker2Contender(Contender):
    def __init__(self) -> None:
        super().__init__("mm2", {
            "version": MM2_VERSION, "mode": "dedicated (org.apache.kafka.connect.mirror.MirrorMaker)",
            "jvm": f"-Xmx{MM2_HEAP}, default GC", "tasks.max": f"min(partitions, {MAX_TASKS})",
            "target.producer": {**PRODUCER, "compression.type": "<source codec>"},
            "source.consumer": CONSUMER, "flow": FLOW,
            "remote topic": "created before the run (compression.type=producer; compacted workloads: "
                            "cleanup.policy=compact), adopted by MM2",
        })
        self._aliases: dict[int, tuple[str, str]] = {}

    def aliases(self, ctx: RunContext, seq: int) -> tuple[str, str]:
        return self._aliases.setdefault(seq, (f"s{ctx.run_id}x{seq}", f"d{ctx.run_id}x{seq}"))

    def dest_topic(self, ctx: RunContext, topic: str, seq: int) -> str:
        return f"{self.aliases(ctx, seq)[0]}.{topic}"

    def prepare(self, ctx: RunContext, topic: str, w: Workload, seq: int) -> bool:
        """Create the remote topic before MM2 starts (MM2 adopts it), as for every contender.

        Left to MM2, a 1,000-partition topic is produced to the moment it is created:
        one run had a partition stuck in an OUT_OF_ORDER_SEQUENCE_NUMBER retry loop
        (idempotent producer, 5 in flight) after NOT_LEADER_OR_FOLLOWER, 1 record short."""
        ctx.destination.create_topic(self.dest_topic(ctx, topic, seq), w.partitions, configs=dest_configs(w))
        return True

    def properties(self, ctx: RunContext, topic: str, w: Workload, seq: int) -> dict[str, Any]:
        s, d = self.aliases(ctx, seq)
        props: dict[str, Any] = {
            "clusters": f"{s}, {d}",
            f"{s}.bootstrap.servers": ctx.source.bootstrap, f"{d}.bootstrap.servers": ctx.destination.bootstrap,
            f"{s}->{d}.enabled": "true", f"{d}->{s}.enabled": "false",
            f"{s}->{d}.topics": re.escape(topic),
            "tasks.max": min(w.partitions, MAX_TASKS),
            "replication.factor": 1, "offset-syncs.topic.replication.factor": 1,
            "checkpoints.topic.replication.factor": 1, "heartbeats.topic.replication.factor": 1,
            "offset.storage.replication.factor": 1, "status.storage.replication.factor": 1,
            "config.storage.replication.factor": 1,
            **FLOW,
        }
        props.update({f"{d}.producer.{k}": v for k, v in PRODUCER.items()})
        props[f"{d}.producer.compression.type"] = w.codec
        props.update({f"{s}.consumer.{k}": v for k, v in CONSUMER.items()})
        return props

    def launch(self, ctx: RunContext, topic: str, w: Workload, seq: int) -> Launch:
        from kafkabed.cluster import java_binary
        props = self.properties(ctx, topic, w, seq)
        cfg = ctx.workdir / f"mm2-{seq}.properties"
        cfg.write_text("".join(f"{k} = {v}\n" for k, v in props.items()))
        log_cfg = ctx.workdir / "mm2-log4j2.properties"
        log_cfg.write_text(LOG4J2)
        _, d = self.aliases(ctx, seq)
        return Launch([java_binary(), f"-Xmx{MM2_HEAP}", f"-Dlog4j2.configurationFile={log_cfg}",
                       "-cp", mm2_classpath(), "org.apache.kafka.connect.mirror.MirrorMaker",
                       str(cfg), "--clusters", d])

    def cleanup(self, ctx: RunContext, topic: str, seq: int) -> None:
        """The remote topic and MM2's internal topics on both clusters."""
        s, d = self.aliases(ctx, seq)
        for cluster in (ctx.source, ctx.destination):
            try:
                names = cluster.admin().list_topics()
            except Exception:
                continue
            for name in names:
                if s in name or d in name:
                    delete_quietly(cluster, name)
