"""The loopback control endpoint of `linker proxy`, and its client in `linker promote|failover`.

One JSON request line, one JSON answer line; loopback only, no authentication
(see docs/proxy.md).
"""
from __future__ import annotations

import asyncio
import json
import sys
from types import TracebackType
from typing import Any

from linker.lifecycle.commands import CommandError
from linker.settings import LinkConfig

from .proxied_promotion import ProxiedPromotion
from .proxy_settings import proxy_settings

MAX_CONTROL_REQUEST = 64 * 1024


class ControlEndpoint:
    """Serves promote, failover and status requests for one link's proxy."""

    def __init__(self, promotion: ProxiedPromotion, host: str, port: int) -> None:
        self.promotion = promotion
        self.host, self.port = host, port
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ControlEndpoint:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def answer(self, req: Any) -> dict[str, Any]:
        p = self.promotion
        topics = req.get("topics")
        if not (isinstance(topics, list) and topics and all(isinstance(t, str) for t in topics)):
            topics = None
        if req.get("command") == "promote" and topics:
            return await p.promote(list(dict.fromkeys(topics)), force=req.get("force") is True)
        if req.get("command") == "failover" and topics:
            return await p.failover(list(dict.fromkeys(topics)))
        if req.get("command") == "status":
            return {"ok": True, "fronts": p.fronts, "mirrors": p.mirrors.topics()}
        return {"ok": False, "error": f"unknown control request {req!r}"}

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            if len(line) > MAX_CONTROL_REQUEST:
                raise ValueError("control request too long")
            answer = await self.answer(json.loads(line or b"{}"))
        except Exception as exc:  # reported to `linker promote`, which exits 1 with it
            answer = {"ok": False, "error": str(exc), "fronts": self.promotion.fronts}
        writer.write(json.dumps(answer).encode() + b"\n")
        try:
            await writer.drain()
        finally:
            writer.close()


async def control_request(config: LinkConfig, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Send one request to the running `linker proxy` of this link."""
    control = proxy_settings(config).control
    if control is None:
        raise CommandError("the link file has no proxy.control")
    host, port = control
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
    except (OSError, asyncio.TimeoutError) as exc:
        raise CommandError(f"the link's proxy control endpoint {host}:{port} is not reachable ({exc}); "
                           "start `linker proxy`, or remove proxy.control from the link file to run the "
                           "command without switching the proxy's clients") from None
    try:
        writer.write(json.dumps(request).encode() + b"\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
    finally:
        writer.close()
    if not line:
        raise CommandError("the proxy closed the control connection without an answer")
    answer: dict[str, Any] = json.loads(line)
    return answer


def command_via_proxy(config: LinkConfig, command: str, topics: list[str], force: bool = False) -> int:
    """`linker promote|failover` when the link file has proxy.control: the proxy runs it and
    moves its clients."""
    settings = proxy_settings(config)
    timeout = (config.lifecycle.promote_timeout_ms / 1000 + settings.catch_up_timeout_s
               + settings.group_drain_timeout_s + 60)
    request: dict[str, Any] = {"command": command, "topics": topics}
    if command == "promote":
        request["force"] = force
    try:
        answer = asyncio.run(control_request(config, request, timeout))
    except (CommandError, OSError, asyncio.TimeoutError, ValueError) as exc:
        sys.stderr.write(f"linker {command}: {exc}\n")
        return 1
    if not answer.get("ok"):
        sys.stderr.write(f"linker {command}: {answer.get('error')} (proxy fronts {answer.get('fronts')})\n")
        return 1
    for line in answer["lines"]:
        sys.stdout.write(line + "\n")
    if "hold_seconds" in answer:
        sys.stdout.write(f"proxy: clients switched to the destination (writes held {answer['hold_seconds']}s; "
                         f"group offsets copied: {', '.join(answer['groups_copied']) or 'none'})\n")
    elif "switched_to" in answer:
        sys.stdout.write("proxy: clients switched to the destination (groups resume from the last offset sync)\n")
    return 0
