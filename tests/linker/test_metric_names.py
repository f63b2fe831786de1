"""Every metric the linker serves follows Prometheus naming conventions, read back through
prometheus_client's own text parser: a linker_ prefix, base units in the name, ``_total`` on
counters and only there, HELP text, declared label names."""
from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families

from linker.metrics import MirrorMetrics

#: non-base units (and unit-less time words) that must not appear in a name
NOT_BASE = re.compile(r"_(ms|millis|milliseconds|minutes?|hours?|kb|kib|mb|mib|percent|per_minute)(_|$)")


def _filled() -> MirrorMetrics:
    m = MirrorMetrics()
    for metric in m.registry.metrics.values():
        labels = {k: "x" for k in metric.labels or ()}
        (metric.inc if metric.kind == "counter" else metric.set)(1, **labels)
    return m


def test_names_units_and_suffixes():
    m = _filled()
    families = list(text_string_to_metric_families(m.render()))
    assert {f.name for f in families} >= {"linker_partition_lag_records", "linker_mirrored_bytes"}
    for f in families:
        assert f.name.startswith("linker_"), f.name
        assert f.documentation, f"{f.name} has no HELP"
        assert not NOT_BASE.search(f.name), f"{f.name}: use base units (seconds, bytes)"
        for s in f.samples:
            if f.type == "counter":
                assert s.name == f.name + "_total", s.name
            else:
                assert f.type == "gauge" and not s.name.endswith("_total"), s.name
            if re.search(r"(time|age|lag_s|eta|duration)", s.name) and "lag_records" not in s.name \
                    and "lag_bytes" not in s.name:
                assert s.name.endswith("_seconds"), f"{s.name}: a time is in seconds"
            assert set(s.labels) == set(m.registry.metrics[s.name].labels or ()), s


def test_undeclared_labels_are_refused():
    import pytest
    m = MirrorMetrics()
    with pytest.raises(ValueError, match="takes labels"):
        m.lag_records.set(1, topic="t")
    with pytest.raises(ValueError, match="_total"):
        m.registry.gauge("linker_x_total", "no")
