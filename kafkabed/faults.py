"""Network faults between clients and brokers: a TCP relay per broker, driven at run time.

Clients learn broker addresses from Metadata, so a relay only sees every connection if
the broker *advertises* it. A cluster started with ``advertised_port=relays.advertise``
advertises, on one client listener, the relay's port instead of its own; a client that
bootstraps on that listener (at the relay or at the broker) then connects to every broker
through its relay. The brokers' INTERNAL listener stays direct, for admin tools and checkers.

    relays = FaultRelays("PLAINTEXT")
    with relays, KafkaCluster("dst", nodes=3, advertised_port=relays.advertise) as c:
        relays.set_latency(0.05)            # every relay; relays[2].pause() for one broker
        relays[1].blackhole()               # bytes dropped both ways, connections stay open
        relays[1].clear()                   # faults off; connections that lost bytes are reset
        trig = relays[1].reset_on(api_key=0, direction="response")   # reset as a Produce (key 0) answer starts
        trig.fired.wait(10)

Faults per relay: added one-way latency (each direction), a bandwidth cap (bytes/s per
direction, shared by the relay's connections), a blackhole, pause/resume (nothing read or
written: the peers' TCP windows fill, nothing is lost), an immediate reset of every
connection, and a one-shot reset after N bytes of one direction, or after N bytes of the
k-th request of one API key or of its response. A trigger's cut is exact: the peer on the
receiving side gets the bytes before the cut point, then end-of-stream (then a RST a second
later); the other peer gets a TCP RST at once. Other resets are RSTs (SO_LINGER 0) both ways.
API-key triggers read Kafka frame headers, so they need a listener without TLS.
"""
from __future__ import annotations

import asyncio
import fcntl
import itertools
import socket
import struct
import termios
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterator, Literal

__all__ = ["FaultRelays", "Relay", "ResetTrigger", "REQUEST", "RESPONSE"]

Direction = Literal["request", "response"]
REQUEST: Direction = "request"     # client -> broker
RESPONSE: Direction = "response"   # broker -> client
_CHUNK = 64 * 1024
_SHAPED_CHUNK = 8 * 1024           # slice size under a bandwidth cap, for a smooth rate
_QUEUE = 256                       # chunks in flight per direction (latency pipeline)
_REQUEST_HEAD = struct.Struct(">ihhi")     # size, api key, api version, correlation id
_RESPONSE_HEAD = struct.Struct(">ii")      # size, correlation id
_RESET = object()
_EOF = object()


@dataclass
class ResetTrigger:
    """A one-shot reset: armed on a relay, fires once, then disarms itself."""

    direction: Direction
    after_bytes: int
    api_key: int | None = None
    nth: int = 1
    fired: threading.Event = field(default_factory=threading.Event)
    seen: int = 0                              # matching requests seen since arming
    base: dict[int, int] = field(default_factory=dict)   # raw triggers: link id -> position at arming


class _FrameWatch:
    """Follows Kafka frame boundaries in one direction of one connection."""

    def __init__(self, direction: Direction) -> None:
        self.direction = direction
        self.head = _REQUEST_HEAD if direction == REQUEST else _RESPONSE_HEAD
        self.position = 0      # bytes of this direction forwarded so far
        self.seen = 0          # bytes of this direction parsed so far (forwarded or held)
        self.frame_end = 0     # absolute position where the next frame header starts
        self.head_bytes = bytearray()          # the next frame header, as far as it has arrived
        self.pending_cut: int | None = None    # absolute position where an armed reset cuts

    def feed(self, data: bytes, on_frame: Callable[[int, int, tuple], int | None]) -> tuple[int | None, int | None]:
        """Parse `data`; returns (the first cut point `on_frame` asked for, the absolute start of
        a frame header that is still incomplete)."""
        cut: int | None = None
        i = 0
        while i < len(data):
            if self.seen < self.frame_end:                   # inside a frame: skip its body
                take = min(self.frame_end - self.seen, len(data) - i)
                i += take
                self.seen += take
                continue
            piece = data[i:i + self.head.size - len(self.head_bytes)]
            self.head_bytes += piece
            i += len(piece)
            self.seen += len(piece)
            if len(self.head_bytes) == self.head.size:
                fields = self.head.unpack(self.head_bytes)
                self.head_bytes.clear()
                start = self.seen - self.head.size
                size = 4 + max(fields[0], 0)                 # a bogus negative size still moves on
                self.frame_end = start + size
                point = on_frame(start, size, fields)
                if point is not None and cut is None:
                    cut = point
        return cut, (self.seen - len(self.head_bytes) if self.head_bytes else None)


