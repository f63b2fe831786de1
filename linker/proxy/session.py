"""One client connection and its upstream broker connection: framing, flow control, forwarding.

What is decided about a request is the filter chain's (filters_chain.py); a request
whose api key no active filter sees is forwarded undecoded.

Both directions are split by kproto's FrameDecoder; the broker side reads
straight into the decoder's buffer (BufferedProtocol: no bytes object per read)
and relays views of it. Hot path: a request is
forwarded as received after reading only its api key, version and correlation
id with one precompiled struct (a large one that has not all arrived is judged
on its first RELAY_HEAD bytes and relayed cut-through); a response is matched to
the FIFO of requests in flight and relayed as the broker sends it unless its
API may carry a broker address (see rewrite.needs_decode). Only frames to
decode are held whole: a request only as far as its bytes have arrived (a size
prefix alone allocates nothing), a response in a buffer of its announced size
(the broker is trusted up to max_response_size). Reading from one side pauses while the other
side's write buffer is full or too many requests are in flight, so the memory a
connection holds is bounded by one frame being decoded per direction plus
the transports' high-water marks. What the requests of one read send to the
broker goes in one writelines (one writev on uvloop).

Before the client has authenticated (no broker answer to anything but
ApiVersions and SASL yet) a frame the proxy must hold is capped at
`max_preauth_request_size` (512 KiB, Kafka's sasl.server.max.receive.size).
Answers the proxy makes itself are backpressured: while the client's write
buffer is full, or more than `max_unsent_answers` bytes of them wait behind
forwarded requests, the client's requests are not read.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import kproto
from kproto import ApiKey
from kproto.errors import ErrorCode
from kproto.exceptions import FrameTooLarge, KprotoError
from kproto.frames import FRAME_END, NEED_DATA, BodyChunk, Buffer, Frame, FrameDecoder, FrameStart

from .filters import advertised
from .filters_chain import Close, Filter, GuardFilter, RequestContext
from .epochs import raise_response
from .rewrite import clamp_api_versions, needs_decode, rewrite_response
from .routing import shift_node_ids

if TYPE_CHECKING:
    from .server import ProxyServer

log = logging.getLogger("linker.proxy")

_HEAD = struct.Struct(">hhi")
_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_SIZE_CORR = struct.Struct(">ii")
#: A request longer than this that has not all arrived is judged on its first bytes and,
#: if it needs no decoding, relayed while it arrives.
RELAY_HEAD = 1024
#: A response that has not all arrived is judged on its correlation id.
_RESPONSE_HEAD = 4

#: Why reading from the client is paused; reading resumes when the set is empty.
_UPSTREAM_CONNECTING = "connecting"
_UPSTREAM_FULL = "upstream-write-buffer"
_IN_FLIGHT = "in-flight"
_CLIENT_FULL = "client-write-buffer"
_ANSWERS_QUEUED = "answers-queued"
#: Reasons that also stop handling requests already received (not only reading more).
_STOP = frozenset({_CLIENT_FULL, _ANSWERS_QUEUED})
#: A broker answers these before a client authenticates; an answer to anything else means
#: the client is authenticated (or the listener has no SASL).
_AUTH_APIS = frozenset({ApiKey.API_VERSIONS, ApiKey.SASL_HANDSHAKE, ApiKey.SASL_AUTHENTICATE})
#: The api key of the proxy's own ApiVersions probe (its answer goes to no client): a broker
#: handles a connection's requests in order, so its answer means every acks=0 produce sent
#: before it was appended or refused.
_PROBE = -1
_PROBE_ID = b"linker-proxy"
_PROBE_FRAME = struct.pack(">ihhih", 10 + len(_PROBE_ID), ApiKey.API_VERSIONS, 0, -1, len(_PROBE_ID)) + _PROBE_ID
#: After its client left, a connection with produce requests in flight stays open until the
#: broker answered them (so a cutover knows they can no longer be appended), at most this long.
LINGER_S = 30.0


def _uvarint(buf: Buffer, pos: int) -> tuple[int, int]:
    """An unsigned varint at pos, and the position after it."""
    n, shift = 0, 0
    while True:
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            return n, pos
        shift += 7
        if shift > 28:
            raise ValueError("varint longer than 5 bytes")


class _Pending:
    """A request awaiting its response; `ready` is set when the proxy answers it itself."""

    __slots__ = ("corr", "api_key", "version", "decode", "completions", "ready", "produce_epoch", "patch")

    def __init__(self, corr: int, api_key: int, version: int, decode: bool,
                 completions: list[Callable[[Any], Any]] | None = None, produce_epoch: int = -1,
                 patch: Callable[[int], Any] | None = None) -> None:
        self.corr = corr
        self.api_key = api_key
        self.version = version
        self.decode = decode
        self.completions = completions   # filters' additions to the response (the guard's refusals)
        self.ready: list[Any] | None = None
        self.produce_epoch = produce_epoch
        self.patch = patch               # patcher factory of the response bytes (filters_chain)


class ClientSession(asyncio.Protocol):
    """Server side of one client connection; owns the matching upstream connection."""

    def __init__(self, server: "ProxyServer", node_id: int | None) -> None:
        self.server = server
        self.node_id = node_id                # None: the bootstrap listener
        self.config = server.config
        self.cluster = server.upstream        # the cluster this connection leads to (open_upstream)
        self.transport: asyncio.Transport | None = None
        self.upstream: _UpstreamSide | None = None
        self.peer = "?"
        self.address = "?"                    # the client's address (host), for the per-address limit
        self.pending: collections.deque[_Pending] = collections.deque()
        self._requests = FrameDecoder(self.config.max_request_size, head_size=RELAY_HEAD)
        self._paused: set[str] = set()
        self._reading = True
        self._closed = False
        #: the upstream side is done with (closed, or no longer lingering); read per response
        self.ended = False
        self._stream: tuple[int, _Pending | None] | None = None   # a request being relayed: (epoch, its entry)
        self.acks0_epoch = -1                 # epoch of the last acks=0 produce forwarded, until probed
        self.last_activity = time.monotonic()
        self.partial_since: float | None = None
        self._connect_task: asyncio.Task[None] | None = None
        self._early: list[bytes] = []
        #: bytes for the broker from the requests being handled, written at once (one writev)
        self._out: list[Buffer] = []
        self._relaying = False
        self._patcher: Any = None             # patches the response being relayed (see _Pending.patch)
        self._early_bytes = 0
        self._go = True                       # handle requests received (see _STOP)
        self._client_full = False             # the client's write buffer is above its high-water mark
        self._unsent = 0                      # bytes of local answers queued in `pending`
        self._admitted = False
        self.preauth = True                   # see _authenticated
        self._sasl = False                    # the client began a SASL exchange
        # while pre-auth, responses pass through these (the class's own methods afterwards)
        self.on_response = self._preauth_on_response              # type: ignore[method-assign]
        self.response_start = self._preauth_response_start        # type: ignore[method-assign]

    # -- client side ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        admitted = self.server.admit(self, peer[0] if isinstance(peer, tuple) else str(peer))
        if not admitted:
            self._closed, self._go = True, False
            transport.abort()
            return
        self._admitted = True
        self._pause(_UPSTREAM_CONNECTING)
        self._connect_task = asyncio.get_running_loop().create_task(self._connect_upstream())

    async def _connect_upstream(self) -> None:
        try:
            self.upstream = await self.server.open_upstream(self, self.node_id)
        except Exception as exc:  # any failure ends this client only
            self.close(f"cannot reach upstream broker {self._target()}: {exc}")
            return
        if self._closed:
            self.upstream.close()
            return
        early, self._early = self._early, []
        for data in early:
            self.data_received(data)
        self._resume(_UPSTREAM_CONNECTING)

    def _target(self) -> str:
        return "bootstrap" if self.node_id is None else f"node {self.node_id}"

    def data_received(self, data: bytes) -> None:
        self.last_activity = time.monotonic()
        if self.upstream is None:  # some loops deliver data before pause_reading takes hold
            self._early.append(data)
            self._early_bytes += len(data)
            if self._early_bytes > 2 * (self.config.max_preauth_request_size + 4):  # two whole frames
                self.close(f"{self._early_bytes} bytes sent before the upstream connection was ready")
            return
        try:
            self._read_requests(data)
        except Exception:  # a defect met by one client's request ends that client, not the proxy
            log.exception("client %s (%s): request handling failed", self.peer, self._target())
            self.close("request handling failed (see the error above)")
            return
        busy = self._requests.partial
        self.partial_since = (self.partial_since or self.last_activity) if busy else None

    def _read_requests(self, data: bytes) -> None:
        try:
            self._requests.receive_data(data)
        except FrameTooLarge as exc:
            self.close(f"request frame refused: {exc}")
            return
        self._handle_requests()

    def _handle_requests(self) -> None:
        """Requests in stream order; a large one whose head says it needs no decoding is relayed
        to the broker cut-through (its head first, then its bytes as they arrive). Stops while
        `_go` is False (closed, or local answers backpressured); the rest stays in the decoder."""
        requests = self._requests
        try:
            self._handle_events(requests)
        finally:
            if self._out:
                self._flush_upstream()

    def _handle_events(self, requests: FrameDecoder) -> None:
        try:
            while self._go:
                event = requests.next_event()
                kind = event.__class__
                if kind is Frame:
                    self._on_request(event.data)  # type: ignore[union-attr]
                elif kind is BodyChunk:
                    self._write_upstream_raw(event.data)  # type: ignore[union-attr]
                elif kind is FrameStart:
                    if self._relay_request(event.head, event.size):  # type: ignore[union-attr]
                        requests.stream()  # else it is collected and comes whole
                    elif event.size > self.config.max_preauth_request_size and self._held_preauth():  # type: ignore[union-attr]
                        self.close(f"request frame of {event.size} bytes before the client authenticated "  # type: ignore[union-attr]
                                   f"(at most {self.config.max_preauth_request_size} until then, as the "
                                   "broker's sasl.server.max.receive.size)")
                elif event is NEED_DATA:
                    return
                else:   # FRAME_END: a relayed request is complete
                    self._stream = None
        except FrameTooLarge as exc:
            self.close(f"request frame refused: {exc}")

    def _held_preauth(self) -> bool:
        """Whether the pre-authentication cap applies: the client has not authenticated, and
        either began SASL or the fronted cluster has not been seen to answer clients without it."""
        return self.preauth and (self._sasl or not self.server.answers_without_sasl)

    def _authenticated(self) -> None:
        """The broker answered a request other than ApiVersions/SASL: the client is
        authenticated (on a listener without SASL it never needed to be)."""
        self.preauth = False
        if not self._sasl:
            self.server.answers_without_sasl = True
        del self.on_response, self.response_start   # back to the class's methods

    def _preauth_note(self) -> None:
        """A broker response arrives: it answers the first request the proxy did not answer."""
        for p in self.pending:
            if p.ready is None:
                if p.api_key == ApiKey.SASL_HANDSHAKE:
                    self._sasl = True
                elif p.api_key not in _AUTH_APIS and p.api_key != _PROBE:
                    self._authenticated()
                return

    def _preauth_on_response(self, frame: Buffer) -> None:
        self._preauth_note()
        ClientSession.on_response(self, frame)

    def _preauth_response_start(self, corr: int) -> bool | None:
        self._preauth_note()
        return ClientSession.response_start(self, corr)

    def _relay_request(self, head: Buffer, size: int) -> bool:
        """Start relaying a large request from its first bytes; False if it must be decoded."""
        if len(head) < 8:
            return False
        api_key, version, corr = _HEAD.unpack_from(head, 0)
        server = self.server
        if any(f.active(server) for f in server.chain.of(api_key)):
            return False
        epoch = -1
        if api_key == ApiKey.PRODUCE:
            try:
                acks = self._produce_acks(head, version)
            except (struct.error, KprotoError, IndexError, ValueError):
                return False  # a header longer than the head: decide on the whole frame
            epoch = server.produce_epoch
            if acks != 0:
                p = _Pending(corr, api_key, version, needs_decode(api_key, version), produce_epoch=epoch)
                self.pending.append(p)
            else:
                p, self.acks0_epoch = None, epoch
        else:
            p = _Pending(corr, api_key, version, needs_decode(api_key, version))
            self.pending.append(p)
        self._stream = (epoch, p)
        self._write_upstream_chunks([_I32.pack(size), head])
        if len(self.pending) >= self.config.max_in_flight:
            self._pause(_IN_FLIGHT)
        return True

    def _write_upstream_raw(self, chunk: memoryview) -> None:
        up = self.upstream
        if up is None or up.transport is None:
            self.close("upstream connection is gone")
            return
        self._out.append(chunk)   # a view of received bytes (immutable): safe to hold

    def _flush_upstream(self) -> None:
        """Write what the requests handled so far hold for the broker, in one call."""
        out, self._out = self._out, []
        up = self.upstream
        if out and up is not None and up.transport is not None and not up.transport.is_closing():
            up.transport.writelines(out)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed, self._go = True, False
        if self._admitted:
            self._admitted = False
            self.server.release(self)
        if self._connect_task is not None and not self._connect_task.done():
            self._connect_task.cancel()
        self._end_upstream()

    def _end_upstream(self) -> None:
        """The client is gone: close the upstream connection, unless produce requests are in
        flight there — then linger until the broker answered them (see LINGER_S). A request
        still being relayed is dropped from them: the broker never got all of it, and
        discards it when the connection closes."""
        self.transport = None
        up = self.upstream
        if up is None or self.ended or self in self.server.lingering:
            return
        if self._out:   # requests handled before the client left still go to the broker
            self._flush_upstream()
        self.probe(self.server.produce_epoch + 1)   # acks=0 produces of any epoch (not mid-stream)
        stream, self._stream = self._stream, None
        if stream is not None and stream[1] is not None and self.pending and self.pending[-1] is stream[1]:
            self.pending.pop()
        if not any(p.produce_epoch >= 0 for p in self.pending):
            self.ended = True
            up.close()
            return
        self.server.lingering.add(self)
        self.__dict__.pop("response_start", None)             # no pre-auth bookkeeping any more
        self.on_response = self._lingering_on_response        # type: ignore[method-assign]
        self.response_done = self._lingering_response_done    # type: ignore[method-assign]
        asyncio.get_running_loop().call_later(LINGER_S, self._stop_lingering, True)

    def _lingering_on_response(self, frame: Buffer) -> None:
        ClientSession.on_response(self, frame)
        self._stop_lingering(False)

    def _lingering_response_done(self) -> None:
        ClientSession.response_done(self)
        self._stop_lingering(False)

    def _stop_lingering(self, timed_out: bool) -> None:
        if self.ended or (not timed_out and any(p.produce_epoch >= 0 for p in self.pending)):
            return
        if timed_out:
            log.warning("client %s (%s) left; its produce requests were not answered within %gs: "
                        "closing their connection", self.peer, self._target(), LINGER_S)
        self.ended = True
        self.server.lingering.discard(self)
        if self.upstream is not None:
            self.upstream.close()

    def pause_writing(self) -> None:
        """The client does not take what is written to it: stop reading the broker's responses
        (and, once the proxy answered something itself meanwhile, the client's requests)."""
        self._client_full = True
        if self.upstream is not None:
            self.upstream.pause_reading()

    def resume_writing(self) -> None:
        self._client_full = False
        if self.upstream is not None:
            self.upstream.resume_reading()
        if _CLIENT_FULL in self._paused:
            self._resume(_CLIENT_FULL)

    def close(self, reason: str | None = None) -> None:
        """Close this client's connection (and its upstream); other clients are untouched."""
        if reason:
            log.warning("closing client %s (%s): %s", self.peer, self._target(), reason)
        self._closed, self._go = True, False
        if self.transport is not None:
            self.transport.abort()
        self._end_upstream()

    def _pause(self, why: str) -> None:
        self._paused.add(why)
        if why in _STOP:
            self._go = False
        if self._reading and self.transport is not None:
            self._reading = False
            self.transport.pause_reading()

    def _resume(self, why: str) -> None:
        paused = self._paused
        paused.discard(why)
        if self._closed:
            return
        if not self._go and not paused & _STOP:
            self._go = True   # requests already received are handled from the loop, not from here
            asyncio.get_running_loop().call_soon(self._handle_requests)
        if not paused and not self._reading and self.transport is not None:
            self._reading = True
            self.transport.resume_reading()

    # -- requests ------------------------------------------------------------------------
    def _on_request(self, frame: Buffer) -> None:
        if len(frame) < 8:
            self.close(f"request frame of {len(frame)} bytes is too short for a header")
            return
        api_key, version, corr = _HEAD.unpack_from(frame, 0)
        server = self.server
        filters = server.chain.of(api_key)
        epoch, no_response = -1, False
        if api_key == ApiKey.PRODUCE:
            try:
                acks = self._produce_acks(frame, version)
            except (struct.error, KprotoError, IndexError, ValueError) as exc:
                self.close(f"malformed Produce v{version} request: {exc}")
                return
            epoch, no_response = server.produce_epoch, acks == 0
        if filters:
            active = [f for f in filters if f.active(server)]
            if active:
                self._filter(frame, active, api_key, version, corr, epoch, no_response)
                return
        if no_response:  # the broker sends no response: a cutover probes for it (probe())
            self.acks0_epoch = epoch
            self._write_upstream(frame)
            return
        self._forward(frame, _Pending(corr, api_key, version, needs_decode(api_key, version), produce_epoch=epoch))

    @staticmethod
    def _produce_acks(frame: Buffer, version: int) -> int:
        """The acks of a Produce request, from its head: the header walked without decoding it
        (client id: int16-length string; Produce v9+ has header v2, ending in tagged fields)."""
        if version < 3:
            _, pos = kproto.peek_request_header(frame)   # transactional_id from v3: below, no shortcut
            return _I16.unpack_from(frame, pos)[0]  # type: ignore[no-any-return]
        (n,) = _I16.unpack_from(frame, 8)
        pos = 10 + max(n, 0)
        if version >= 9:
            count, pos = _uvarint(frame, pos)
            for _ in range(count):
                _, pos = _uvarint(frame, pos)          # tag
                size, pos = _uvarint(frame, pos)
                pos += size
            n, pos = _uvarint(frame, pos)        # transactional_id: compact nullable string (length + 1)
            pos += max(n - 1, 0)
        else:
            (n,) = _I16.unpack_from(frame, pos)
            pos += 2 + max(n, 0)
        return _I16.unpack_from(frame, pos)[0]  # type: ignore[no-any-return]

    def _filter(self, frame: Buffer, active: list[Filter], api_key: int, version: int, corr: int,
                epoch: int, no_response: bool) -> None:
        """Run the active filters of this api key over the request, decoded once."""
        header = body = None
        if any(f.decodes for f in active):
            try:
                header, body = kproto.decode_request(frame)
            except KprotoError as exc:
                if any(isinstance(f, GuardFilter) for f in active):
                    self.close(f"malformed {ApiKey(api_key).name} v{version} request: {exc}")
                    return
                active = [f for f in active if not f.decodes]   # the broker will judge it
        ctx = RequestContext(api_key, version, corr, header, body, self.peer, self.cluster)
        for f in active:
            result = f.on_request(self.server, ctx)
            if result is None:
                continue
            if isinstance(result, Close):
                self.close(result.reason)
            elif not no_response:
                self._answer_locally(_Pending(corr, api_key, ctx.version, False), result.body)
            return
        if no_response:
            self.acks0_epoch = epoch
        if not ctx.changed:
            if no_response:
                self._write_upstream(frame)
            else:
                self._forward(frame, _Pending(corr, api_key, version, needs_decode(api_key, version),
                                              ctx.completions or None, epoch, ctx.patch))
            return
        chunks = kproto.encode_request(ctx.body, version, corr, header.client_id)
        if no_response:
            self._write_upstream_chunks(chunks)
            return
        self._forward_chunks(chunks, _Pending(corr, api_key, version, needs_decode(api_key, version),
                                              ctx.completions or None, epoch, ctx.patch))

    def _answer_locally(self, p: _Pending, body: Any) -> None:
        p.ready = kproto.encode_response(body, p.version, p.corr)
        size = sum(len(c) for c in p.ready)
        limit = self.config.max_unsent_answers
        if size > limit:
            self.close(f"the proxy's answer to {ApiKey(p.api_key).name} v{p.version} would be {size} bytes "
                       f"(at most {limit})")
            return
        if not self.pending and not self._relaying:
            self._write_client(p.ready)
            if self._client_full:      # the client does not read: no more answers until it does
                self._pause(_CLIENT_FULL)
        else:
            self.pending.append(p)
            self._unsent += size
            if self._unsent > limit:
                self._pause(_ANSWERS_QUEUED)

    def _forward(self, frame: Buffer, p: _Pending) -> None:
        self.pending.append(p)
        self._write_upstream(frame)
        if len(self.pending) >= self.config.max_in_flight:
            self._pause(_IN_FLIGHT)

    def _forward_chunks(self, chunks: list[Any], p: _Pending) -> None:
        self.pending.append(p)
        self._write_upstream_chunks(chunks)
        if len(self.pending) >= self.config.max_in_flight:
            self._pause(_IN_FLIGHT)

    def _write_upstream(self, frame: Buffer) -> None:
        up = self.upstream
        if up is None or up.transport is None:
            self.close("upstream connection is gone")
            return
        out = self._out
        out.append(_I32.pack(len(frame)))
        out.append(frame)

    def _write_upstream_chunks(self, chunks: list[Any]) -> None:
        up = self.upstream
        if up is None or up.transport is None:
            self.close("upstream connection is gone")
            return
        self._out.extend(chunks)

    def _write_client(self, chunks: Any) -> None:
        if self.transport is not None and not self._closed:
            self.transport.writelines(chunks)

    # -- responses -----------------------------------------------------------------------
    def on_response(self, frame: Buffer) -> None:
        pending = self.pending
        self._flush_ready()
        if not pending:
            self._broken("upstream sent a response to no request")
            return
        if len(frame) < 4:
            self._broken(f"upstream response of {len(frame)} bytes has no correlation id")
            return
        p = pending.popleft()
        (corr,) = _I32.unpack_from(frame, 0)
        if corr != p.corr:
            self._broken(f"upstream response correlation id {corr} does not match request {p.corr}")
            return
        if p.patch is not None:
            frame = self._patched(frame, p)
            if frame is None:
                return
        if p.decode or p.completions is not None:
            out = self._rewrite(frame, p)
            if out is None:
                return
            self._write_client(out)
        else:
            self._write_client((_I32.pack(len(frame)), frame))
        self._flush_ready()
        if len(pending) < self.config.max_in_flight:
            self._resume(_IN_FLIGHT)

    def response_start(self, corr: int) -> bool | None:
        """A response begins: True to relay it as it arrives, False to collect it for
        rewriting, None if it matches no request (the client is then closed)."""
        self._flush_ready()
        pending = self.pending
        if not pending:
            self._broken("upstream sent a response to no request")
            return None
        p = pending[0]
        if corr != p.corr:
            self._broken(f"upstream response correlation id {corr} does not match request {p.corr}")
            return None
        if p.decode or p.completions is not None:
            return False
        pending.popleft()
        self._relaying = True
        if p.patch is not None:
            self._patcher = (p.patch(p.version), p)
        return True

    def relay(self, chunk: Buffer) -> None:
        """The next bytes of a relayed response (a writable view when a patcher needs it)."""
        if self._patcher is not None:
            self.relay_lines((chunk,))
        elif self.transport is not None and not self._closed:
            self.transport.write(chunk)

    def relay_lines(self, chunks: tuple[Buffer, ...]) -> None:
        """Like relay; only the last chunk is response body (the first may be its size prefix)."""
        if self._patcher is not None:
            patcher, p = self._patcher
            try:
                chunks = (*chunks[:-1], *patcher.feed(chunks[-1]))
            except (ValueError, struct.error) as exc:
                self._broken(f"cannot parse {ApiKey(p.api_key).name} v{p.version} response: {exc}")
                return
        if self.transport is not None and not self._closed:
            self.transport.writelines(chunks)

    def _patched(self, frame: Buffer, p: _Pending) -> Buffer | None:
        """A whole response patched (in a copy unless it is already the proxy's own buffer)."""
        buf = frame if isinstance(frame, bytearray) else bytearray(frame)
        patcher = p.patch(p.version)  # type: ignore[misc]
        try:
            patcher.feed(memoryview(buf)[4:])   # all in one piece: patched in place
            patcher.close()
        except (ValueError, struct.error) as exc:
            self._broken(f"cannot parse {ApiKey(p.api_key).name} v{p.version} response: {exc}")
            return None
        return buf

    def write_pending(self) -> bool:
        """The client's transport holds bytes not yet sent (possibly views of relayed chunks)."""
        transport = self.transport
        return transport is not None and transport.get_write_buffer_size() > 0

    def response_done(self) -> None:
        if self._patcher is not None:
            rest = self._patcher[0].close()
            self._patcher = None
            if rest and self.transport is not None and not self._closed:
                self.transport.writelines(rest)
        self._relaying = False
        self._flush_ready()
        if len(self.pending) < self.config.max_in_flight:
            self._resume(_IN_FLIGHT)

    def _flush_ready(self) -> None:
        if self._relaying:
            return  # never inside a response being relayed
        pending = self.pending
        if not pending or pending[0].ready is None:
            return
        while pending and pending[0].ready is not None:
            ready = pending.popleft().ready
            self._unsent -= sum(len(c) for c in ready)  # type: ignore[union-attr]
            self._write_client(ready)
        if self._unsent <= self.config.max_unsent_answers:
            self._resume(_ANSWERS_QUEUED)

    def _rewrite(self, frame: Buffer, p: _Pending) -> list[Any] | None:
        if p.api_key == _PROBE:
            return []   # the proxy's own probe: nothing for the client
        version = p.version
        try:
            if p.api_key == ApiKey.API_VERSIONS:
                version, body = self._decode_api_versions(frame, version)
                guarded = self.server.guard_active()
                clamp_api_versions(body, self.server.version_caps, lambda k: advertised(k, guarded))
                return kproto.encode_response(body, version, p.corr)
            _, body = kproto.decode_response(p.api_key, version, frame)
        except KprotoError as exc:
            self._broken(f"cannot parse {ApiKey(p.api_key).name} v{version} response: {exc}")
            return None
        changed = False
        server = self.server
        split = server.split
        if p.decode:
            if split is not None:   # node ids as clients see them (routing.py)
                changed = shift_node_ids(p.api_key, version, body, split.shift_of(self.cluster))
            changed = rewrite_response(p.api_key, version, body, server.address_of) or changed
            shift = self.cluster.epoch_shift
            if shift and p.api_key == ApiKey.PRODUCE:   # other keys: EpochShiftFilter
                changed = raise_response(p.api_key, body, shift) or changed
        if p.completions is not None:
            for complete in p.completions:
                out = complete(body)
                if out is not None:   # None: it only looked (an observer)
                    body, changed = out, True
        if p.decode and p.api_key == ApiKey.METADATA:
            server.note_metadata(body)   # after the completions: a split proxy's merged answer
        if not changed:
            return [_I32.pack(len(frame)), frame]
        return kproto.encode_response(body, version, p.corr)

    @staticmethod
    def _decode_api_versions(frame: Buffer, version: int) -> tuple[int, Any]:
        """A broker answers an ApiVersions version it does not support in v0 form."""
        try:
            _, body = kproto.decode_response(ApiKey.API_VERSIONS, version, frame)
            return version, body
        except KprotoError:
            if len(frame) >= 6 and _I16.unpack_from(frame, 4)[0] == ErrorCode.UNSUPPORTED_VERSION and version:
                _, body = kproto.decode_response(ApiKey.API_VERSIONS, 0, frame)
                return 0, body
            raise

    def _broken(self, reason: str) -> None:
        """The upstream connection cannot be read any more: close it now, lingering or not."""
        self.ended = True
        self.server.lingering.discard(self)
        if self.upstream is not None:
            self.upstream.close()
        if not self._closed:
            self.close(reason)

    def upstream_lost(self, reason: str | None) -> None:
        self.ended = True
        self.server.lingering.discard(self)
        if not self._closed:
            self.close(reason)

    # -- cutover ---------------------------------------------------------------------------
    def streaming_produce_before(self, epoch: int) -> bool:
        """A produce forwarded before `epoch` is still arriving from the client."""
        stream = self._stream
        return stream is not None and 0 <= stream[0] < epoch

    def probe(self, epoch: int) -> None:
        """acks=0 produces forwarded before `epoch` have no answer: send the broker an
        ApiVersions behind them and count it as one of them until it is answered. Not while
        a request is being relayed (the bytes would land inside it) or before the client
        authenticated (the broker then refuses every produce)."""
        if not 0 <= self.acks0_epoch < epoch or self._stream is not None or self.preauth or self.ended:
            return
        up = self.upstream
        if up is None or up.transport is None:
            return
        self.pending.append(_Pending(-1, _PROBE, 0, True, produce_epoch=self.acks0_epoch))
        self.acks0_epoch = -1
        self._out.append(_PROBE_FRAME)   # behind the requests handled so far
        self._flush_upstream()

    @property
    def produce_epochs_in_flight(self) -> list[int]:
        return [p.produce_epoch for p in self.pending if p.produce_epoch >= 0]


class _UpstreamSide(asyncio.BufferedProtocol):
    """The proxy's connection to one broker on behalf of one client.

    The transport reads straight into the frame decoder's staging buffer (no
    bytes object per read). Responses that need no rewriting are relayed
    cut-through: as soon as the size and correlation id are in, the bytes go
    to the client as they arrive, as views of that buffer, so a multi-MiB Fetch
    response is never held whole; the size prefix goes out with the first
    chunk (one write). The buffer is reused unless the client's transport
    kept views of it unsent (then the decoder takes a new one). Responses to
    rewrite are collected into a buffer of their announced size (bounded by
    max_response_size; the broker is trusted that far), which the transport
    fills directly, and decoded.
    """

    def __init__(self, session: ClientSession, max_response_size: int) -> None:
        self.session = session
        self.transport: asyncio.Transport | None = None
        self._responses = FrameDecoder(max_response_size, head_size=_RESPONSE_HEAD)
        self.get_buffer = self._responses.get_buffer  # type: ignore[method-assign]  # one call less per read
        self._prefix: bytes | None = None   # the size prefix of a relayed response, sent with its first bytes
        self._closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:  # bound to the decoder's in __init__
        return self._responses.get_buffer(sizehint)

    def buffer_updated(self, nbytes: int) -> None:
        session = self.session
        responses = self._responses
        relayed = False
        try:
            responses.buffer_updated(nbytes)
            while not session.ended:
                event = responses.next_event()
                kind = event.__class__
                if kind is BodyChunk:
                    prefix = self._prefix
                    if prefix is None:
                        session.relay(event.data)  # type: ignore[union-attr]
                    else:
                        self._prefix = None
                        session.relay_lines((prefix, event.data))  # type: ignore[union-attr]
                    relayed = True
                elif kind is Frame:
                    session.on_response(event.data)  # type: ignore[union-attr]
                elif kind is FrameStart:
                    size, head = event.size, event.head  # type: ignore[union-attr]
                    (corr,) = _I32.unpack_from(head, 0)
                    relay = session.response_start(corr)
                    if relay is None:
                        return
                    if relay:
                        self._prefix = _SIZE_CORR.pack(size, corr)
                        responses.stream()  # else it is collected and comes whole
                elif event is FRAME_END:
                    session.response_done()
                else:
                    break  # NEED_DATA
        except FrameTooLarge as exc:
            session._broken(f"upstream response refused: {exc}")
            return
        if relayed and session.write_pending():
            responses.detach_stage()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closing:
            self.session.upstream_lost(f"upstream closed the connection{': ' + str(exc) if exc else ''}")

    def pause_writing(self) -> None:
        self.session._pause(_UPSTREAM_FULL)

    def resume_writing(self) -> None:
        self.session._resume(_UPSTREAM_FULL)

    def pause_reading(self) -> None:
        if self.transport is not None and not self._closing:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self._closing:
            self.transport.resume_reading()

    def close(self) -> None:
        self._closing = True
        if self.transport is not None:
            self.transport.abort()
