"""Mirror topic creation and adoption.

A mirror topic must let the broker store source batches untouched: CreateTime
timestamps (no CRC rewrite), explicit timestamp bounds (old or future source
timestamps must not be refused), ``compression.type=producer`` (no
recompression) and ``max.message.bytes`` at least the source's. Time and size
retention follow the source, and so does ``cleanup.policy``: a compacted
source gets a compacted mirror, whose cleaner removes the fillers written at
offsets the source compacted away (``compacted.py``); its batches are then
compared by records where a cleaner rewrote them (``recordwise.py``).

Created mirrors are also made durable (``durability_configs``): min.insync.replicas
min(2, replication factor) and no unclean leader election, so an acknowledged
(acks=all) batch survives a destination broker failure. Both are overridable
in ``[mirror]``. A batch the destination refuses for a config reason
(MESSAGE_TOO_LARGE, INVALID_TIMESTAMP) gets the config fixed once
(``repair_configs``) and is retried.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from kproto.errors import ErrorCode
from linker.client import Admin, Client
from linker.settings import MirrorSettings

log = logging.getLogger("linker.mirror")

COPIED_FROM_SOURCE = ("cleanup.policy", "retention.ms", "retention.bytes", "max.message.bytes")


def required_configs(source_configs: dict[str, str | None], mirror: MirrorSettings) -> dict[str, str]:
    """The destination topic configs a mirror of a topic with ``source_configs`` needs."""
    out = {k: v for k, v in source_configs.items() if k in COPIED_FROM_SOURCE and v is not None}
    out.update({
        "message.timestamp.type": "CreateTime",
        "message.timestamp.before.max.ms": str(mirror.timestamp_before_max_ms),
        "message.timestamp.after.max.ms": str(mirror.timestamp_after_max_ms),
        "compression.type": "producer",
    })
    return out


def is_compacted(source_configs: dict[str, str | None]) -> bool:
    """The source topic's cleaner compacts it (``compact`` or ``compact,delete``)."""
    return "compact" in (source_configs.get("cleanup.policy") or "")


def durability_configs(replicas: int, mirror: MirrorSettings) -> dict[str, str]:
    """Durability settings for a created mirror topic with ``replicas`` replicas."""
    isr = mirror.min_insync_replicas if mirror.min_insync_replicas != -1 else max(1, min(2, replicas))
    return {"min.insync.replicas": str(min(isr, max(replicas, 1))),
            "unclean.leader.election.enable": str(mirror.unclean_leader_election_enable).lower()}


async def make_durable(dest: Client, dest_admin: Admin, topics: list[str], mirror: MirrorSettings) -> None:
    """Set ``durability_configs`` on freshly created mirror topics.

    Done after creation because the replication factor may be the broker's
    default, known only from the created topic's metadata."""
    if not topics:
        return
    snap = await dest.refresh_metadata(topics)
    for topic in topics:
        parts = snap.topics[topic].partitions if topic in snap.topics else {}
        replicas = min((len(p.replicas) for p in parts.values()), default=1)
        configs = durability_configs(replicas, mirror)
        log.info("mirror topic %s: %d replicas, setting %s", topic, replicas, configs)
        await dest_admin.alter_topic_configs(topic, configs)


#: Produce errors a mirror topic config change can cure, and the configs that cure them.
REPAIRABLE = {
    ErrorCode.MESSAGE_TOO_LARGE: ("max.message.bytes",),
    ErrorCode.INVALID_TIMESTAMP: ("message.timestamp.type", "message.timestamp.before.max.ms",
                                  "message.timestamp.after.max.ms"),
}


def repair_configs(error: ErrorCode, batch_size: int, mirror: MirrorSettings) -> dict[str, str]:
    """Configs that let a batch refused with ``error`` be stored (empty: nothing to repair)."""
    keys = REPAIRABLE.get(error, ())
    if not keys:
        return {}
    if error is ErrorCode.MESSAGE_TOO_LARGE:
        return {"max.message.bytes": str(batch_size)}
    return {
        "message.timestamp.type": "CreateTime",
        "message.timestamp.before.max.ms": str(mirror.timestamp_before_max_ms),
        "message.timestamp.after.max.ms": str(mirror.timestamp_after_max_ms),
    }


def config_drift(required: dict[str, str], actual: dict[str, str | None]) -> dict[str, str]:
    """Required settings the destination topic does not have yet.

    ``max.message.bytes`` only needs to be at least the source's.
    """
    drift = {}
    for k, v in required.items():
        have = actual.get(k)
        if k == "max.message.bytes" and have is not None and have.isdigit() and int(have) >= int(v):
            continue
        if have != v:
            drift[k] = v
    return drift


@dataclass
class TopicPlan:
    topic: str
    partitions: int
    create: bool
    configs: dict[str, str]
    problem: str = ""      # a reason every partition of this topic must FAIL
    grow_from: int = 0     # the destination has fewer partitions: CreatePartitions up to ``partitions``


def plan_topics(source_partitions: dict[str, int], dest_partitions: dict[str, int],
                source_configs: dict[str, dict[str, str | None]],
                dest_configs: dict[str, dict[str, str | None]], mirror: MirrorSettings) -> list[TopicPlan]:
    plans = []
    for topic, n in sorted(source_partitions.items()):
        req = required_configs(source_configs.get(topic, {}), mirror)
        if topic not in dest_partitions:
            if not mirror.create_topics:
                plans.append(TopicPlan(topic, n, False, {}, "destination topic is missing and "
                                                            "mirror.create_topics is false"))
            else:
                plans.append(TopicPlan(topic, n, True, req))
            continue
        m = dest_partitions[topic]
        if m > n:
            plans.append(TopicPlan(topic, n, False, {}, f"destination topic has {m} partitions, "
                                                        f"source has {n}"))
            continue
        plans.append(TopicPlan(topic, n, False, config_drift(req, dest_configs.get(topic, {})),
                               grow_from=m if m < n else 0))
    return plans
