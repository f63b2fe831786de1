"""(a) linker: `linker run` as a subprocess on a one-topic link file."""
from __future__ import annotations

import json
from pathlib import Path

from benchmarks.replication.contenders.base import Contender, Launch, RunContext
from benchmarks.replication.workloads import Workload

#: [mirror] keys for the benchmark link; everything else stays at the engine's defaults.
LINKER_MIRROR_SETTINGS: dict[str, int] = {"fetch_max_wait_ms": 100}
#: What linker.mirror.topics.required_configs asks of a mirror topic of a default source topic.
MIRROR_TOPIC_CONFIGS = {"compression.type": "producer", "message.timestamp.type": "CreateTime",
                        "message.timestamp.before.max.ms": str(2**63 - 1),
                        "message.timestamp.after.max.ms": str(2**63 - 1)}


class LinkerContender(Contender):
    """`tree`: run the linker of another checkout (an earlier commit) instead of this one, as the
    contender `linker@<label>`, so a change is measured before and after on the same brokers and
    source topics, interleaved per workload."""

    def __init__(self, tree: Path | None = None, label: str = "before") -> None:
        self.tree = tree
        name = "linker" if tree is None else f"linker@{label}"
        super().__init__(name, {"process": f"python -m {self._module()} run", "mirror": dict(LINKER_MIRROR_SETTINGS),
                                "topics": "same names as the source (exact mirror), created before the run "
                                          "with the engine's mirror-topic configs",
                                **({"tree": label} if tree else {})})

    def _module(self) -> str:
        """The CLI module: linker.app.cli since the redesign, linker.cli before it."""
        if self.tree is None or (self.tree / "linker" / "app" / "cli.py").exists():
            return "linker.app.cli"
        return "linker.cli"

    def _command(self, ctx: RunContext) -> list[str]:
        if self.tree is None:
            return [ctx.python, "-m", self._module()]
        # the other tree first on sys.path, ahead of this checkout's editable install and the cwd
        boot = (f"import sys, runpy; sys.path.insert(0, {str(self.tree)!r}); "
                f"runpy.run_module({self._module()!r}, run_name='__main__', alter_sys=True)")
        return [ctx.python, "-c", boot]

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
        return Launch([*self._command(ctx), "run", "--config", str(path), "--log-level", "WARNING"])
