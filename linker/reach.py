"""Bounded reads of one cluster for the read-only commands (`linker status`, `linker verify`).

Those commands run exactly when something is wrong: after a failover the
source may be gone, during an outage the destination. Each side is read under
one deadline (``REACH_TIMEOUT_S`` by default, `--timeout` on the command line)
instead of the client's own retry window, and a failure becomes an
``Unreachable`` naming the side and why, so the caller can show what the
other side knows and mark this one.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import TypeVar

from linker.client import ClientError, ClusterSnapshot
from linker.naming import MirrorNames
from linker.selection import TopicSelector

T = TypeVar("T")
S = TypeVar("S")
D = TypeVar("D")

#: Seconds each side gets to answer (metadata, offsets, the state topic).
REACH_TIMEOUT_S = 10.0
#: Exit code of `linker status` and `linker verify` when a cluster could not be read.
EXIT_UNREACHABLE = 4


class Unreachable(Exception):
    """One cluster of the link did not answer in time, or answered with an error."""

    def __init__(self, side: str, reason: str) -> None:
        self.side = side
        self.reason = reason
        super().__init__(f"{side} unreachable: {reason}")


class Deadline:
    """One time budget shared by every read of one side."""

    def __init__(self, side: str, seconds: float) -> None:
        self.side = side
        self.seconds = seconds
        self._end = asyncio.get_running_loop().time() + seconds

    async def run(self, aw: Awaitable[T]) -> T:
        """``aw``'s result, or Unreachable when it fails or the budget runs out.

        On timeout the work is cancelled and left to finish on its own; its
        outcome is collected (a request failing as the client closes is no news).
        """
        left = self._end - asyncio.get_running_loop().time()
        if left <= 0:
            if asyncio.iscoroutine(aw):
                aw.close()   # never started: the budget is spent
            raise Unreachable(self.side, f"no answer within {self.seconds:g}s")
        task = asyncio.ensure_future(aw)
        task.add_done_callback(_collect_outcome)
        done, _ = await asyncio.wait({task}, timeout=left)
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)
            raise Unreachable(self.side, f"no answer within {self.seconds:g}s")
        try:
            return task.result()
        except (ClientError, OSError) as exc:
            raise Unreachable(self.side, str(exc) or type(exc).__name__) from exc


async def read_both(source_read: Awaitable[S], dest_read: Awaitable[D], s_time: Deadline, d_time: Deadline,
                    unreachable: dict[str, str]) -> tuple[S | None, D | None]:
    """Both sides at once, each under its side's deadline; a side that cannot be read comes
    back None and is named, with the reason, in `unreachable`."""
    views = await asyncio.gather(s_time.run(source_read), d_time.run(dest_read), return_exceptions=True)
    for view in views:
        if isinstance(view, BaseException):
            if not isinstance(view, Unreachable):
                raise view
            unreachable[view.side] = view.reason
    s_view, d_view = (None if isinstance(v, BaseException) else v for v in views)
    return s_view, d_view  # type: ignore[return-value]


def _collect_outcome(fut: asyncio.Future) -> None:
    if not fut.cancelled():
        fut.exception()


def topics_without_source(selector: TopicSelector, names: MirrorNames, dst: ClusterSnapshot,
                          recorded: Iterable[str]) -> list[str]:
    """Source topics the link mirrors, judged from the destination alone (the source is down).

    The literal names, the topics the state topic records, and every
    destination topic whose source name (prefix removed) the selection
    matches: what the destination can tell without the source.
    """
    found = set(selector.literal_names) | set(recorded)
    for mirror, info in dst.topics.items():
        src = names.source_topic(mirror)
        if src is not None and not info.error_code and selector.matches(src):
            found.add(src)
    return sorted(found)
