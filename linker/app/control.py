"""The loopback control endpoint of `linker proxy`, and its client in `linker promote|failover`.

One JSON request line, one JSON answer line; loopback only. A request carries the
token `linker proxy` writes at start into a file only its user can read (0600, in a
0700 directory): a local process of another user cannot run a failover. Each
connection must send its line within READ_TIMEOUT and at most MAX_CONTROL_REQUEST
bytes; at most MAX_CONNECTIONS are served at once (see docs/proxy.md).
"""
from __future__ import annotations

import asyncio
import hmac
import json
import os
import secrets
import stat
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

from linker.lifecycle.commands import CommandError
from linker.settings import LinkConfig

from .proxied_promotion import ProxiedPromotion
from .proxy_settings import proxy_settings

MAX_CONTROL_REQUEST = 64 * 1024
READ_TIMEOUT = 10.0
MAX_CONNECTIONS = 8
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def token_path(config: LinkConfig) -> Path:
    """Where `linker proxy` writes the control token and `linker promote` reads it: the
    [proxy] control_token_file, else a per-user directory under the system temp dir."""
    settings = proxy_settings(config)
    if settings.control_token_file:
        return Path(settings.control_token_file)
    port = settings.control[1] if settings.control else 0
    return Path(tempfile.gettempdir()) / f"kafka-linker-{os.getuid()}" / f"{config.name}-{port}.control-token"


def write_token(path: Path) -> str:
    """A fresh random token in `path`, readable by this user only (an older file is replaced)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.parent.stat()
    if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
        raise ValueError(f"proxy.control_token_file: directory {path.parent} must belong to this user and "
                         "be closed to others (mode 0700)")
    token = secrets.token_hex(32)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def read_token(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise CommandError(f"cannot read the proxy's control token {path} ({exc.strerror}); it is written by "
                           "`linker proxy` at start: run this command as the same user") from None


class ControlEndpoint:
    """Serves promote, failover and status requests for one link's proxy, to holders of the token."""

    def __init__(self, promotion: ProxiedPromotion, host: str, port: int, token_file: Path,
                 read_timeout: float = READ_TIMEOUT) -> None:
        if host not in LOOPBACK:
            raise ValueError(f"proxy.control: {host} is not a loopback address; the control endpoint listens "
                             "on loopback only")
        self.promotion = promotion
        self.host, self.port = host, port
        self.token_file, self.read_timeout = token_file, read_timeout
        self._token = ""
        self._server: asyncio.Server | None = None
        self._connections = 0

    async def __aenter__(self) -> ControlEndpoint:
        self._token = write_token(self.token_file)
        self._server = await asyncio.start_server(self._handle, self.host, self.port, limit=MAX_CONTROL_REQUEST)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self.token_file.unlink(missing_ok=True)

    async def answer(self, req: Any) -> dict[str, Any]:
        p = self.promotion
        topics = req.get("topics")
        if not (isinstance(topics, list) and topics and all(isinstance(t, str) for t in topics)):
            topics = None
        if req.get("command") == "promote" and topics:
            return await p.promote(list(dict.fromkeys(topics)), force=req.get("force") is True,
                                   per_topic=req.get("per_topic") is True)
        if req.get("command") == "failover" and topics:
            return await p.failover(list(dict.fromkeys(topics)))
        if req.get("command") == "status":
            return {"ok": True, "fronts": p.fronts, "mirrors": p.mirrors.topics()}
        return {"ok": False, "error": f"unknown control request {req.get('command')!r} (or no topics)"}

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._connections >= MAX_CONNECTIONS:
            writer.close()
            return
        self._connections += 1
        try:
            answer = await self._answer_one(reader)
            if answer is not None:
                writer.write(json.dumps(answer).encode() + b"\n")
                await asyncio.wait_for(writer.drain(), self.read_timeout)
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            self._connections -= 1
            writer.close()

    async def _answer_one(self, reader: asyncio.StreamReader) -> dict[str, Any] | None:
        """The answer to one request line; None (close without answer) for a line too slow or too long."""
        try:
            line = await asyncio.wait_for(reader.readline(), self.read_timeout)
        except (asyncio.TimeoutError, ValueError, asyncio.LimitOverrunError):
            return None
        try:
            req = json.loads(line or b"{}")
        except ValueError:
            return {"ok": False, "error": "control request is not one JSON line"}
        token = req.get("token") if isinstance(req, dict) else None
        if not (isinstance(token, str) and hmac.compare_digest(token.encode(), self._token.encode())):
            return {"ok": False, "error": "control request refused: no valid token (run `linker promote` "
                                          "as the user that runs `linker proxy`)"}
        try:
            return await self.answer(req)
        except Exception as exc:  # reported to `linker promote`, which exits 1 with it
            return {"ok": False, "error": str(exc), "fronts": self.promotion.fronts}


async def control_request(config: LinkConfig, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Send one request to the running `linker proxy` of this link."""
    control = proxy_settings(config).control
    if control is None:
        raise CommandError("the link file has no proxy.control")
    host, port = control
    request = {**request, "token": read_token(token_path(config))}
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


def command_via_proxy(config: LinkConfig, command: str, topics: list[str], force: bool = False,
                      per_topic: bool = False) -> int:
    """`linker promote|failover` when the link file has proxy.control: the proxy runs it and
    moves its clients."""
    settings = proxy_settings(config)
    timeout = (config.lifecycle.promote_timeout_ms / 1000 + settings.catch_up_timeout_s
               + settings.group_drain_timeout_s + settings.txn_drain_timeout_s + 60)
    request: dict[str, Any] = {"command": command, "topics": topics}
    if command == "promote":
        request["force"] = force
        request["per_topic"] = per_topic
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
    if "routed" in answer:
        sys.stdout.write(f"proxy: {', '.join(answer['routed'])} served by the destination, other topics by the "
                         f"source (writes held {answer['hold_seconds']}s; group offsets copied: "
                         f"{', '.join(answer['groups_copied']) or 'none'}; groups moved: "
                         f"{', '.join(answer['groups_moved']) or 'none'})\n")
    elif "hold_seconds" in answer:
        sys.stdout.write(f"proxy: clients switched to the destination (writes held {answer['hold_seconds']}s; "
                         f"group offsets copied: {', '.join(answer['groups_copied']) or 'none'})\n")
    elif "switched_to" in answer:
        sys.stdout.write("proxy: clients switched to the destination (groups resume from the last offset sync)\n")
    return 0
