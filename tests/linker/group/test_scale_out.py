"""Issue 19: one link served by several `linker run` processes (subprocesses, as a user runs
them) that form one group on the destination. Under load: kill -9 of a member, a member frozen
past its session timeout (SIGSTOP) then resumed, scale 1 -> 3 -> 1, promote with 3 members. The
mirror is judged by the independent checker (tests/checker.py), never by the linker's own code.

Rebalance times are measured from the members' logs (the time of the kill or SIGTERM to the
assignment that gives the last of the moved partitions to a survivor) and printed."""
from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from kafkabed.producers import produce
from linker.status import status_output
from linker.settings import load_config
from tests.checker import RawCluster, read_log, wait_exact

from ..lifecycle.helpers import command, state_of
from .members import LEASE_MS, SESSION_MS, Member, Writer, link_file

PARTITIONS = 6


def _all_owned(members: list[Member], total: int = PARTITIONS, timeout: float = 60.0) -> float:
    """Wait until the live members own every partition between them, each at least one; the time."""
    deadline = time.monotonic() + timeout
    while True:
        owned = [m.owned() for m in members]
        if sum(owned) == total and all(owned):
            return time.monotonic()
        for m in members:
            assert m.alive(), f"member exited ({m.proc.returncode}):\n{m.text()[-3000:]}"
        assert time.monotonic() < deadline, f"owned {owned} of {total} after {timeout}s:\n" + \
            "\n".join(m.text()[-1500:] for m in members)
        time.sleep(0.05)


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
    return total


def test_kill9_and_frozen_member_under_load(source, destination, topic_name, tmp_path: Path, testbed_report):
    source.create_topic(topic_name, partitions=PARTITIONS)
    produce(source, topic_name, 300)
    name = f"so-{topic_name[-8:]}"
    links = [link_file(tmp_path, source, destination, [topic_name], name, metrics=True, file=f"l{i}.toml")
             for i in range(3)]
    members = [Member(links[i], tmp_path / f"m{i}.log") for i in range(3)]
    writer = Writer(source, [topic_name])
    writer.start()
    try:
        _all_owned(members)
        time.sleep(2)   # every member mirroring under load
        victim, frozen, other = members
        killed_at = time.monotonic()
        victim.proc.kill()
        victim.proc.wait(10)
        back = _all_owned([frozen, other])
        testbed_report(f"scale-out: kill -9 of 1 of 3 members: its partitions reassigned after "
                       f"{back - killed_at:.1f}s (session timeout {SESSION_MS / 1000:.0f}s)")
        assert back - killed_at < SESSION_MS / 1000 + 5

        # Freeze a member past its session timeout: the other takes everything; the frozen one,
        # resumed, produces nothing (its lease ended) and rejoins.
        refused_before = _metric(frozen.metrics(), "linker_errors_total", api="Produce", error="WriteFenced")
        mark = len(frozen.text())
        frozen.signal(signal.SIGSTOP)
        frozen_at = time.monotonic()
        deadline = frozen_at + 30
        while other.owned() < PARTITIONS:
            assert time.monotonic() < deadline, other.text()[-3000:]
            time.sleep(0.05)
        taken = time.monotonic()
        assert taken - frozen_at > LEASE_MS / 1000, "partitions moved before the frozen member's lease ended"
        time.sleep(2)   # the survivor mirrors the frozen member's partitions under load
        frozen.signal(signal.SIGCONT)
        frozen.wait_log(r"lease ended|stopped producing at once", 30, after=mark)
        frozen.wait_log(r"assigned \d+ partition", 60, after=mark)
        _all_owned([frozen, other])
        text = frozen.metrics()
        assert _metric(text, "linker_group_lease_ended_total") + \
            (1 if "stopped producing at once" in frozen.text()[mark:] else 0) >= 1
        assert 'member="' in text   # every sample names the member
        testbed_report(f"scale-out: SIGSTOP member: partitions taken over after {taken - frozen_at:.1f}s "
                       f"(lease {LEASE_MS / 1000:.0f}s, session {SESSION_MS / 1000:.0f}s); produces refused "
                       f"after resume: {_metric(text, 'linker_errors_total', api='Produce', error='WriteFenced') - refused_before:.0f}")
        writer.finish()
        # Exact: a stale batch written by the resumed member would sit twice in the destination.
        wait_exact(source, destination, [topic_name], timeout=60)
    finally:
        writer.halt.set()
        for m in members:
            m.stop()


