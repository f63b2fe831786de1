"""A ProxyServer with one mirror, as its own process (for RSS measurements and fuzzing):
``python proxy_process.py BOOTSTRAP MIRROR [ProxyConfig field=value ...]``.

Prints ``proxy listening on HOST:PORT pid PID`` once the bootstrap listener is open,
logs to stderr, serves until SIGTERM.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
from typing import Any

from linker.client import run
from linker.proxy import MirrorTopics, ProxyConfig, ProxyServer, UpstreamConfig


async def _serve(bootstrap: str, mirror: str, overrides: dict[str, Any]) -> None:
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    config = ProxyConfig(upstream=UpstreamConfig(name="destination", bootstrap=bootstrap), **overrides)
    async with ProxyServer(config, MirrorTopics({mirror: "rss-link"})) as server:
        print(f"proxy listening on {server.bootstrap}", flush=True)
        await stop.wait()


def start(bootstrap: str, mirror: str, stderr: Any, **overrides: Any) -> tuple[subprocess.Popen[str], str]:
    """Start the proxy process; returns it and its bootstrap address."""
    args = [f"{k}={v!r}" for k, v in overrides.items()]
    proc = subprocess.Popen([sys.executable, __file__, bootstrap, mirror, *args], stdout=subprocess.PIPE,
                            stderr=stderr, text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    if not line.startswith("proxy listening on "):
        proc.kill()
        raise RuntimeError(f"the proxy process did not start: {line!r}")
    return proc, line.split()[-1]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


if __name__ == "__main__":
    import ast
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
    fields = {k: ast.literal_eval(v) for k, v in (a.split("=", 1) for a in sys.argv[3:])}
    run(_serve(sys.argv[1], sys.argv[2], fields))