class _Link:
    """One relayed connection: a pump per direction, a latency queue per direction."""

    _ids = itertools.count(1)

    def __init__(self, relay: "Relay", client: asyncio.StreamWriter, upstream: asyncio.StreamWriter) -> None:
        self.id = next(self._ids)
        self.relay = relay
        self.writers = {REQUEST: upstream, RESPONSE: client}
        self.watch = {REQUEST: _FrameWatch(REQUEST), RESPONSE: _FrameWatch(RESPONSE)}
        self.target_correlation: int | None = None
        self.damaged = False   # bytes were dropped: the stream cannot continue after a blackhole
        self.cut = False       # a trigger cut it: closing is in progress
        self.closed = False

    async def run(self, client_reader: asyncio.StreamReader, upstream_reader: asyncio.StreamReader) -> None:
        pumps = [asyncio.create_task(self._pump(client_reader, REQUEST)),
                 asyncio.create_task(self._pump(upstream_reader, RESPONSE))]
        try:   # either side ending (EOF, reset, error) ends the connection
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in pumps:
                t.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            if not self.cut:
                self.abort()

    def cut_after(self, direction: Direction, grace: float = 1.0) -> None:
        """The trigger's cut: the peer receiving `direction` gets the bytes before the cut point
        and then end-of-stream (a RST could overtake bytes its application has not read yet);
        the other peer gets a RST now; the receiving side is reset after `grace` seconds."""
        self.cut = True
        receiving = self.writers[direction]
        other = self.writers[RESPONSE if direction == REQUEST else REQUEST]
        try:
            receiving.write_eof()
        except (OSError, RuntimeError):
            pass
        _rst(other)
        asyncio.get_running_loop().call_later(grace, self.abort)

    async def _pump(self, reader: asyncio.StreamReader, direction: Direction) -> None:
        relay = self.relay
        queue: asyncio.Queue = asyncio.Queue(_QUEUE)
        sender = asyncio.create_task(self._send(queue, direction))
        try:
            held = b""
            while not sender.done():
                await relay._flowing.wait()
                data = await reader.read(_CHUNK)
                if not data:
                    break
                if relay.blackholed:
                    self.damaged = True
                    continue
                relay.bytes[direction] += len(data)
                forward, held, cut = self._split(held, data, direction)
                if forward:
                    await queue.put((time.monotonic(), forward))
                if cut:
                    await queue.put((time.monotonic(), _RESET))
                    break
            if not sender.done():
                await queue.put((time.monotonic(), _EOF))
            await sender
        finally:
            sender.cancel()

    def _split(self, held: bytes, data: bytes, direction: Direction) -> tuple[bytes, bytes, bool]:
        """Track frames and apply the armed trigger to held bytes plus new `data`: (bytes to
        forward, bytes to hold, reset after forwarding). While an API-key trigger is armed an
        incomplete frame header is held back, so a cut inside its frame can still be exact."""
        relay = self.relay
        watch = self.watch[direction]
        start = watch.position
        buf = held + data
        cut, incomplete = watch.feed(data, lambda at, size, fields: relay._cut_point(self, direction, at, size, fields))
        if cut is not None:
            watch.pending_cut = cut if watch.pending_cut is None else min(cut, watch.pending_cut)
        trig = relay.trigger
        armed = trig is not None and not trig.fired.is_set()
        if armed and trig.api_key is None and trig.direction == direction:
            point = trig.base.get(self.id, 0) + trig.after_bytes
            watch.pending_cut = point if watch.pending_cut is None else min(point, watch.pending_cut)
        forward, held = buf, b""
        if armed and trig.api_key is not None and incomplete is not None and incomplete >= start:
            forward, held = buf[:incomplete - start], buf[incomplete - start:]
        reset = watch.pending_cut is not None and watch.pending_cut <= start + len(forward)
        if reset:
            forward, held = forward[:max(0, watch.pending_cut - start)], b""
        watch.position += len(forward)
        return forward, held, reset

    async def _send(self, queue: asyncio.Queue, direction: Direction) -> None:
        relay = self.relay
        writer = self.writers[direction]
        while True:
            read_at, item = await queue.get()
            if item is _EOF:
                return
            delay = read_at + relay.latency - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await relay._flowing.wait()
            if item is _RESET:
                await _wait_acknowledged(writer)
                relay._fire(self, direction)
                return
            if relay.blackholed:
                self.damaged = True
                continue
            try:
                for piece in relay._slices(item):
                    await relay._throttle(direction, len(piece))
                    writer.write(piece)
                    await writer.drain()
            except (OSError, ConnectionError):   # the peer went away: end both sides
                self.abort()
                return

    def abort(self) -> None:
        """Close both sockets with a TCP RST."""
        if self.closed:
            return
        self.closed = True
        self.relay._links.pop(self.id, None)
        for w in self.writers.values():
            _rst(w)