def test_scale_1_3_1_then_promote_with_3(source, destination, topic_name, tmp_path: Path, testbed_report):
    source.create_topic(topic_name, partitions=PARTITIONS)
    produce(source, topic_name, 300)
    link = link_file(tmp_path, source, destination, [topic_name], f"sc-{topic_name[-8:]}")
    first = Member(link, tmp_path / "m0.log")
    writer = Writer(source, [topic_name])
    writer.start()
    members = [first]
    try:
        first.wait_log(rf"assigned {PARTITIONS} partition", 60)
        time.sleep(1)
        members += [Member(link, tmp_path / f"m{i}.log") for i in (1, 2)]   # 1 -> 3
        _all_owned(members)
        time.sleep(2)
        # `linker status` names the member writing each partition (the leader's record in the state topic).
        doc = json.loads(status_output(load_config(link), as_json=True)[0])
        owners = {r["member"] for r in doc["partitions"]}
        assert len(owners) == 3 and "moving" not in owners and "" not in owners, owners
        left_at = time.monotonic()
        for m in members[1:]:                                                # 3 -> 1, clean leaves
            m.signal(signal.SIGTERM)
        for m in members[1:]:
            assert m.proc.wait(30) == 0, m.text()[-3000:]
        _all_owned([first])
        testbed_report(f"scale-out: clean leave of 2 of 3 members: partitions back on the last member "
                       f"after {time.monotonic() - left_at:.1f}s")
        time.sleep(1)
        writer.finish()
        wait_exact(source, destination, [topic_name], timeout=60)

        # Promote with 3 members: the group's leader takes the topic's partitions and finishes it.
        members = [first] + [Member(link, tmp_path / f"p{i}.log") for i in (1, 2)]
        _all_owned(members)
        produce(source, topic_name, 200)
        cfg = load_config(link)
        results = command(cfg, "promote", [topic_name])
        assert all(r.state.value == "STOPPED" for r in results), results
        st = state_of(cfg)
        assert st.topics[topic_name].state.value == "STOPPED"
        assert st.group is not None and len(st.group.members) == 3
        wait_exact(source, destination, [topic_name], timeout=30)
        for m in members:   # every member stopped the topic for good (the leader after promoting it)
            m.wait_log(rf"stopping {topic_name} for good|promoted {topic_name}", 15)
    finally:
        writer.halt.set()
        for m in members:
            m.stop()


def _prefix_exact(source, destination, topic: str) -> dict[int, int]:
    """Every destination batch equals the source batch at its offset, with no gap (the source went on
    after the failover); the destination ends per partition."""
    ends = {}
    with RawCluster(source.bootstrap, 10) as src, RawCluster(destination.bootstrap, 10) as dst:
        for p in range(PARTITIONS):
            s = {b.base_offset: b for b in read_log(src, topic, p).batches}
            d = read_log(dst, topic, p)
            at = d.log_start
            for b in d.batches:
                assert b.base_offset == at and s.get(at) == b, f"partition {p} differs at offset {at}"
                at = b.last_offset + 1
            ends[p] = d.log_end
    return ends


def test_rolling_restart_then_failover_with_3_members_under_load(source, destination, topic_name, tmp_path: Path):
    """Each member restarted in turn under load; then failover while the source stays up and written:
    every member stops the topic at once, the leader acknowledges once all its partitions came to it,
    and nothing is written to the mirror after that (what it holds is an exact prefix of the source)."""
    source.create_topic(topic_name, partitions=PARTITIONS)
    produce(source, topic_name, 300)
    link = link_file(tmp_path, source, destination, [topic_name], f"fo-{topic_name[-8:]}")
    members = [Member(link, tmp_path / f"m{i}.log") for i in range(3)]
    writer = Writer(source, [topic_name])
    writer.start()
    try:
        _all_owned(members)
        for i in range(3):   # rolling restart: stop one, start its replacement, wait for the balance
            assert members[i].stop() == 0, members[i].text()[-2000:]
            members[i] = Member(link, tmp_path / f"r{i}.log")
            _all_owned(members)
        time.sleep(1)
        cfg = load_config(link)
        results = command(cfg, "failover", [topic_name])
        assert [r.state.value for r in results] == ["STOPPED"], results
        reported = results[0].offsets
        for m in members:
            m.wait_log(rf"stopping {topic_name} for good", 15)
        time.sleep(2)   # the writer goes on: a member still writing would move the mirror's ends
        ends = _prefix_exact(source, destination, topic_name)
        assert ends == reported, (ends, reported)
        assert all(m.alive() for m in members)
    finally:
        writer.halt.set()
        for m in members:
            m.stop()
