"""(a) linker: `linker run` as a subprocess on a one-topic link file."""
from __future__ import annotations

import json

from benchmarks.replication.contenders.base import Contender, Launch, RunContext
from benchmarks.replication.workloads import Workload

#: [mirror] keys for the benchmark link; everything else stays at the engine's defaults.
LINKER_MIRROR_SETTINGS: dict[str, int] = {"fetch_max_wait_ms": 100}
#: What linker.mirror.topics.required_configs asks of a mirror topic of a default source topic.
MIRROR_TOPIC_CONFIGS = {"compression.type": "producer", "message.timestamp.type": "CreateTime",
                        "message.timestamp.before.max.ms": str(2**63 - 1),
                        "message.timestamp.after.max.ms": str(2**63 - 1)}


class LinkerContender(Contender):
    def __init__(self) -> None:
        super().__init__("linker", {"process": "python -m linker.app.cli run", "mirror": dict(LINKER_MIRROR_SETTINGS),
                                    "topics": "same names as the source (exact mirror), created before the run "
                                              "with the engine's mirror-topic configs"})

    def dest_topic(self, ctx: RunContext, topic: str, seq: int) -> str:
        return topic  # an exact mirror keeps the name; the engine creates the topic

    def prepare(self, ctx: RunContext, topic: str, w: Workload, seq: int) -> bool:
        """Create the mirror topic as the engine would (the engine adopts an empty one).

        Topic creation is outside the timed window for every contender. (First done
        because the engine gave up on LEADER_NOT_AVAILABLE at start-up with 1,000 new
        partitions; it now keeps retrying, see docs/mirror.md.)"""
        ctx.destination.create_topic(topic, w.partitions, configs=MIRROR_TOPIC_CONFIGS)
        return True

    def launch(self, ctx: RunContext, topic: str, w: Workload, seq: int) -> Launch:
        path = ctx.workdir / f"link-{seq}.toml"
        mirror = "".join(f"{k} = {v}\n" for k, v in LINKER_MIRROR_SETTINGS.items())
        path.write_text(
            f'name = "bench-{ctx.run_id}-{seq}"\n'
            f"[source]\nbootstrap_servers = {json.dumps(ctx.source.bootstrap.split(','))}\n"
            f"[destination]\nbootstrap_servers = {json.dumps(ctx.destination.bootstrap.split(','))}\n"
            f"[topics]\nnames = [{json.dumps(topic)}]\n[mirror]\n{mirror}")
        return Launch([ctx.python, "-m", "linker.app.cli", "run", "--config", str(path), "--log-level", "WARNING"])
