"""Mirror topic creation and adoption.

A mirror topic must let the broker store source batches untouched: CreateTime
timestamps (no CRC rewrite), explicit timestamp bounds (old or future source
timestamps must not be refused), ``compression.type=producer`` (no
recompression) and ``max.message.bytes`` at least the source's. Time and size
retention follow the source. A compacted source gets a *delete*-policy mirror
that deletes nothing (retention -1): the destination's own cleaner would
rewrite batches on its own schedule, breaking byte equality, and DeleteRecords
(alignment) needs the delete policy. Compaction of the mirror is switched on
at cutover (a later issue).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from linker.settings import MirrorSettings

log = logging.getLogger("linker.mirror")

COPIED_FROM_SOURCE = ("cleanup.policy", "retention.ms", "retention.bytes", "max.message.bytes")


def required_configs(source_configs: dict[str, str | None], mirror: MirrorSettings) -> dict[str, str]:
    """The destination topic configs a mirror of a topic with ``source_configs`` needs."""
    out = {k: v for k, v in source_configs.items() if k in COPIED_FROM_SOURCE and v is not None}
    if "compact" in (source_configs.get("cleanup.policy") or ""):
        out.update({"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"})
    out.update({
        "message.timestamp.type": "CreateTime",
        "message.timestamp.before.max.ms": str(mirror.timestamp_before_max_ms),
        "message.timestamp.after.max.ms": str(mirror.timestamp_after_max_ms),
        "compression.type": "producer",
    })
    return out


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
