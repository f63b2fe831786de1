"""The link's catch-up estimate: rates and ETA over a window of lag observations."""
from __future__ import annotations

from linker.mirror.progress import Observation, Progress


def test_eta_is_the_lag_over_the_pace_it_shrinks():
    p = Progress(window_s=60)
    assert p.eta_seconds() is None and p.line() == "catch-up: no lag measured yet"
    p.observe(Observation(0.0, 1000, 100_000, 0, 0))
    assert p.eta_seconds() is None                      # one observation: no pace yet
    p.observe(Observation(10.0, 800, 80_000, 500, 50_000))
    assert p.rates() == (50.0, 5000.0)
    assert p.eta_seconds() == 800 / 20                  # shrinks 20 records/s (the source grows too)
    assert "800 records, 80000 bytes behind, mirroring 50 records/s (5000 B/s); ETA 40s" in p.line()


def test_a_lag_that_grows_has_no_eta_and_zero_lag_is_caught_up():
    p = Progress(window_s=60)
    p.observe(Observation(0.0, 100, 1000, 0, 0))
    p.observe(Observation(5.0, 150, 1500, 10, 100))
    assert p.eta_seconds() is None and "not catching up" in p.line()
    p.observe(Observation(6.0, 0, 0, 160, 1600))
    assert p.eta_seconds() == 0.0 and p.line().endswith("caught up")


def test_the_window_drops_old_observations():
    p = Progress(window_s=10)
    for t in range(0, 100, 2):
        p.observe(Observation(float(t), 1000 - t, 0, t, 0))
    first = p.as_dict()
    assert first["records_per_second"] == 1.0 and first["eta_seconds"] == (1000 - 98) / 1.0
    assert len(p._seen) <= 7
