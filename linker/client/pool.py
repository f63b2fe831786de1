"""The connections to one broker, opened lazily, reopened with backoff."""
from __future__ import annotations

import asyncio
import logging

from .backoff import Backoff
from .config import ClientConfig
from .connection import BrokerConnection
from .errors import ClientClosed, ClientError

log = logging.getLogger(__name__)


class BrokerPool:
    """Up to `connections_per_broker` connections; the least busy one serves.

    Besides them, numbered *lanes*: one connection each, opened on first use,
    for callers that need requests to stay on one connection (the broker
    handles a connection's requests one at a time, in order).

    A failed connect delays the next attempt (exponential backoff with
    jitter) so a dead broker is not hammered; a success resets the delay.
    """

    def __init__(self, node_id: int | None, host: str, port: int, config: ClientConfig) -> None:
        self.node_id = node_id
        self.host = host
        self.port = port
        self.config = config
        self.name = f"{host}:{port}" if node_id is None else f"{node_id} ({host}:{port})"
        self._connections: list[BrokerConnection] = []
        self._lanes: dict[int, BrokerConnection] = {}
        self._backoff = Backoff(config.reconnect_backoff, config.reconnect_backoff_max)
        self._next_attempt = 0.0
        self._lock = asyncio.Lock()
        self._closed = False
        self.connects = 0

    def __repr__(self) -> str:
        return f"<BrokerPool {self.name} open={len(self._live())}>"

    def _live(self) -> list[BrokerConnection]:
        return [c for c in self._connections if not c.closed]

    @property
    def backing_off(self) -> bool:
        """True while a failed connect delays the next attempt."""
        return self._next_attempt > asyncio.get_running_loop().time()

    def idle_connection(self) -> BrokerConnection | None:
        live = self._live()
        return min(live, key=lambda c: c.in_flight) if live else None

    async def get(self) -> BrokerConnection:
        """An open connection, opening one (after any backoff delay) if needed."""
        if self._closed:
            raise ClientClosed(f"pool for broker {self.name} is closed")
        live = self._live()
        if len(live) >= self.config.connections_per_broker:
            return min(live, key=lambda c: c.in_flight)
        if live and min(c.in_flight for c in live) == 0:
            return min(live, key=lambda c: c.in_flight)
        async with self._lock:
            live = self._live()
            self._connections = live
            if len(live) >= self.config.connections_per_broker:
                return min(live, key=lambda c: c.in_flight)
            connection = await self._open()
            self._connections.append(connection)
            return connection

    def lane(self, lane: int) -> BrokerConnection | None:
        """The open connection of ``lane``, if there is one (no I/O)."""
        connection = self._lanes.get(lane)
        return connection if connection is not None and not connection.closed else None

    async def get_lane(self, lane: int) -> BrokerConnection:
        """The connection of ``lane``, opened (after any backoff delay) if it has none open."""
        if self._closed:
            raise ClientClosed(f"pool for broker {self.name} is closed")
        connection = self.lane(lane)
        if connection is not None:
            return connection
        async with self._lock:
            connection = self.lane(lane)
            if connection is None:
                connection = self._lanes[lane] = await self._open()
            return connection

    async def _open(self) -> BrokerConnection:
        """Open one connection, after the backoff delay a failed attempt left (call under the lock)."""
        loop = asyncio.get_running_loop()
        wait = self._next_attempt - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        if self._closed:
            raise ClientClosed(f"pool for broker {self.name} is closed")
        try:
            connection = await BrokerConnection.open(self.host, self.port, self.config,
                                                     self.node_id)
        except ClientError as exc:
            delay = self._backoff.next_delay()
            self._next_attempt = loop.time() + delay
            log.info("connect to broker %s failed (%s); next attempt in %.2fs",
                     self.name, exc, delay)
            raise
        self._backoff.reset()
        self._next_attempt = 0.0
        self.connects += 1
        return connection

    async def close(self) -> None:
        self._closed = True
        connections, self._connections = [*self._connections, *self._lanes.values()], []
        self._lanes = {}
        for connection in connections:
            await connection.aclose()
