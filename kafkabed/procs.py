"""Child JVMs that cannot outlive the Python process that started them.

Every JVM runs in its own process group with PR_SET_PDEATHSIG=SIGKILL, so it
dies even if Python is killed with -9; it is also killed at interpreter exit
(atexit) and on SIGTERM/SIGHUP. Ctrl-C raises KeyboardInterrupt as usual, whose
unwinding (context managers, pytest teardown) and atexit stop the JVMs.
"""
from __future__ import annotations

import atexit
import ctypes
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Mapping, Sequence

_PR_SET_PDEATHSIG = 1
_live: dict[int, subprocess.Popen] = {}
_lock = threading.Lock()
_handlers_installed = False


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _libc()


def _die_with_parent() -> None:
    # Runs in the child between fork and exec. The signal is sent when the
    # forking *thread* ends, so spawn from a long-lived thread (the main one).
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def spawn(cmd: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None,
          cwd: Path | None = None) -> subprocess.Popen:
    """Start `cmd` in its own process group, stdout+stderr appended to `log_path`.

    The kernel's parent-death signal fires when the *thread* that forked ends,
    so children are always forked from a thread that lives as long as the
    process: the main thread, or else one long-lived spawner thread."""
    _install_handlers()
    if threading.current_thread() is threading.main_thread():
        return _spawn_here(cmd, log_path, env, cwd)
    return _Spawner.get().call(lambda: _spawn_here(cmd, log_path, env, cwd))


def _spawn_here(cmd: Sequence[str], log_path: Path, env: Mapping[str, str] | None,
                cwd: Path | None) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            list(cmd), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None, cwd=cwd,
            start_new_session=True, preexec_fn=_die_with_parent,
        )
    with _lock:
        _live[proc.pid] = proc
    return proc


class _Spawner:
    """One daemon thread that forks children on behalf of short-lived threads."""

    _instance: "_Spawner | None" = None

    def __init__(self) -> None:
        self._jobs: queue.Queue = queue.Queue()
        threading.Thread(target=self._run, name="kafkabed-spawner", daemon=True).start()

    @classmethod
    def get(cls) -> "_Spawner":
        with _lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _run(self) -> None:
        while True:
            job, done = self._jobs.get()
            try:
                done["result"] = job()
            except BaseException as e:  # handed back to the caller
                done["error"] = e
            done["event"].set()

    def call(self, job):
        done: dict = {"event": threading.Event()}
        self._jobs.put((job, done))
        done["event"].wait()
        if "error" in done:
            raise done["error"]
        return done["result"]


def kill(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Send `sig` to the process group of `proc` (no error if it is gone).

    Never after the process was reaped: its pid (= group id) may belong to
    someone else by then."""
    if proc.returncode is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop(proc: subprocess.Popen, timeout: float = 0.0) -> int | None:
    """SIGTERM then, after `timeout` seconds, SIGKILL; reap it. timeout 0 means kill -9 now."""
    if proc.poll() is None and timeout > 0:
        kill(proc, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    if proc.poll() is None:
        kill(proc, signal.SIGKILL)
    try:
        code = proc.wait(30)
    except subprocess.TimeoutExpired:  # pragma: no cover - kernel trouble
        code = None
    with _lock:
        _live.pop(proc.pid, None)
    return code


def live_pids() -> list[int]:
    """Pids of children this process started and has not reaped yet."""
    with _lock:
        return [pid for pid, p in _live.items() if p.poll() is None]


def kill_all() -> None:
    """kill -9 every child still running; used at exit and on signals."""
    with _lock:
        procs = list(_live.values())
    for proc in procs:
        kill(proc, signal.SIGKILL)
    deadline = time.monotonic() + 10
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        with _lock:
            _live.pop(proc.pid, None)


def _on_signal(signum: int, frame: object) -> None:
    kill_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(kill_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        # Leave handlers the application chose alone; only replace the defaults.
        if signal.getsignal(signum) in (signal.SIG_DFL, None):
            signal.signal(signum, _on_signal)


def processes_mentioning(text: str) -> list[int]:
    """Pids of live (non-zombie) processes whose command line contains `text`.

    Independent of the bookkeeping above: used to prove that no JVM of a run
    directory is left, whoever started it."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found
