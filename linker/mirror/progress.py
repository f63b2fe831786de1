"""Catch-up progress of the whole link: how far behind, how fast it mirrors, and when it
will have caught up at the pace of the last minute.

The lag watch feeds one observation per round (records and bytes behind, records and
bytes mirrored so far); the ETA is the lag divided by the rate at which the lag shrank
over the window (a link mirroring as fast as the source grows has none: "not catching
up"). Pure: no I/O, the clock is passed in.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

#: seconds of observations the rates are computed over
WINDOW_S = 60.0


@dataclass(frozen=True)
class Observation:
    at: float
    lag_records: int
    lag_bytes: int
    mirrored_records: float
    mirrored_bytes: float


class Progress:
    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._seen: deque[Observation] = deque()

    def observe(self, o: Observation) -> None:
        self._seen.append(o)
        while len(self._seen) > 2 and o.at - self._seen[1].at >= self.window_s:
            self._seen.popleft()

    @property
    def last(self) -> Observation | None:
        return self._seen[-1] if self._seen else None

    def _span(self) -> tuple[Observation, Observation] | None:
        if len(self._seen) < 2 or self._seen[-1].at <= self._seen[0].at:
            return None
        return self._seen[0], self._seen[-1]

    def rates(self) -> tuple[float, float] | None:
        """(records/s, bytes/s) mirrored over the window."""
        span = self._span()
        if span is None:
            return None
        a, b = span
        dt = b.at - a.at
        return (b.mirrored_records - a.mirrored_records) / dt, (b.mirrored_bytes - a.mirrored_bytes) / dt

    def eta_seconds(self) -> float | None:
        """Seconds to zero lag at the window's pace; 0 when caught up; None when not shrinking."""
        last = self.last
        if last is None:
            return None
        if last.lag_records == 0:
            return 0.0
        span = self._span()
        if span is None:
            return None
        a, b = span
        shrink = (a.lag_records - b.lag_records) / (b.at - a.at)
        return last.lag_records / shrink if shrink > 0 else None

    def as_dict(self) -> dict[str, object]:
        last, rates = self.last, self.rates()
        return {
            "lag_records": last.lag_records if last else None,
            "lag_bytes": last.lag_bytes if last else None,
            "records_per_second": rates[0] if rates else None,
            "bytes_per_second": rates[1] if rates else None,
            "eta_seconds": self.eta_seconds(),
            "window_seconds": self.window_s,
        }

    def line(self) -> str:
        """The periodic log line."""
        d = self.as_dict()
        if d["lag_records"] is None:
            return "catch-up: no lag measured yet"
        rate = "" if d["records_per_second"] is None else \
            f", mirroring {d['records_per_second']:.0f} records/s ({d['bytes_per_second']:.0f} B/s)"
        eta = d["eta_seconds"]
        when = "caught up" if eta == 0 else ("not catching up (lag not shrinking)" if eta is None
                                             else f"ETA {eta:.0f}s")
        return f"catch-up: {d['lag_records']} records, {d['lag_bytes']} bytes behind{rate}; {when}"


class WorkProgress:
    """Progress of one long piece of work of one partition (the leading-gap alignment): done of
    total units, rate since the start and ETA; logged at most every ``log_every_s`` seconds."""

    def __init__(self, what: str, total: int, unit: str, log_every_s: float, now: float) -> None:
        self.what, self.total, self.unit, self.log_every_s = what, total, unit, log_every_s
        self.done = 0
        self.began = self._logged = now

    def advance(self, n: int, now: float) -> bool:
        """Count ``n`` more units; True when a progress line is due."""
        self.done += n
        if now - self._logged >= self.log_every_s:
            self._logged = now
            return True
        return False

    def rate(self, now: float) -> float | None:
        return self.done / (now - self.began) if now > self.began and self.done else None

    def eta_seconds(self, now: float) -> float | None:
        rate = self.rate(now)
        return None if rate is None else max(0, self.total - self.done) / rate

    def as_dict(self, now: float) -> dict[str, object]:
        return {"work": self.what, "done": self.done, "total": self.total, "unit": self.unit,
                "rate_per_second": self.rate(now), "eta_seconds": self.eta_seconds(now)}

    def line(self, now: float) -> str:
        eta = self.eta_seconds(now)
        rate = self.rate(now)
        pct = 100.0 * self.done / self.total if self.total else 100.0
        return (f"{self.what}: {self.done}/{self.total} {self.unit} ({pct:.0f}%)"
                + ("" if rate is None else f", {rate:.0f} {self.unit}/s")
                + ("" if eta is None else f", ETA {eta:.0f}s"))
