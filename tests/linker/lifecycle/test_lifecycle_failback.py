"""Failback (issue 21): after a failover under load the old source returns with records the
mirror never got. `linker failback` reports and exports exactly those, refuses to touch the
topic without --recreate, recreates it with it, and the reverse link (the file it writes) mirrors
the promoted topic back with the same offsets; `linker promote` on the reverse link syncs the
group back and clients write and read on the old cluster again.

Exactness is judged with tests/checker.py and kafka-python, never with linker code."""
from __future__ import annotations

import base64
import json
import time
from pathlib import Path

from kafkabed.producers import make_records, produce
from linker.app.cli import main as linker_main
from linker.lifecycle.records import TopicState
from linker.settings import load_config
from tests.checker import wait_exact

from .helpers import Linker, command
from .test_lifecycle_failover import Writer
from .test_lifecycle_migration import consume_kafka_python


def forward_file(tmp_path: Path, source, destination, name: str, topic: str) -> Path:
    """The forward link file, written by hand (not by the code under test)."""
    def servers(c) -> str:
        return json.dumps(c.bootstrap.split(","))
    p = tmp_path / "link.toml"
    p.write_text(f"""name = "{name}"

[source]
bootstrap_servers = {servers(source)}
request_timeout_ms = 5000

[destination]
bootstrap_servers = {servers(destination)}

[topics]
names = ["{topic}"]

[mirror]
fetch_max_wait_ms = 100
metadata_refresh_ms = 1000
audit_interval_ms = 3000

[lifecycle]
state_poll_ms = 300
offset_sync_interval_ms = 1000
config_sync_interval_ms = 1000
""")
    return p


def ends(cluster, topic: str, parts: int) -> dict[int, int]:
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(**cluster.kafka_python_config())
    try:
        got = c.end_offsets([TopicPartition(topic, p) for p in range(parts)])
        return {tp.partition: o for tp, o in got.items()}
    finally:
        c.close()


def read_range(cluster, topic: str, start: dict[int, int], end: dict[int, int]) -> dict[int, list]:
    """{partition: [(offset, timestamp, key, value, headers)]} for offsets start..end-1 (raw consumer)."""
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(enable_auto_commit=False, **cluster.kafka_python_config())
    out: dict[int, list] = {p: [] for p in start}
    try:
        tps = [TopicPartition(topic, p) for p in start]
        c.assign(tps)
        for tp in tps:
            c.seek(tp, start[tp.partition])
        deadline = time.monotonic() + 30
        while any(c.position(tp) < end[tp.partition] for tp in tps) and time.monotonic() < deadline:
            for tp, recs in c.poll(timeout_ms=500).items():
                out[tp.partition] += [(r.offset, r.timestamp, r.key, r.value, list(r.headers))
                                      for r in recs if r.offset < end[tp.partition]]
    finally:
        c.close()
    return out


def committed(cluster, group: str, topic: str, parts: int = 2) -> dict[int, int]:
    """The group's committed offsets (kafka-python; a consumer that never joins the group)."""
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(group_id=group, enable_auto_commit=False, **cluster.kafka_python_config())
    try:
        got = {p: c.committed(TopicPartition(topic, p)) for p in range(parts)}
        return {p: o for p, o in got.items() if o is not None}
    finally:
        c.close()


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = linker_main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def exported(directory: Path, topic: str, p: int) -> list[tuple]:
    path = directory / f"{topic}-{p}.jsonl"
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines()]

    def b(x):
        return None if x is None else base64.b64decode(x)
    return [(r["offset"], r["timestamp"], b(r["key"]), b(r["value"]), [(k, b(v)) for k, v in r["headers"]])
            for r in rows]



def failed_over_at_50(source, destination, topic_name: str, tmp_path: Path, tag: str):
    """A 1-partition topic of 50 records mirrored, then failed over: (forward link file, result)."""
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, make_records(50, prefix="r"))
    fwd_path = forward_file(tmp_path, source, destination, f"{tag}-{topic_name[-8:]}", topic_name)
    fwd = load_config(fwd_path)
    with Linker(fwd) as linker:
        linker.wait(lambda: linker.acked(topic_name).get(0) == 50, why="caught up")
        [r] = command(fwd, "failover", [topic_name])
    assert r.offsets == {0: 50}
    return fwd_path, r

