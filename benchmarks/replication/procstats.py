"""CPU and memory of the contender and of the brokers, from psutil.

A sampler thread reads the contender's RSS (peak) and CPU times, and the
brokers' CPU times, every ``interval`` seconds, so the harness can take CPU
over exactly the window in which the data moved (first destination record to
the last), leaving process start-up out of the per-GB figure and reporting
it separately.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psutil


def _cpu(p: psutil.Process, children: bool) -> float:
    try:
        t = p.cpu_times()
        total = t.user + t.system
        if children:
            for c in p.children(recursive=True):
                try:
                    ct = c.cpu_times()
                    total += ct.user + ct.system
                except psutil.Error:
                    pass
        return total
    except psutil.Error:
        return float("nan")


def _rss(p: psutil.Process, children: bool) -> int:
    try:
        total = p.memory_info().rss
        if children:
            for c in p.children(recursive=True):
                try:
                    total += c.memory_info().rss
                except psutil.Error:
                    pass
        return total
    except psutil.Error:
        return 0


@dataclass
class Sample:
    t: float
    contender_cpu: float
    source_broker_cpu: float
    dest_broker_cpu: float
    machine_busy: float   # CPU seconds the whole machine was not idle, all cores summed


def _machine_busy() -> float:
    """user + system + irq time of all cores (guest time is already inside user; idle, iowait
    and steal are not this machine's work)."""
    t = psutil.cpu_times()
    return (t.user + t.system + getattr(t, "nice", 0.0) + getattr(t, "irq", 0.0)
            + getattr(t, "softirq", 0.0))


@dataclass
class ProcessSampler:
    """Samples one contender process and the broker pids until stopped."""

    pid: int
    source_broker_pids: list[int]
    dest_broker_pids: list[int]
    interval: float = 0.1
    peak_rss: int = 0
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._proc = psutil.Process(self.pid)
        self._src = [psutil.Process(p) for p in self.source_broker_pids]
        self._dst = [psutil.Process(p) for p in self.dest_broker_pids]
        self._stop = threading.Event()
        self._last_cpu = 0.0
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)

    def start(self) -> "ProcessSampler":
        self.sample()
        self._thread.start()
        return self

    def sample(self) -> Sample:
        cpu = _cpu(self._proc, children=True)
        if cpu == cpu:  # not NaN: the process is still there
            self._last_cpu = cpu
        self.peak_rss = max(self.peak_rss, _rss(self._proc, children=True))
        s = Sample(time.monotonic(), self._last_cpu, sum(_cpu(p, False) for p in self._src),
                   sum(_cpu(p, False) for p in self._dst), _machine_busy())
        self.samples.append(s)
        return s

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def at(self, t: float) -> Sample:
        """The last sample taken at or before ``t`` (the first one if none)."""
        best = self.samples[0]
        for s in self.samples:
            if s.t <= t:
                best = s
            else:
                break
        return best
