"""`linker verify` judges completeness, not only "the destination is a prefix" (issue 14, finding 13).

Each test builds the situation a new user meets (nothing mirrored yet, a stopped linker behind, a BLOCKED
topic, a selection that selects nothing) and checks the exit code and that no line claims "identical"
for what was not compared; tests/checker.py, which shares no code with the linker, confirms each verdict.
"""
from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from kafka.structs import TopicPartition as KTP

from kafkabed.producers import produce
from linker.verify import BEHIND, EXACT, INCOMPLETE, verify_link
from tests.checker import check_mirror

from .mirror.helpers import caught_up, engine_for, link_config, run_until


def write_link(path: Path, source, destination, topics: dict, extra: str = "") -> Path:
    """A link file; its name (hence its state topic) is unique to the test directory."""
    lines = [f'name = "verify-{path.parent.name[-40:]}"',
             "[source]", f"bootstrap_servers = {json.dumps(source.bootstrap.split(','))}",
             "[destination]", f"bootstrap_servers = {json.dumps(destination.bootstrap.split(','))}",
             "[topics]", *(f"{k} = {json.dumps(v)}" for k, v in topics.items()),
             "[mirror]", "fetch_max_wait_ms = 100", "stop_timeout_ms = 5000"]
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def linker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "linker.app.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def behind_counts(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"(\d+) offsets behind", text)]


def test_nothing_mirrored_is_behind_not_ok(source, destination, topic_name, tmp_path):
    """The reported case: 1,000 records on the source, an empty destination topic of the same name."""
    source.create_topic(topic_name, partitions=2)
    produce(source, topic_name, 1000)
    destination.create_topic(topic_name, partitions=2)
    cfg = write_link(tmp_path / "link.toml", source, destination, {"names": [topic_name]})
    r = linker("verify", "--config", str(cfg))
    assert r.returncode == 3, r.stdout + r.stderr
    assert "identical" not in r.stdout and "OK" not in r.stdout
    lines = [line for line in r.stdout.splitlines() if line.startswith("BEHIND")]
    assert len(lines) == 2 and sum(behind_counts("\n".join(lines))) == 1000, r.stdout
    assert all("the destination is empty: nothing to compare" in line for line in lines)
    assert "2 partitions: 2 behind (1000 offsets); 0 problem(s)" in r.stdout
    assert "--allow-lag" in r.stdout
    lagging = linker("verify", "--config", str(cfg), "--allow-lag")
    assert lagging.returncode == 0, lagging.stdout
    assert "exact so far" in lagging.stdout and "identical" not in lagging.stdout
    assert not check_mirror(source, destination, [topic_name]).exact


def test_stopped_linker_behind_then_exact(source, destination, topic_name):
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 300, compression="lz4")
    cfg = link_config(source, destination, names=[topic_name])
    asyncio.run(run_until(engine_for(cfg), caught_up(), 90))
    produce(source, topic_name, 100)                          # the linker is not running
    report = asyncio.run(verify_link(cfg))
    [p] = report.partitions
    assert p.state == BEHIND and p.lag == 100 and not report.ok, report.render()
    assert report.exit_code() == 3 and report.exit_code(allow_lag=True) == 0
    assert p.checked_to == 300 and p.checked_batches >= 1
    text = report.render()
    assert "100 offsets behind (destination log end 300, source 400)" in text
    assert f"offsets 0..300 compared: {p.checked_batches} batches identical" in text
    assert not check_mirror(source, destination, [topic_name]).exact
    asyncio.run(run_until(engine_for(cfg), caught_up(), 90))
    report = asyncio.run(verify_link(cfg))
    assert report.ok and report.partitions[0].state == EXACT, report.render()
    assert report.render().splitlines()[-1].startswith("result: exact")
    assert check_mirror(source, destination, [topic_name]).exact


def test_selection_that_selects_nothing_fails(source, destination, topic_name, tmp_path):
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 5)
    cfg = write_link(tmp_path / "link.toml", source, destination,
                     {"include": [re.escape(topic_name)], "exclude": [".*"]})
    r = linker("verify", "--config", str(cfg))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "0 partitions; 1 problem(s)" in r.stdout and "selects no topic" in r.stdout
    assert linker("verify", "--config", str(cfg), "--allow-lag").returncode == 1


def test_destination_missing_its_log_start_is_incomplete(source, destination, topic_name):
    """Offsets the destination lost at the start are not "behind": the linker never re-sends them."""
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 200)
    cfg = link_config(source, destination, names=[topic_name])
    asyncio.run(run_until(engine_for(cfg), caught_up(), 90))
    destination.admin().delete_records({KTP(topic_name, 0): 50})
    report = asyncio.run(verify_link(cfg))
    [p] = report.partitions
    assert p.state == INCOMPLETE and p.missing_head == 50, report.render()
    assert report.exit_code() == 3 and report.exit_code(allow_lag=True) == 3
    assert "50 offsets are missing at the start" in report.render()
    assert not check_mirror(source, destination, [topic_name]).exact


def test_blocked_topic_is_incomplete_even_with_allow_lag(source, destination, topic_name, tmp_path):
    """A LogAppendTime source topic: `linker run` records BLOCKED; 5 of 5 records are not mirrored."""
    source.create_topic(topic_name, partitions=1, configs={"message.timestamp.type": "LogAppendTime"})
    produce(source, topic_name, 5)
    cfg = write_link(tmp_path / "link.toml", source, destination, {"names": [topic_name]})
    proc = subprocess.Popen([sys.executable, "-m", "linker.app.cli", "run", "--config", str(cfg)],
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "run.log", "ab"))
    try:
        deadline = time.monotonic() + 90
        while True:
            doc = json.loads(linker("status", "--config", str(cfg), "--json").stdout)
            if doc["topics"].get(topic_name, {}).get("state") == "BLOCKED":
                break
            assert time.monotonic() < deadline, doc
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    for extra in ((), ("--allow-lag",)):
        r = linker("verify", "--config", str(cfg), *extra)
        assert r.returncode == 3, r.stdout + r.stderr
        [line] = [x for x in r.stdout.splitlines() if x.startswith(("INCOMPLETE", "BEHIND", "EXACT", "OK"))]
        assert line.startswith("INCOMPLETE") and "5 offsets behind" in line and "BLOCKED" in line, line
        assert "identical" not in r.stdout
    assert not check_mirror(source, destination, [topic_name]).exact