def test_failback_after_failover_under_load(source, destination, topic_name, tmp_path, capsys, testbed_report):
    source.create_topic(topic_name, partitions=2)
    produce(source, topic_name, make_records(100, prefix="r"))
    group = f"g-{topic_name}"
    assert len(consume_kafka_python(source, topic_name, group, 60)) == 60
    fwd_path = forward_file(tmp_path, source, destination, f"fb-{topic_name[-8:]}", topic_name)
    fwd = load_config(fwd_path)
    with Linker(fwd) as linker:
        linker.wait(lambda: group in linker.controller.groups and linker.controller.groups[group].committed,
                    why="offset sync")
        writer = Writer(source, topic_name)
        writer.start()
        try:
            linker.wait(lambda: writer.acked >= 300 and sum(linker.acked(topic_name).values()) >= 250, why="moving")
            # The outage: the mirror stops getting records while the old source keeps taking them.
            command(fwd, "pause", [topic_name])
            linker.wait(lambda: topic_name in linker.engine.paused_topics, why="paused")
            at_pause = writer.acked
            linker.wait(lambda: writer.acked >= at_pause + 200, why="source moves on")
        finally:
            writer.halt.set()
            writer.join(15)
        old_ends = ends(source, topic_name, 2)
        [r] = command(fwd, "failover", [topic_name])
    f = r.offsets
    assert r.state is TopicState.STOPPED and r.rpo == {p: old_ends[p] - f[p] for p in f}
    assert sum(r.rpo.values()) >= 200
    lost = read_range(source, topic_name, f, old_ends)
    assert {p: len(v) for p, v in lost.items()} == r.rpo

    # Clients on the promoted topic: writes (idempotent: failover moved the producer ids) and the group.
    produce(destination, topic_name, make_records(40, prefix="after-failover"), idempotent=True)
    assert len(consume_kafka_python(destination, topic_name, group, 120)) == 120
    promoted_commits = committed(destination, group, topic_name)

    # Failback without --recreate: the loss is reported exactly and exported; nothing is changed.
    out_dir = tmp_path / "lost"
    code, out, err = run_cli(capsys, "failback", "--config", str(fwd_path), "--no-fence", "--export", str(out_dir),
                             topic_name)
    assert code == 1, (out, err)
    for p in (0, 1):
        n = old_ends[p] - f[p]
        assert (f"{topic_name}-{p}: failover offset {f[p]}, old source ends at {old_ends[p]}; lost {n} records "
                f"at offsets {f[p]}..{old_ends[p] - 1}") in out, out
        assert f"partition {p} {n} records beyond offset {f[p]}" in err, err
        assert exported(out_dir, topic_name, p) == lost[p]
    assert "--recreate" in err and "NOT fenced" in out
    assert ends(source, topic_name, 2) == old_ends
    testbed_report(f"failback: reported lost {sum(r.rpo.values())} records ({r.rpo}), exported exactly")

    # With --recreate: the old topic is deleted and created again, empty; the reverse link file is written.
    t0 = time.monotonic()
    code, out, err = run_cli(capsys, "failback", "--config", str(fwd_path), "--no-fence", "--recreate", topic_name)
    assert code == 0, (out, err)
    recreate_s = time.monotonic() - t0
    assert "old topic deleted and recreated empty" in out
    assert ends(source, topic_name, 2) == {0: 0, 1: 0}
    rev_path = tmp_path / "link-failback.toml"
    assert str(rev_path) in out
    rev = load_config(rev_path)

    with Linker(rev) as back:
        t1 = time.monotonic()
        # The promoted topic mirrored back with the same offsets and byte-exact batches.
        wait_exact(destination, source, [topic_name], timeout=90)
        mirrored_s = time.monotonic() - t1
        back.wait(lambda: committed(source, group, topic_name) == promoted_commits, timeout=30,
                  why="group offsets synced back")
        [b] = command(rev, "promote", [topic_name])
    assert b.state is TopicState.STOPPED
    assert b.offsets == ends(destination, topic_name, 2)
    assert committed(source, group, topic_name) == promoted_commits
    testbed_report(f"failback: recreate {recreate_s:.2f}s, mirrored back exact in {mirrored_s:.2f}s "
                   f"({sum(b.offsets.values())} offsets)")

    # Clients back on the old cluster: a producer continues at the next offsets, the group where it was.
    before = ends(source, topic_name, 2)
    produce(source, topic_name, make_records(10, prefix="back-home"), idempotent=True)
    after = ends(source, topic_name, 2)
    assert sum(after.values()) == sum(before.values()) + 10 and all(after[p] >= before[p] for p in after)
    expected = read_range(source, topic_name, promoted_commits, after)
    from kafka import KafkaConsumer
    c = KafkaConsumer(topic_name, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
                      **source.kafka_python_config())
    got: dict[int, list] = {0: [], 1: []}
    try:
        deadline = time.monotonic() + 30
        while sum(map(len, got.values())) < sum(map(len, expected.values())) and time.monotonic() < deadline:
            for tp, recs in c.poll(timeout_ms=500).items():
                got[tp.partition] += [(x.offset, x.value) for x in recs]
    finally:
        c.close()
    assert got == {p: [(o, v) for o, _, _, v, _ in rs] for p, rs in expected.items()}
    assert any(v.startswith(b"back-home") for rs in got.values() for _, v in rs)


