"""What the harness needs to know about a contender: how to start it on one
source topic, where it writes, and the settings to record with the results."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafkabed import KafkaCluster

from benchmarks.replication.workloads import Workload


@dataclass
class RunContext:
    source: KafkaCluster
    destination: KafkaCluster
    workdir: Path
    run_id: str  # unique per benchmark run: keeps names apart across runs on shared clusters

    @property
    def python(self) -> str:
        return sys.executable


@dataclass
class Launch:
    """A started-to-be contender: its command line, and whether it waits to be told to go.

    ``gated``: the process prints READY when it has loaded what it needs and
    starts moving data on SIGUSR1 (the ceiling), so set-up is not timed.
    """

    command: list[str]
    gated: bool = False
    env: dict[str, str] | None = None


@dataclass
class Contender:
    """Base class: subclasses fill in the three hooks."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    #: Seconds of moving data after which a throughput run stops and reports the rate so far
    #: (None: the run's cap). Lets `make bench` fit in 30 minutes with a slow contender.
    time_cap_s: float | None = None
    #: Writes each source record at its source offset (compacted workloads: fillers at the holes),
    #: so it is done when the destination ends where the source does; otherwise when the
    #: destination holds as many records as the source.
    keeps_offsets: bool = False
    #: Follows a source being written (the latency workload); the ceiling preloads a finished one.
    follows_live: bool = True

    def dest_topic(self, ctx: RunContext, topic: str, seq: int) -> str:
        return f"{self.name}.{topic}"

    def prepare(self, ctx: RunContext, topic: str, w: Workload, seq: int) -> bool:
        """Create what must exist before the process starts (default: the destination topic).
        True if the destination topic was created here."""
        ctx.destination.create_topic(self.dest_topic(ctx, topic, seq), w.partitions, configs=dest_configs(w))
        return True

    def launch(self, ctx: RunContext, topic: str, w: Workload, seq: int) -> Launch:
        raise NotImplementedError

    async def final_stats(self, ctx: RunContext, seq: int, expect_fillers: int = 0) -> dict[str, float]:
        """Compacted workloads, once the contender moved everything (before it is stopped):
        figures it reports about itself, e.g. ``fillers`` (default: none)."""
        return {}

    def cleanup(self, ctx: RunContext, topic: str, seq: int) -> None:
        """Delete what the run left on the clusters (default: the destination topic)."""
        delete_quietly(ctx.destination, self.dest_topic(ctx, topic, seq))


def dest_configs(w: Workload) -> dict[str, str]:
    """A contender's destination topic: no recompression; compacted for a compacted workload
    (as MM2 would create it: it copies the source's cleanup.policy)."""
    out = {"compression.type": "producer"}
    if w.kind == "compacted":
        out["cleanup.policy"] = "compact"
    return out


def delete_quietly(cluster: KafkaCluster, topic: str) -> None:
    try:
        cluster.delete_topic(topic)
    except Exception:  # already gone, or never created because the contender failed early
        pass
