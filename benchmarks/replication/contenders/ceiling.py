"""(d) the broker ceiling (see ceiling_replicator.py)."""
from __future__ import annotations

from benchmarks.replication.contenders.base import Contender, Launch, RunContext
from benchmarks.replication.contenders.ceiling_replicator import IN_FLIGHT
from benchmarks.replication.workloads import Workload


class CeilingContender(Contender):
    def __init__(self) -> None:
        super().__init__("ceiling", {
            "process": "source batches preloaded in memory, then raw Produce (acks=all), "
                       "one batch per partition per request",
            "requests_in_flight": IN_FLIGHT,
        })

    def launch(self, ctx: RunContext, topic: str, w: Workload, seq: int) -> Launch:
        return Launch([ctx.python, "-m", "benchmarks.replication.contenders.ceiling_replicator",
                       ctx.source.bootstrap, ctx.destination.bootstrap, topic, self.dest_topic(ctx, topic, seq),
                       str(w.partitions)], gated=True)
