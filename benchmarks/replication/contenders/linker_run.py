"""(a) linker: `linker run` as a subprocess on a one-topic link file."""
from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path

from kafkabed.ports import free_ports

from benchmarks.replication.contenders.base import Contender, Launch, RunContext
from benchmarks.replication.workloads import Workload

#: [mirror] keys for the benchmark link; everything else stays at the engine's defaults.
LINKER_MIRROR_SETTINGS: dict[str, int] = {"fetch_max_wait_ms": 100}
#: What linker.mirror.topics.required_configs asks of a mirror topic of a default source topic.
MIRROR_TOPIC_CONFIGS = {"compression.type": "producer", "message.timestamp.type": "CreateTime",
                        "message.timestamp.before.max.ms": str(2**63 - 1),
                        "message.timestamp.after.max.ms": str(2**63 - 1)}


#: Prometheus counters read at the end of a compacted workload (``[metrics] listen`` is set only there).
COMPACTION_METRICS = {"fillers": "linker_compaction_fillers_total",
                      "rebuilt_batches": "linker_rebuilt_batches_total",
                      "rebuilt_bytes": "linker_rebuilt_bytes_total",
                      "mirrored_records": "linker_mirrored_records_total"}


def scrape(port: int, names: dict[str, str]) -> dict[str, float]:
    """Unlabelled (or summed over labels) counters from the linker's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {k: 0.0 for k in names}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        name = name.split("{", 1)[0]
        for k, metric in names.items():
            if name == metric:
                out[k] += float(value)
    return out


class LinkerContender(Contender):
    """`tree`: run the linker of another checkout (an earlier commit) instead of this one, as the
    contender `linker@<label>`, so a change is measured before and after on the same brokers and
    source topics, interleaved per workload. `mirror`: [mirror] keys over the benchmark's own
    (a variant of this linker, e.g. one produce lane, under its own `name`)."""

    def __init__(self, tree: Path | None = None, label: str = "before", name: str | None = None,
                 mirror: dict[str, int] | None = None) -> None:
        self.tree = tree
        self.mirror = {**LINKER_MIRROR_SETTINGS, **(mirror or {})}
        name = name or ("linker" if tree is None else f"linker@{label}")
        super().__init__(name, {"process": f"python -m {self._module()} run", "mirror": dict(self.mirror),
                                "topics": "same names as the source (exact mirror), created before the run "
                                          "with the engine's mirror-topic configs (compacted workloads: "
                                          "and the source's cleanup.policy=compact)",
                                "metrics": "[metrics] listen on a free local port on compacted workloads "
                                           "only (fillers are read from it)",
                                **({"tree": label} if tree else {})},
                         keeps_offsets=True)
        self._ports: dict[int, int] = {}

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
        configs = dict(MIRROR_TOPIC_CONFIGS)
        if w.kind == "compacted":
            # required_configs copies cleanup.policy (and retention, max.message.bytes: the source
            # has the defaults) from the source: a compacted mirror, whose cleaner removes fillers.
            configs["cleanup.policy"] = "compact"
        ctx.destination.create_topic(topic, w.partitions, configs=configs)
        return True

    def launch(self, ctx: RunContext, topic: str, w: Workload, seq: int) -> Launch:
        path = ctx.workdir / f"link-{seq}.toml"
        mirror = "".join(f"{k} = {v}\n" for k, v in self.mirror.items())
        metrics = ""
        if w.kind == "compacted":
            self._ports[seq] = free_ports(1)[0]
            metrics = f'[metrics]\nlisten = "127.0.0.1:{self._ports[seq]}"\n'
        path.write_text(
            f'name = "bench-{ctx.run_id}-{seq}"\n'
            f"[source]\nbootstrap_servers = {json.dumps(ctx.source.bootstrap.split(','))}\n"
            f"[destination]\nbootstrap_servers = {json.dumps(ctx.destination.bootstrap.split(','))}\n"
            f"[topics]\nnames = [{json.dumps(topic)}]\n[mirror]\n{mirror}{metrics}")
        return Launch([*self._command(ctx), "run", "--config", str(path), "--log-level", "WARNING"])

    async def final_stats(self, ctx: RunContext, seq: int, expect_fillers: int = 0) -> dict[str, float]:
        """The compaction counters, once they count ``expect_fillers`` fillers (they count
        acknowledged batches, a moment after the destination shows them) or after 5 s."""
        port = self._ports.pop(seq, None)
        if port is None:
            return {}
        deadline = time.monotonic() + 5
        got: dict[str, float] = {}
        while True:
            try:
                got = await asyncio.to_thread(scrape, port, COMPACTION_METRICS)
            except OSError:
                pass
            if got.get("fillers", 0) >= expect_fillers or time.monotonic() > deadline:
                return got
            await asyncio.sleep(0.2)
