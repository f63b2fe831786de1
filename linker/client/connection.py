"""One broker connection: framing, correlation ids, pipelining, timeouts.

Kafka answers requests in order on a connection, so waiters sit in a FIFO
and each response frame is matched to the head of it; the correlation id is
checked, never searched for. A cancelled waiter keeps its place: its response
is still read and thrown away, so the stream never desynchronises. A request
that times out closes the connection (like the Java client): every later
response would queue behind the late one anyway, and the broker is evidently
unwell.
"""
from __future__ import annotations

import asyncio
import importlib.metadata
import collections
import dataclasses
import logging
import random
import ssl
import struct
from typing import Any

import kproto
from kproto import ApiKey, messages

from .config import ClientConfig
from .errors import (AuthenticationError, ClientClosed, ClientError, ConnectFailed,
                     ConnectionLost, ProtocolError, RequestTimedOut, TlsError, UnsupportedVersion)
from .frames import FrameProtocol
from .kafka_errors import kafka_error
from .sasl import authenticate
from .tls import cached_ssl_context

log = logging.getLogger(__name__)

_CORRELATION_ID = struct.Struct(">i")
_UNSUPPORTED_VERSION = 35
_SOFTWARE_NAME = "kafka-linker"
_JOIN_LIMIT = 256 * 1024


def _software_version() -> str:
    try:
        return importlib.metadata.version("kafka-linker")
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"


__version__ = _software_version()


def api_name(api_key: int) -> str:
    try:
        return ApiKey(api_key).name
    except ValueError:
        return f"api key {api_key}"


@dataclasses.dataclass(slots=True)
class _Pending:
    correlation_id: int
    api_key: int
    version: int
    future: asyncio.Future[Any]
    raw: bool
    timer: asyncio.TimerHandle | None = None


