"""How the engine's components wake each other instead of polling."""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


class Signal:
    """Wakes every task waiting at the moment of ``notify``.

    A waiter checks its condition and then calls ``wait()`` with no ``await`` in
    between (one event loop), so a notify is never lost. ``wait()`` binds to the
    current round when called, not when first awaited, so it is also safe to wrap
    in a task.
    """

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    def wait(self) -> Coroutine[Any, Any, Any]:
        return self._event.wait()


class StaleMetadata:
    """A cluster's metadata is known to be out of date (a leader moved, a broker
    went away): set by the fetcher and the producer, acted on by the locator's
    resync loop, which ``on_change`` wakes."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        self.source = False
        self.dest = False
        self._on_change = on_change

    def mark_source(self) -> None:
        self.source = True
        self._on_change()

    def mark_dest(self) -> None:
        self.dest = True
        self._on_change()

    def mark_both(self) -> None:
        self.source = self.dest = True
        self._on_change()
