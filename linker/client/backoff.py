"""Exponential reconnect backoff with full jitter."""
from __future__ import annotations

import random


class Backoff:
    """Delay before the next attempt: grows x2 per failure, capped, jittered.

    Full jitter (a uniform draw in [base/2, base]) keeps many clients that
    lost the same broker from reconnecting in lockstep.
    """

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError(f"bad backoff bounds initial={initial} maximum={maximum}")
        self.initial = initial
        self.maximum = maximum
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """Record one failure and return how long to wait before retrying."""
        base = min(self.maximum, self.initial * (2 ** min(self.failures, 30)))
        self.failures += 1
        return self._rng.uniform(base / 2, base)

    def reset(self) -> None:
        self.failures = 0
