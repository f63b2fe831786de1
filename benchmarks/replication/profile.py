"""py-spy on the linker process during a benchmark run, summarized as text.

py-spy is not a project dependency; the harness looks for it on PATH (or
$PY_SPY) and skips profiling with a message when it is missing. Idle samples
are kept (--idle), so time spent waiting in the event loop shows up as such.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

from kafkabed import procs


#: Frames every sample passes through (interpreter start-up, the event loop, the CLI): left out
#: of the inclusive list so it shows where time goes, not that the loop is running.
GENERIC = ("<frozen runpy>", "asyncio/runners.py", "asyncio/base_events.py", "asyncio/events.py",
           "linker/cli.py", "<module>")


def py_spy() -> str | None:
    return os.environ.get("PY_SPY") or shutil.which("py-spy")


def start(pid: int, out: Path, log_path: Path) -> subprocess.Popen | None:
    exe = py_spy()
    if exe is None:
        return None
    return procs.spawn([exe, "record", "--pid", str(pid), "--idle", "--rate", "200", "--format", "raw",
                        "--output", str(out), "--nonblocking"], log_path)


def summarize(raw: Path, top: int = 15) -> str:
    """Top frames by inclusive and by self (leaf) share of samples, from py-spy's collapsed stacks."""
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        frames = stack.split(";")
        total += count
        leaf[frames[-1]] += count
        for f in set(frames):
            inclusive[f] += count
    if not total:
        return "no samples"
    lines = [f"{total} samples (200 Hz, idle included)", "", "self %  frame"]
    lines += [f"{100 * c / total:6.1f}  {f}" for f, c in leaf.most_common(top)]
    lines += ["", "total %  frame"]
    shown = [(f, c) for f, c in inclusive.most_common() if not any(g in f for g in GENERIC)]
    lines += [f"{100 * c / total:6.1f}  {f}" for f, c in shown[:top]]
    return "\n".join(lines)
