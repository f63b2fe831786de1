"""The write gate: produce requests pass only while a scale-out member's lease holds.

One object shared by a client's connections (``ClientConfig.write_gate``); a linker alone has
none, or one that is always open.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from .errors import ClientError


class WriteFenced(ClientError):
    """A produce refused before it was sent: the member's lease on its partitions has ended."""


@dataclass
class WriteGate:
    """Produce requests pass only before ``open_until`` (this process's monotonic clock).

    Checked by the connection right before a Produce request's bytes are written, so a member
    stalled (paused, GC, partitioned) past its lease sends nothing new once it runs again."""
    open_until: float = float("inf")   # a linker alone: always open

    def renew(self, until: float) -> None:
        self.open_until = max(self.open_until, until)

    def close(self) -> None:
        self.open_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    def check(self) -> None:
        if not self.is_open():
            raise WriteFenced("produce refused: this member's lease on its partitions has ended")
