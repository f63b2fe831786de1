"""Where a run's cluster files live, and reading their logs."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

_run_dir: Path | None = None


def run_dir() -> Path:
    """This process's directory for cluster files; logs stay there after the run.

    $KAFKABED_RUN_DIR if set, else <tmp>/kafkabed-runs/<time>-<pid>."""
    global _run_dir
    if _run_dir is None:
        base = os.environ.get("KAFKABED_RUN_DIR")
        root = Path(base) if base else Path(tempfile.gettempdir()) / "kafkabed-runs"
        _run_dir = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        _run_dir.mkdir(parents=True, exist_ok=True)
        _prune_runs(root, keep=int(os.environ.get("KAFKABED_KEEP_RUNS", "50")))
    return _run_dir


def _prune_runs(root: Path, keep: int) -> None:
    """Delete old run directories of processes that have ended, keeping the newest `keep`."""
    finished = []
    for entry in root.iterdir():
        pid_text = entry.name.rsplit("-", 1)[-1]
        if not entry.is_dir() or not pid_text.isdigit() or entry == _run_dir:
            continue
        try:
            os.kill(int(pid_text), 0)
            continue  # its process still runs (perhaps another engineer's test session)
        except ProcessLookupError:
            finished.append(entry)
        except PermissionError:
            continue
    for entry in sorted(finished, key=lambda e: e.name)[:-keep or None] if keep else finished:
        shutil.rmtree(entry, ignore_errors=True)


def tail(path: Path, lines: int = 40) -> str:
    """The last `lines` lines of a text file ('' if it does not exist)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def log_contains(path: Path, text: str, limit: int = 16 * 1024 * 1024) -> bool:
    """Whether the first `limit` bytes of a log mention `text` (False if there is no log)."""
    try:
        with open(path, "rb") as f:
            return text.encode() in f.read(limit)
    except FileNotFoundError:
        return False
