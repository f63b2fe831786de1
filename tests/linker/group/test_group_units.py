"""Scale-out pieces without brokers: the leader's assignment (sticky, balanced, cooperative),
the member protocol's format, the [group] table, the write gate and the member label."""
from __future__ import annotations

import time

import pytest

from linker.client import WriteFenced, WriteGate
from linker.group.assign import Claim, current_owners, plan
from linker.group.protocol import (Assignment, MemberInfo, ProtocolFormatError, decode_assignment, decode_member,
                                   encode_assignment, encode_member)
from linker.metrics import MirrorMetrics
from linker.settings import ConfigError, parse_config

PARTS = {("t", p) for p in range(10)}


def _apply_rounds(claims: dict[str, Claim], leader: str, rounds: int = 4) -> dict[str, set]:
    """Run rebalances as members do: each takes its assignment, owners give up what they lost."""
    gen = max(c.generation for c in claims.values()) + 1
    for _ in range(rounds):
        p = plan(claims, PARTS, leader)
        assert len(p.owners()) == sum(len(a) for a in p.assignment.values()), "a partition given twice"
        before = dict(claims)
        for m, tps in p.assignment.items():
            for other, c in before.items():   # never given while another member still claims it
                assert other == m or not (tps & c.owned), (m, other)
            claims[m] = Claim(gen, set(tps))
        gen += 1
        if not p.withheld:
            break
    return {m: c.owned for m, c in claims.items()}


def test_a_new_member_gets_partitions_only_after_the_owner_gave_them_up():
    claims = {"a": Claim(1, set(PARTS)), "b": Claim(-1)}
    p = plan(claims, PARTS, "a")
    assert p.assignment["b"] == set()            # first round: nothing is given away yet
    assert len(p.assignment["a"]) == 5 and len(p.withheld) == 5
    final = _apply_rounds(claims, "a")
    assert sorted(len(v) for v in final.values()) == [5, 5]
    assert final["a"] | final["b"] == PARTS


def test_sticky_and_balanced_on_join_and_leave():
    claims = {"a": Claim(3, {("t", p) for p in range(5)}), "b": Claim(3, {("t", p) for p in range(5, 10)}),
              "c": Claim(-1)}
    final = _apply_rounds(claims, "a")
    assert sorted(len(v) for v in final.values()) == [3, 3, 4]
    assert final["a"] <= {("t", p) for p in range(5)}          # nobody moved without need
    assert final["b"] <= {("t", p) for p in range(5, 10)}
    del claims["c"]                                            # c leaves: its partitions are free at once
    p = plan(claims, PARTS, "a")
    assert not p.withheld and p.owners().keys() == PARTS


def test_a_stale_claim_loses_to_a_newer_generation():
    claims = {"a": Claim(2, {("t", 0)}), "b": Claim(5, {("t", 0)})}
    assert current_owners(claims, PARTS) == {("t", 0): "b"}


def test_pinned_partitions_go_to_the_leader_after_their_owner_gives_them_up():
    claims = {"a": Claim(1, {("t", p) for p in range(5)}), "b": Claim(1, {("t", p) for p in range(5, 10)})}
    p = plan(claims, PARTS, "a", pinned={("t", 9)})
    assert ("t", 9) in p.withheld and p.target[("t", 9)] == "a"


def test_protocol_round_trip_and_bad_input():
    info = MemberInfo(Claim(4, {("t", 1)}), "h", 7, "i")
    assert decode_member(encode_member(info)) == info
    a = Assignment({("t", 2)}, "L", 9, {"L": 1})
    assert decode_assignment(encode_assignment(a)) == a
    with pytest.raises(ProtocolFormatError, match="member metadata"):
        decode_member(b"nope")
    with pytest.raises(ProtocolFormatError, match="assignment"):
        decode_assignment(b'{"v": 2}')


def _cfg(group: dict) -> dict:
    return {"name": "n", "source": {"bootstrap_servers": "a:1"}, "destination": {"bootstrap_servers": "b:1"},
            "topics": {"names": ["x"]}, "group": group}


def test_group_table():
    g = parse_config(_cfg({})).group
    assert g is not None and g.group_id == "kafka-linker-n" and g.heartbeat_interval_ms * 3 <= g.session_timeout_ms
    assert g.heartbeat_interval_ms < g.lease_ms < g.session_timeout_ms
    assert parse_config({k: v for k, v in _cfg({}).items() if k != "group"}).group is None
    with pytest.raises(ConfigError, match="group.lease_ms"):
        parse_config(_cfg({"session_timeout_ms": 6000, "lease_ms": 6000}))
    with pytest.raises(ConfigError, match="group.heartbeat_interval_ms"):
        parse_config(_cfg({"session_timeout_ms": 6000, "heartbeat_interval_ms": 3000}))
    with pytest.raises(ConfigError, match="group.members: unknown key"):
        parse_config(_cfg({"members": 3}))


def test_write_gate_closes_when_the_lease_ends():
    gate = WriteGate(0.0)
    with pytest.raises(WriteFenced):
        gate.check()
    gate.renew(time.monotonic() + 60)
    gate.check()
    gate.renew(time.monotonic() - 1)   # an older confirmation never shortens the lease
    assert gate.is_open()
    gate.close()
    assert not gate.is_open()
    assert WriteGate().is_open()        # a linker alone


def test_member_label_on_every_sample():
    m = MirrorMetrics()
    m.errors_total.inc(api="Produce", error="WriteFenced")
    m.registry.const_labels["member"] = "abc"
    text = m.render()
    assert 'linker_errors_total{api="Produce",error="WriteFenced",member="abc"} 1' in text
    assert 'linker_waiting_for_cluster{member="abc"} 0' in text