def _rst(writer: asyncio.StreamWriter) -> None:
    """Close a socket with a TCP RST (SO_LINGER 0), dropping whatever it still had to send."""
    sock = writer.get_extra_info("socket")
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except (OSError, AttributeError):
        pass
    writer.transport.abort()


async def _wait_acknowledged(writer: asyncio.StreamWriter, timeout: float = 2.0) -> None:
    """Drain, then wait until the kernel's send queue is empty (the peer acknowledged every
    byte), so a following RST does not discard bytes meant to arrive before the cut."""
    try:
        await writer.drain()
        fd = writer.get_extra_info("socket").fileno()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            unsent = struct.unpack("i", fcntl.ioctl(fd, termios.TIOCOUTQ, b"\0\0\0\0"))[0]
            if unsent == 0:
                return
            await asyncio.sleep(0.005)
    except (OSError, ConnectionError):
        pass


class Relay:
    """Listens on a loopback port and forwards every connection to one broker port."""

    def __init__(self, loop: "_LoopThread", node_id: int, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.node_id = node_id
        self.upstream = (host, upstream_port)
        self._loop = loop
        self._sock = socket.create_server((host, 0))
        self.port: int = self._sock.getsockname()[1]
        self.latency = 0.0                      # seconds added to each direction
        self.bandwidth: float | None = None     # bytes/s per direction, shared by the connections
        self.blackholed = False
        self.trigger: ResetTrigger | None = None
        self.bytes: dict[str, int] = {REQUEST: 0, RESPONSE: 0}
        self.connections_accepted = 0
        self.resets = 0
        self._links: dict[int, _Link] = {}
        self._next_slot = {REQUEST: 0.0, RESPONSE: 0.0}
        self._flowing: asyncio.Event = loop.call(self._make_event)
        self._server: asyncio.base_events.Server = loop.call(self._start)

    def __repr__(self) -> str:
        return (f"Relay(node {self.node_id}: 127.0.0.1:{self.port} -> {self.upstream[0]}:{self.upstream[1]}, "
                f"{len(self._links)} connections)")

    # ---------------------------------------------------------------- control (test thread)
    def set_latency(self, seconds: float) -> None:
        """Delay every chunk by `seconds` in each direction (the round trip grows by twice that)."""
        self.latency = max(0.0, seconds)

    def set_bandwidth(self, bytes_per_second: float | None) -> None:
        """Cap each direction at `bytes_per_second` (None: no cap)."""
        self.bandwidth = bytes_per_second

    def blackhole(self, on: bool = True) -> None:
        """Drop every byte both ways; connections stay open and new ones are accepted. Turning
        it off resets the connections that lost bytes (their streams have holes)."""
        self._loop.call(self._set_blackhole, on)

    def pause(self) -> None:
        """Stop reading and writing: nothing is lost, peers block once their TCP windows fill."""
        self._loop.call(self._set_flowing, False)

    def resume(self) -> None:
        self._loop.call(self._set_flowing, True)

    def reset_connections(self) -> int:
        """RST every open connection now; returns how many."""
        return self._loop.call(self._reset_all)

    def reset_after(self, nbytes: int, direction: Direction = RESPONSE) -> ResetTrigger:
        """One-shot: the first connection to pass `nbytes` more bytes in `direction` (counted
        from now; from its start for new connections) is cut there and reset."""
        return self._arm(ResetTrigger(direction, nbytes))

    def reset_on(self, api_key: int, direction: Direction = RESPONSE, nth: int = 1,
                 after_bytes: int = 0) -> ResetTrigger:
        """One-shot: on the `nth` request of `api_key` (counted from now), reset its connection
        after `after_bytes` bytes of that request (direction="request"; 0: it never reaches the
        broker) or of its response (direction="response"; 0: the broker handled it, the client
        never hears). `after_bytes` beyond the frame cuts right after the whole frame."""
        return self._arm(ResetTrigger(direction, after_bytes, api_key, nth))

    def clear(self) -> None:
        """Every fault off: latency, bandwidth, blackhole, pause, armed trigger."""
        self.latency = 0.0
        self.bandwidth = None
        self.trigger = None
        self._loop.call(self._set_blackhole, False)
        self._loop.call(self._set_flowing, True)

    @property
    def connections(self) -> int:
        return len(self._links)

    def close(self) -> None:
        self._loop.call(self._close)

    # ---------------------------------------------------------------- loop side
    async def _make_event(self) -> asyncio.Event:
        event = asyncio.Event()
        event.set()
        return event

    async def _start(self) -> asyncio.base_events.Server:
        return await asyncio.start_server(self._serve, sock=self._sock)

    async def _close(self) -> None:
        self._server.close()
        await self._reset_all()

    async def _set_flowing(self, on: bool) -> None:
        if on:
            self._flowing.set()
        else:
            self._flowing.clear()

    async def _set_blackhole(self, on: bool) -> None:
        self.blackholed = on
        if not on:
            for link in [l for l in self._links.values() if l.damaged]:
                link.abort()
                self.resets += 1

    async def _reset_all(self) -> int:
        links = list(self._links.values())
        for link in links:
            link.abort()
        self.resets += len(links)
        return len(links)

    def _arm(self, trigger: ResetTrigger) -> ResetTrigger:
        async def arm() -> None:
            trigger.base = {i: l.watch[trigger.direction].position for i, l in self._links.items()}
            self.trigger = trigger
        self._loop.call(arm)
        return trigger

    def _fire(self, link: _Link, direction: Direction) -> None:
        if self.trigger is not None and not self.trigger.fired.is_set():
            self.trigger.fired.set()
            self.trigger = None
        self.resets += 1
        link.cut_after(direction)

    def _slices(self, data: bytes) -> Iterator[bytes]:
        if self.bandwidth is None:
            yield data
            return
        for i in range(0, len(data), _SHAPED_CHUNK):
            yield data[i:i + _SHAPED_CHUNK]

    async def _throttle(self, direction: Direction, n: int) -> None:
        if self.bandwidth is None:
            return
        now = time.monotonic()
        start = max(now, self._next_slot[direction])
        self._next_slot[direction] = start + n / self.bandwidth
        if start > now:
            await asyncio.sleep(start - now)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections_accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:   # broker down: the client sees its connection reset
            writer.transport.abort()
            return
        link = _Link(self, writer, up_writer)
        self._links[link.id] = link
        await link.run(reader, up_reader)

    def _cut_point(self, link: _Link, direction: Direction, start: int, size: int, fields: tuple) -> int | None:
        """Called for each frame header: the absolute cut position if the trigger hits here."""
        trig = self.trigger
        if trig is None or trig.fired.is_set():
            return None
        if trig.api_key is None:
            return None
        if direction == REQUEST and fields[1] == trig.api_key:
            trig.seen += 1
            if trig.seen == trig.nth:
                if trig.direction == REQUEST:
                    return start + min(trig.after_bytes, size)
                link.target_correlation = fields[3]
        if direction == RESPONSE and trig.direction == RESPONSE and link.target_correlation == fields[1]:
            link.target_correlation = None
            return start + min(trig.after_bytes, size)
        return None


class _LoopThread:
    """An asyncio loop in a daemon thread; `call` runs a coroutine function there and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="kafkabed-relays", daemon=True)
        self.thread.start()

    def call(self, fn: Callable[..., Awaitable[Any]], *args: Any, timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(fn(*args), self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.thread.is_alive():
            self.loop.close()


class FaultRelays:
    """The relays of one cluster's client listener, one per node, created by the cluster's
    `advertised_port` hook while it lays out its nodes."""

    def __init__(self, listener: str = "PLAINTEXT") -> None:
        self.listener = listener.upper()
        self._loop = _LoopThread()
        self._relays: dict[int, Relay] = {}

    def advertise(self, node_id: int, listener: str, port: int) -> int:
        """KafkaCluster hook: the port node `node_id` advertises for `listener` (bound at `port`)."""
        if listener != self.listener:
            return port
        old = self._relays.pop(node_id, None)
        if old is not None:        # a new layout after a port collision
            old.close()
        relay = self._relays[node_id] = Relay(self._loop, node_id, port)
        return relay.port

    @property
    def bootstrap(self) -> str:
        """host:port of every relay: a client bootstrapping here never talks to a broker directly."""
        return ",".join(f"127.0.0.1:{r.port}" for r in self)

    def __getitem__(self, node_id: int) -> Relay:
        return self._relays[node_id]

    def __iter__(self) -> Iterator[Relay]:
        return iter(list(self._relays.values()))

    def __enter__(self) -> "FaultRelays":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # every relay at once
    def set_latency(self, seconds: float) -> None:
        for r in self:
            r.set_latency(seconds)

    def set_bandwidth(self, bytes_per_second: float | None) -> None:
        for r in self:
            r.set_bandwidth(bytes_per_second)

    def blackhole(self, on: bool = True) -> None:
        for r in self:
            r.blackhole(on)

    def pause(self) -> None:
        for r in self:
            r.pause()

    def resume(self) -> None:
        for r in self:
            r.resume()

    def reset_connections(self) -> int:
        return sum(r.reset_connections() for r in self)

    def clear(self) -> None:
        for r in self:
            r.clear()

    def close(self) -> None:
        for r in self:
            r.close()
        self._relays.clear()
        self._loop.stop()