def test_failback_reuses_a_topic_without_a_tail(source, destination, topic_name, tmp_path, capsys):
    fwd_path, r = failed_over_at_50(source, destination, topic_name, tmp_path, "fr")
    assert r.rpo == {0: 0}
    produce(destination, topic_name, make_records(20, prefix="after"), idempotent=True)
    # Not fenced without manage_acls: refused unless --no-fence says the producers are stopped.
    code, out, err = run_cli(capsys, "failback", "--config", str(fwd_path), topic_name)
    assert code == 1 and "--no-fence" in err and "manage_acls" in err, err
    code, out, err = run_cli(capsys, "failback", "--config", str(fwd_path), "--no-fence", topic_name)
    assert code == 0, (out, err)
    assert f"{topic_name}-0: failover offset 50, old source ends at 50; nothing lost" in out
    assert f"{topic_name}: lost by the failover 0 records; old topic reused" in out
    assert ends(source, topic_name, 1) == {0: 50}
    rev = load_config(tmp_path / "link-failback.toml")
    with Linker(rev):
        wait_exact(destination, source, [topic_name], timeout=60)
    assert ends(source, topic_name, 1) == {0: 70}
    # Run again once the reverse link mirrored back: its copy is no loss, nothing to recreate.
    code, out, err = run_cli(capsys, "failback", "--config", str(fwd_path), "--no-fence", topic_name)
    assert code == 0, (out, err)
    assert "offsets 50..69 are the promoted topic's batches (mirrored back already): nothing lost" in out, out
    assert f"{topic_name}: lost by the failover 0 records; old topic reused" in out


def test_failback_refuses_a_topic_not_failed_over(source, destination, topic_name, tmp_path, capsys):
    source.create_topic(topic_name, partitions=1)
    fwd_path = forward_file(tmp_path, source, destination, f"fn-{topic_name[-8:]}", topic_name)
    code, out, err = run_cli(capsys, "failback", "--config", str(fwd_path), "--no-fence", topic_name)
    assert code == 1
    assert "nothing was failed over" in err or "is not failed over or promoted" in err, err


def test_failback_recreates_and_aligns_a_trimmed_promoted_topic(source, destination, topic_name, tmp_path, capsys):
    """The promoted topic's log start moved above 0 (retention, DeleteRecords): the recreated empty
    old topic is aligned by the reverse link (same log start), then mirrored exactly."""
    from kafka.admin import KafkaAdminClient
    from kafka.structs import TopicPartition
    fwd_path, _ = failed_over_at_50(source, destination, topic_name, tmp_path, "ft")
    produce(source, topic_name, make_records(5, prefix="lost"))       # the divergent tail
    produce(destination, topic_name, make_records(20, prefix="after"), idempotent=True)
    admin = KafkaAdminClient(**destination.kafka_python_config())
    try:
        admin.delete_records({TopicPartition(topic_name, 0): 37})
    finally:
        admin.close()
    code, out, err = run_cli(capsys, "failback", "--config", str(fwd_path), "--no-fence", "--recreate", topic_name)
    assert code == 0, (out, err)
    assert f"{topic_name}-0: failover offset 50, old source ends at 55; lost 5 records at offsets 50..54" in out, out
    rev = load_config(tmp_path / "link-failback.toml")
    with Linker(rev):
        check = wait_exact(destination, source, [topic_name], timeout=60)   # log start 37 on both
    assert ends(source, topic_name, 1) == {0: 70}
    assert check.exact
