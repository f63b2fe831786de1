"""Memory bound and fairness for the mirror engine.

One global byte budget covers every fetch response frame that still holds a
fetched-but-not-yet-acknowledged batch (a batch view pins its whole frame; the
partition table charges frames), so memory stays bounded whatever the
partition count. Fetch waits for budget;
the budget is only given back when the destination acknowledges, so a slow
destination slows fetching (backpressure). Fairness comes from two rules: a
partition may hold at most its share of the budget, and every produce request
takes at most one batch from each ready partition, in rotating order.
"""
from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ByteBudget:
    """Bytes fetched and not yet released. Fetched bytes are taken after the
    fact (a fetch response's size is known only when it arrives), so a fetcher
    checks ``full`` before asking: memory stays below the limit plus one fetch
    response per source broker. Bytes are given back when the last batch of a
    frame is acknowledged (or dropped), which is the backpressure."""

    def __init__(self, limit: int) -> None:
        if limit <= 0:
            raise ValueError("budget limit must be positive")
        self.limit = limit
        self.used = 0
        self._room = asyncio.Event()
        self._room.set()

    @property
    def full(self) -> bool:
        return self.used >= self.limit

    def take(self, n: int) -> None:
        self.used += n
        if self.full:
            self._room.clear()

    def give(self, n: int) -> None:
        if n > self.used:
            raise RuntimeError(f"byte budget: giving back {n} bytes but only {self.used} are taken")
        self.used -= n
        if not self.full:
            self._room.set()

    async def wait_for_room(self) -> None:
        await self._room.wait()


def partition_share(limit: int, active_partitions: int, floor: int) -> int:
    """Bytes one partition may hold: an equal share, never below one fetch."""
    if active_partitions <= 0:
        return limit
    return max(floor, limit // active_partitions)


class RoundRobin(Generic[K, V]):
    """Per-key FIFO queues drained one item per key per round, rotating the start."""

    def __init__(self) -> None:
        self._queues: dict[K, deque[V]] = {}
        self._order: deque[K] = deque()

    def push(self, key: K, item: V) -> None:
        q = self._queues.get(key)
        if q is None:
            q = self._queues[key] = deque()
            self._order.append(key)
        q.append(item)

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def take_round(self, max_bytes: int, size_of, blocked: Sequence[K] | set[K] = ()) -> list[tuple[K, V]]:
        """One item from each ready key (not in ``blocked``), within ``max_bytes``.

        The first item is always taken even if larger than max_bytes so an
        oversize batch still moves. Keys served go to the back of the order.
        """
        out: list[tuple[K, V]] = []
        total = 0
        served: list[K] = []
        for key in list(self._order):
            if key in blocked:
                continue
            q = self._queues[key]
            if not q:
                continue
            size = size_of(q[0])
            if out and total + size > max_bytes:
                continue
            out.append((key, q.popleft()))
            total += size
            served.append(key)
        for key in served:
            self._order.remove(key)
            if self._queues[key]:
                self._order.append(key)
            else:
                del self._queues[key]
        return out

    def drop(self, key: K) -> list[V]:
        """Remove and return everything queued for key."""
        q = self._queues.pop(key, None)
        if q is None:
            return []
        self._order.remove(key)
        return list(q)
