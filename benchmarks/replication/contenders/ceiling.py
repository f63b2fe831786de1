"""(d) the broker ceiling (see ceiling_replicator.py)."""
from __future__ import annotations

from benchmarks.replication.contenders.base import Contender, Launch, RunContext
from benchmarks.replication.contenders.ceiling_replicator import IN_FLIGHT
from benchmarks.replication.workloads import Workload


class CeilingContender(Contender):
    """``in_flight`` 1 (contender ``ceiling-1inflight``): the ceiling under the exact mirror's rule
    for batches it may not pipeline, one batch per partition in flight."""

    def __init__(self, in_flight: int = IN_FLIGHT, name: str = "ceiling") -> None:
        self.in_flight = in_flight
        super().__init__(name, {
            "process": "source batches preloaded in memory, then raw Produce (acks=all), "
                       "one batch per partition per request",
            "requests_in_flight": in_flight,
        }, follows_live=False)

    def launch(self, ctx: RunContext, topic: str, w: Workload, seq: int) -> Launch:
        return Launch([ctx.python, "-m", "benchmarks.replication.contenders.ceiling_replicator",
                       ctx.source.bootstrap, ctx.destination.bootstrap, topic, self.dest_topic(ctx, topic, seq),
                       str(w.partitions), str(self.in_flight)], gated=True)