class BrokerConnection:
    """An open, negotiated (and authenticated) connection to one broker."""

    def __init__(self, host: str, port: int, config: ClientConfig,
                 node_id: int | None = None) -> None:
        self.host = host
        self.port = port
        self.node_id = node_id
        self.config = config
        self.name = f"{host}:{port}" if node_id is None else f"{node_id} ({host}:{port})"
        self.api_versions: dict[int, tuple[int, int]] = {}
        #: the cluster's finalized feature levels from ApiVersions v3+ (name -> max level)
        self.finalized_features: dict[str, int] = {}
        self.reauthentications = 0
        self._version_cache: dict[tuple[int, tuple[int, int] | None], int] = {}
        self._client_id = config.client_id
        self._inflight: collections.deque[_Pending] = collections.deque()
        self._slots = asyncio.Semaphore(config.max_in_flight)
        self._correlation_id = 0
        self._protocol: FrameProtocol | None = None
        self._transport: asyncio.Transport | None = None
        self._error: ClientError | None = None
        self._closed = asyncio.Event()
        # Cleared while re-authenticating: new sends wait, in-flight drains.
        self._send_gate = asyncio.Event()
        self._send_gate.set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._loop = asyncio.get_running_loop()
        self._outgoing: list[Any] = []
        self._flush_scheduled = False
        self._reauth_timer: asyncio.TimerHandle | None = None
        self._reauth_task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        state = "closed" if self._error else "open"
        return f"<BrokerConnection {self.name} {state} in_flight={len(self._inflight)}>"

    # -- opening -------------------------------------------------------------------
    @classmethod
    async def open(cls, host: str, port: int, config: ClientConfig,
                   node_id: int | None = None) -> BrokerConnection:
        """Connect, negotiate versions and authenticate; raise a named error on failure."""
        connection = cls(host, port, config, node_id)
        try:
            await connection._connect()
            await connection._negotiate_versions()
            if config.security.protocol.uses_sasl:
                await connection._authenticate()
        except BaseException:
            connection.close()
            raise
        return connection

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        tls = self.config.security.tls if self.config.security.protocol.uses_tls else None
        context = cached_ssl_context(tls) if tls is not None else None
        factory = lambda: FrameProtocol(self._on_frame, self._on_lost, self._on_bad_frame,
                                        self.config.max_frame_size)
        try:
            transport, protocol = await asyncio.wait_for(
                loop.create_connection(factory, self.host, self.port, ssl=context,
                                       server_hostname=self.host if context else None),
                self.config.connect_timeout)
        except ssl.SSLCertVerificationError as exc:
            raise TlsError(self.name, exc.verify_message or str(exc)) from None
        except ssl.SSLError as exc:
            raise TlsError(self.name, exc.reason or str(exc)) from None
        except asyncio.TimeoutError:
            raise ConnectFailed(self.name, f"no connection within {self.config.connect_timeout}s") from None
        except OSError as exc:
            raise ConnectFailed(self.name, exc.strerror or str(exc)) from None
        self._transport = transport  # type: ignore[assignment]
        self._protocol = protocol  # type: ignore[assignment]

    async def _negotiate_versions(self) -> None:
        """ApiVersions at our highest version, retried at the broker's if it says so."""
        request_cls = messages.ApiVersionsRequest
        response_cls = messages.ApiVersionsResponse
        version = request_cls.VALID_VERSIONS[1]
        for _ in range(2):
            request = request_cls(client_software_name=_SOFTWARE_NAME,
                                  client_software_version=__version__)
            frame = await self.send(request, version=version, raw=True)
            body = memoryview(frame)[4:]
            try:
                response = response_cls.decode(body, version)
            except kproto.KprotoError:
                response = None
            if response is None or response.error_code == _UNSUPPORTED_VERSION:
                # The broker answers an unknown ApiVersions version in v0.
                try:
                    fallback = response_cls.decode(body, 0)
                except kproto.KprotoError as exc:
                    error = ProtocolError(self.name, f"undecodable ApiVersions response: {exc}")
                    self._fail(error)
                    raise error from None
                ranges = {k.api_key: (k.min_version, k.max_version) for k in fallback.api_keys}
                broker_max = ranges.get(ApiKey.API_VERSIONS, (0, 0))[1]
                if fallback.error_code != _UNSUPPORTED_VERSION or broker_max >= version:
                    raise ProtocolError(self.name, "ApiVersions negotiation failed")
                version = broker_max
                continue
            if response.error_code:
                raise kafka_error(response.error_code, None, broker=self.name,
                                  context="ApiVersions")
            self.api_versions = {k.api_key: (k.min_version, k.max_version)
                                 for k in response.api_keys}
            self.finalized_features = {f.name: f.max_version_level
                                       for f in (getattr(response, "finalized_features", None) or [])}
            return
        raise ProtocolError(self.name, "ApiVersions negotiation did not converge")

    async def _authenticate(self) -> None:
        credentials = self.config.security.sasl
        assert credentials is not None
        lifetime_ms = await authenticate(self, credentials)
        self._schedule_reauthentication(lifetime_ms)

    # -- re-authentication (KIP-368) -------------------------------------------------
    def _schedule_reauthentication(self, lifetime_ms: int) -> None:
        if lifetime_ms <= 0 or self._error is not None:
            return
        # Like the Java client: somewhere in 85%..95% of the session lifetime.
        delay = lifetime_ms / 1000 * random.uniform(0.85, 0.95)
        loop = asyncio.get_running_loop()
        self._reauth_timer = loop.call_later(delay, self._start_reauthentication)

    def _start_reauthentication(self) -> None:
        self._reauth_timer = None
        if self._error is None:
            self._reauth_task = asyncio.get_running_loop().create_task(self._reauthenticate())

    async def _reauthenticate(self) -> None:
        self._send_gate.clear()
        try:
            await self._idle.wait()
            if self._error is not None:
                return
            credentials = self.config.security.sasl
            assert credentials is not None
            lifetime_ms = await authenticate(self, credentials, bypass_gate=True)
            self.reauthentications += 1
            log.debug("re-authenticated to broker %s", self.name)
            self._schedule_reauthentication(lifetime_ms)
        except ClientError as exc:
            self._fail(exc if isinstance(exc, (AuthenticationError, ConnectionLost))
                       else ConnectionLost(self.name, f"re-authentication failed: {exc}"))
        finally:
            self._send_gate.set()

    # -- versions --------------------------------------------------------------------------
    def version_for(self, api_key: int, pin: tuple[int, int] | None = None) -> int:
        """Highest version both sides support, inside the caller's pin if any."""
        key = (api_key, pin)
        cached = self._version_cache.get(key)
        if cached is not None:
            return cached
        if pin is None:
            pin = self.config.version_pins.get(api_key)
        ours = messages.by_key(api_key, request=True).VALID_VERSIONS
        if ours is None:
            raise UnsupportedVersion(self.name, api_name(api_key), pin or (0, -1),
                                     self.api_versions.get(api_key), side="kproto")
        lo, hi = ours
        if pin is not None:
            lo, hi = max(lo, pin[0]), min(hi, pin[1])
        broker = self.api_versions.get(api_key)
        if broker is None:
            raise UnsupportedVersion(self.name, api_name(api_key), (lo, hi), None)
        best = min(hi, broker[1])
        if best < max(lo, broker[0]):
            raise UnsupportedVersion(self.name, api_name(api_key), (lo, hi), broker)
        self._version_cache[key] = best
        return best

    # -- sending ---------------------------------------------------------------------------
    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    @property
    def closed(self) -> bool:
        return self._error is not None

    @property
    def error(self) -> ClientError | None:
        return self._error

    async def request(self, body: Any, *, version: int | None = None,
                      pin: tuple[int, int] | None = None, timeout: float | None = None) -> Any:
        """Send one request and return its decoded response body.

        Produce with acks=0 returns None at once: the broker sends nothing back.
        """
        if version is None:
            version = self.version_for(body.API_KEY, pin)
        return await self.send(body, version=version, timeout=timeout)

    async def send(self, body: Any, *, version: int, timeout: float | None = None,
                   raw: bool = False, bypass_gate: bool = False) -> Any:
        if not bypass_gate and not self._send_gate.is_set():
            await self._send_gate.wait()
        if self._error is not None:
            raise self._error
        api_key = body.API_KEY
        gate = self.config.write_gate
        if api_key == ApiKey.PRODUCE and gate is not None:
            gate.check()   # a member past its lease: refused before anything is written
        if api_key == ApiKey.PRODUCE and body.acks == 0:
            self._write(kproto.encode_request(body, version, self._next_correlation_id(),
                                              self._client_id))
            await self._protocol.drain()  # type: ignore[union-attr]
            return None
        await self._slots.acquire()
        if self._error is not None:
            self._slots.release()
            raise self._error
        if api_key == ApiKey.PRODUCE and gate is not None and not gate.is_open():
            self._slots.release()   # the lease ended while waiting for a slot
            gate.check()
        correlation_id = self._next_correlation_id()
        try:
            chunks = kproto.encode_request(body, version, correlation_id, self._client_id)
        except BaseException:
            self._slots.release()
            raise
        loop = self._loop
        pending = _Pending(correlation_id, api_key, version, loop.create_future(), raw)
        wait = self.config.request_timeout if timeout is None else timeout
        pending.timer = loop.call_later(wait, self._on_timeout, pending, wait)
        self._inflight.append(pending)
        self._idle.clear()
        self._write(chunks)
        if self._protocol.write_paused:  # type: ignore[union-attr]
            try:
                await self._protocol.drain()  # type: ignore[union-attr]
            except asyncio.CancelledError:
                pending.future.cancel()  # keeps its FIFO slot; the answer is discarded
                raise
        return await pending.future

    def _next_correlation_id(self) -> int:
        value = self._correlation_id
        self._correlation_id = (value + 1) & 0x7FFFFFFF
        return value

    def _write(self, chunks: list[Any]) -> None:
        """Queue a frame; all frames queued in one loop iteration go out in one write.

        A syscall per request was the largest client cost when pipelining
        (measured: 65% of client time for small requests).
        """
        self._outgoing.extend(chunks)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        outgoing, self._outgoing = self._outgoing, []
        if self._error is None and self._transport is not None and outgoing:
            if len(outgoing) > 1 and sum(map(len, outgoing)) <= _JOIN_LIMIT:
                # One small copy beats handing the transport many tiny buffers.
                self._transport.write(b"".join(outgoing))
            else:
                self._transport.writelines(outgoing)

    # -- receiving -------------------------------------------------------------------------------
    def _on_frame(self, frame: bytearray | bytes) -> None:
        if not self._inflight:
            self._on_bad_frame(f"unsolicited response frame of {len(frame)} bytes")
            return
        if len(frame) < 4:
            self._on_bad_frame(f"response frame of {len(frame)} bytes has no correlation id")
            return
        pending = self._inflight[0]
        (correlation_id,) = _CORRELATION_ID.unpack_from(frame, 0)
        if correlation_id != pending.correlation_id:
            self._on_bad_frame(f"correlation id {correlation_id} does not match the "
                               f"expected {pending.correlation_id} ({api_name(pending.api_key)})")
            return
        self._inflight.popleft()
        self._slots.release()
        if not self._inflight:
            self._idle.set()
        if pending.timer is not None:
            pending.timer.cancel()
        future = pending.future
        if future.done():
            return  # cancelled waiter: read and discard, the slot is free again
        if pending.raw:
            future.set_result(frame)
            return
        try:
            _, body = kproto.decode_response(pending.api_key, pending.version, frame)
        except kproto.KprotoError as exc:
            error = ProtocolError(self.name, f"cannot decode {api_name(pending.api_key)} "
                                             f"v{pending.version} response: {exc}")
            future.set_exception(error)
            self._fail(error)
            return
        future.set_result(body)

    def _on_bad_frame(self, cause: str) -> None:
        self._fail(ProtocolError(self.name, cause))

    def _on_lost(self, exc: BaseException | None) -> None:
        if self._error is None:
            cause = "closed by the broker" if exc is None else f"{exc.__class__.__name__}: {exc}"
            self._fail(ConnectionLost(self.name, cause))
        self._closed.set()

    def _on_timeout(self, pending: _Pending, timeout: float) -> None:
        pending.timer = None
        if pending.future.done():
            return
        error = RequestTimedOut(self.name, api_name(pending.api_key), timeout)
        pending.future.set_exception(error)
        self._fail(ConnectionLost(self.name, f"{error}; connection closed"))

    # -- failing and closing ------------------------------------------------------------------------
    def _fail(self, error: ClientError) -> None:
        """Fail every waiter with `error` and close the transport."""
        if self._error is not None:
            return
        self._error = error
        if self._protocol is not None:
            self._protocol.stop_reading_frames()
        if self._reauth_timer is not None:
            self._reauth_timer.cancel()
        inflight, self._inflight = self._inflight, collections.deque()
        for pending in inflight:
            if pending.timer is not None:
                pending.timer.cancel()
            if not pending.future.done():
                pending.future.set_exception(error)
            self._slots.release()
        self._idle.set()
        self._send_gate.set()
        if self._transport is not None:
            self._transport.close()
        else:
            self._closed.set()

    def close(self) -> None:
        """Close now; waiters get ClientClosed."""
        self._fail(ClientClosed(f"connection to broker {self.name} closed by the client"))
        if self._reauth_task is not None and not self._reauth_task.done():
            self._reauth_task.cancel()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def aclose(self) -> None:
        self.close()
        if self._transport is not None:
            await self._closed.wait()
