"""(c) the naive kafka-python replicator (see naive_replicator.py)."""
from __future__ import annotations

from benchmarks.replication.contenders.base import Contender, Launch, RunContext
from benchmarks.replication.workloads import Workload

NAIVE_TIME_CAP_S = 45.0


class NaiveContender(Contender):
    def __init__(self) -> None:
        super().__init__("naive", {
            "process": "kafka-python 3 KafkaConsumer -> KafkaProducer, one Python process",
            "consumer": "group_id=None, auto_offset_reset=earliest, library defaults otherwise",
            "producer": "compression_type=<source codec>, library defaults otherwise",
        })
        # ~5 MB/s: a full GiB would take minutes per workload; its rate is steady after a few seconds.
        self.time_cap_s = NAIVE_TIME_CAP_S

    def launch(self, ctx: RunContext, topic: str, w: Workload, seq: int) -> Launch:
        return Launch([ctx.python, "-m", "benchmarks.replication.contenders.naive_replicator",
                       ctx.source.bootstrap, ctx.destination.bootstrap, topic, self.dest_topic(ctx, topic, seq), w.codec])
