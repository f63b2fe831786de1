"""The shipped dashboard and alert rules against a real link: every metric name and label they
use is on a running linker's /metrics, and every expression parses with a real PromQL parser
(promql-parser). The same link shows its catch-up progress in /status, `linker status`,
`linker status --watch` (a pipe: one line per refresh) and a periodic log line."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from kafkabed.producers import produce
from linker.metrics import MirrorMetrics
from tests.linker.test_linker_cli import free_port, linker, start_run, wait_caught_up

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "ops" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "ops" / "grafana" / "linker.json"
#: labels Prometheus adds at scrape time, not the linker
SCRAPE_LABELS = {"job", "instance"}


def _selectors(node, grouping: set[str], found: list[tuple[str, set[str], set[str]]]) -> None:
    """(metric name, label names matched, label names grouped by around it) of every selector."""
    kind = type(node).__name__
    if kind == "VectorSelector":
        found.append((node.name, {m.name for m in node.matchers.matchers}, set(grouping)))
    elif kind == "MatrixSelector":
        _selectors(node.vector_selector, grouping, found)
    elif kind == "AggregateExpr":
        labels = set(getattr(node.modifier, "labels", None) or []) if node.modifier is not None else set()
        _selectors(node.expr, grouping | labels, found)
    elif kind == "BinaryExpr":
        _selectors(node.lhs, grouping, found)
        _selectors(node.rhs, grouping, found)
    elif kind == "Call":
        for a in node.args:
            _selectors(a, grouping, found)
    elif kind in ("ParenExpr", "UnaryExpr", "SubqueryExpr"):
        _selectors(node.expr, grouping, found)


def _expressions() -> list[tuple[str, str]]:
    rules = yaml.safe_load(ALERTS.read_text())
    out = [(f"alert {r['alert']}", r["expr"]) for g in rules["groups"] for r in g["rules"]]
    dash = json.loads(DASHBOARD.read_text())
    out += [(f"panel {p['title']!r}", t["expr"]) for p in dash["panels"] for t in p["targets"]]
    out += [(f"variable {v['name']}", v["query"].replace("label_values(", "").split(",")[0])
            for v in dash["templating"]["list"] if v["type"] == "query"]
    return out


def _used() -> list[tuple[str, str, set[str]]]:
    used = []
    for where, expr in _expressions():
        tree = promql_parser.parse(expr.replace("$topic", ".*"))   # raises on a syntax error
        found: list = []
        _selectors(tree, set(), found)
        assert found, f"{where}: no metric in {expr!r}"
        used += [(where, name, matched | grouped) for name, matched, grouped in found]
    return used


def test_every_expression_parses_and_names_a_declared_metric():
    declared = MirrorMetrics().registry.metrics
    for where, name, labels in _used():
        assert name in declared, f"{where}: {name} is not a linker metric"
        assert labels - SCRAPE_LABELS <= set(declared[name].labels or ()), f"{where}: {name} has no {labels}"
    with pytest.raises(Exception):
        promql_parser.parse("sum by (topic (linker_partition_lag_records)")


@pytest.fixture(scope="module")
def running_link(source, destination, tmp_path_factory):
    topic = "ops-" + str(int(time.time() * 1000))
    source.create_topic(topic, partitions=2)
    produce(source, topic, 300)
    tmp = tmp_path_factory.mktemp("ops")
    port = free_port()
    cfg = tmp / "link.toml"
    cfg.write_text("\n".join([
        'name = "ops-test"',
        "[source]", f"bootstrap_servers = {json.dumps(source.bootstrap.split(','))}",
        "[destination]", f"bootstrap_servers = {json.dumps(destination.bootstrap.split(','))}",
        "[topics]", f"names = [\"{topic}\"]",
        "[mirror]", "fetch_max_wait_ms = 100", "audit_interval_ms = 200", "progress_log_interval_ms = 1000",
        "[metrics]", f'listen = "127.0.0.1:{port}"']) + "\n")
    log = tmp / "run.log"
    proc = start_run(cfg, log)
    try:
        wait_caught_up(cfg, topic, 300)
        yield cfg, topic, port, log
    finally:
        proc.terminate()
        proc.wait(30)


def _get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return r.read().decode()


def test_the_dashboard_and_rules_use_what_a_running_link_serves(running_link):
    cfg, topic, port, _ = running_link
    deadline = time.monotonic() + 30
    while True:   # an audit round and a lag round have run
        text = _get(port, "/metrics")
        if 'linker_audit_partitions_total{result="ok"}' in text and "\nlinker_catchup_eta_seconds " in text:
            break
        assert time.monotonic() < deadline, text
        time.sleep(0.3)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    served: dict[str, set[str]] = {}
    for f in families.values():
        for s in f.samples:
            served.setdefault(s.name, set()).update(s.labels)
        served.setdefault(f.name + ("_total" if f.type == "counter" else ""), set())
    declared = MirrorMetrics().registry.metrics
    for where, name, labels in _used():
        assert name in served, f"{where}: {name} is not on /metrics"
        have = served[name] or set(declared[name].labels or ())   # no sample yet: its declared labels
        assert labels - SCRAPE_LABELS <= have, f"{where}: {name} is served without {labels - have}"
    assert f'linker_partition_fidelity{{fidelity="exact",partition="0",topic="{topic}"}} 1' in text
    assert "linker_catchup_eta_seconds 0" in text and "linker_link_lag_records 0" in text


def test_progress_in_status_watch_and_the_log(running_link):
    cfg, topic, port, log = running_link
    doc = json.loads(_get(port, "/status"))
    assert doc["progress"]["lag_records"] == 0 and doc["progress"]["eta_seconds"] == 0.0
    r = linker("status", "--config", str(cfg))
    assert r.returncode == 0 and "catch-up: 0 records, 0 bytes behind" in r.stdout and "caught up" in r.stdout
    j = json.loads(linker("status", "--config", str(cfg), "--json").stdout)
    assert j["catchup"]["lag_records"] == 0 and j["catchup"]["eta_seconds"] == 0.0
    proc = subprocess.Popen([sys.executable, "-m", "linker.app.cli", "status", "--config", str(cfg), "--watch", "0.5"],
                            stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
    finally:
        proc.terminate()
        proc.wait(10)
    for line in lines:   # a pipe gets one summary line per refresh, no terminal codes
        assert "\x1b" not in line and " ops-test: MIRRORING=2; catch-up: 0 records" in line, lines
    deadline = time.monotonic() + 10
    while "catch-up: 0 records, 0 bytes behind" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.3)


def test_watch_redraws_the_table_on_a_terminal(running_link):
    import io

    from linker.settings import load_config
    from linker.status import watch
    cfg, topic, _, _ = running_link
    out = io.StringIO()
    assert watch(load_config(cfg), 0.2, 10.0, out, tty=True, rounds=2) == 0
    screens = out.getvalue().split("\x1b[H\x1b[2J")
    assert screens[0] == "" and len(screens) == 3, out.getvalue()
    for screen in screens[1:]:
        assert "every 0.2s (Ctrl-C ends)" in screen and "TOPIC" in screen and "catch-up: 0 records" in screen


def test_watch_with_json_prints_one_document_per_line(running_link):
    import io

    from linker.settings import load_config
    from linker.status import watch
    cfg, topic, _, _ = running_link
    out = io.StringIO()
    assert watch(load_config(cfg), 0.2, 10.0, out, tty=False, rounds=2, as_json=True) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    for line in lines:
        doc = json.loads(line)
        assert doc["catchup"]["lag_records"] == 0 and {p["topic"] for p in doc["partitions"]} == {topic}
