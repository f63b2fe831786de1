"""Scale-out pieces without brokers: the leader's assignment (sticky, balanced, cooperative),
the member protocol's format, the [group] table, the write gate and the member label."""
from __future__ import annotations

import time

import pytest

from linker.client import WriteFenced, WriteGate
from linker.group.assign import Claim, balance_rates, current_owners, plan
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


def test_bytes_per_second_balance_swaps_between_the_heaviest_and_the_lightest():
    hot = {("t", 0): 100.0, ("t", 1): 100.0, ("t", 2): 1.0, ("t", 3): 1.0}
    target = {("t", 0): "a", ("t", 1): "a", ("t", 2): "b", ("t", 3): "b"}
    assert balance_rates(target, set(target), hot) == 1
    assert sorted(hot[tp] for tp, m in target.items() if m == "a") == [1.0, 100.0]   # counts kept: 2 and 2
    even = {("t", 0): 10.0, ("t", 1): 9.0, ("t", 2): 8.0, ("t", 3): 9.0}
    target = {("t", 0): "a", ("t", 1): "a", ("t", 2): "b", ("t", 3): "b"}
    assert balance_rates(target, set(target), even) == 0          # within the tolerance: sticky
    assert balance_rates(target, set(target), {}) == 0            # nothing measured: counts only
    pinned = {("t", 0): "a", ("t", 1): "a", ("t", 2): "b", ("t", 3): "b"}
    assert balance_rates(pinned, {("t", 2), ("t", 3)}, hot) == 0  # pinned partitions never move


def test_a_plan_moves_hot_partitions_after_their_owner_gave_them_up():
    claims = {"a": Claim(2, {("t", 0), ("t", 1)}, {("t", 0): 100.0, ("t", 1): 100.0}),
              "b": Claim(2, {("t", 2), ("t", 3)}, {("t", 2): 1.0, ("t", 3): 1.0})}
    p = plan(claims, {("t", p) for p in range(4)}, "a")
    assert len(p.withheld) == 2 and sum(len(a) for a in p.assignment.values()) == 2


def test_protocol_round_trip_and_bad_input():
    info = MemberInfo(Claim(4, {("t", 1)}, {("t", 1): 1234.5}), "h", 7, "i")
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


class _Engine:
    """What GroupMember needs of the engine, without clusters."""

    def __init__(self, parts: set) -> None:
        self.partitions = {tp: None for tp in parts}
        self.stopped_topics: set[str] = set()
        self.metrics = MirrorMetrics()
        self.mine: set = set()
        self.revoked: list[set] = []
        self.gate: WriteGate | None = None
        self.drops_with_gate_closed = 0

    def own_only(self) -> None:
        self.mine = set()

    def assign(self, tps: set) -> None:
        self.mine |= tps

    async def revoke(self, tps: set) -> None:
        self.revoked.append(set(tps))
        self.mine -= tps

    def drop_all(self) -> None:
        if self.mine and self.gate is not None and not self.gate.is_open():
            self.drops_with_gate_closed += 1
        self.mine = set()

    async def quiet(self) -> None:
        pass

    def owned(self) -> set:
        return set(self.mine)


class _Coordinator:
    """A GroupClient answering from a script: one member, always its leader."""

    def __init__(self, heartbeat_code: int) -> None:
        self.heartbeat_code = heartbeat_code
        self.heartbeats = 0

    async def join(self, member_id, session_ms, rebalance_ms, protocols, reason=None):
        from linker.client import JoinResult
        if not member_id:
            return JoinResult(79, member_id="m-1")   # MEMBER_ID_REQUIRED
        return JoinResult(0, 1, member_id, member_id, protocols[0][0], [(member_id, protocols[0][1])])

    async def sync(self, member_id, generation, protocol, assignments):
        return 0, assignments[member_id]

    async def heartbeat(self, member_id, generation, timeout):
        self.heartbeats += 1
        return self.heartbeat_code

    async def leave(self, member_id, reason):
        return 0


def _member(heartbeat_code: int, lease_ms: int = 300):
    import asyncio
    from linker.group.member import GroupMember
    from linker.settings.group import GroupSettings
    engine = _Engine(PARTS)
    gate = engine.gate = WriteGate(0.0)
    settings = GroupSettings("g", session_timeout_ms=1000, heartbeat_interval_ms=100, lease_ms=lease_ms)
    return asyncio, engine, gate, GroupMember(engine, settings, _Coordinator(heartbeat_code), gate)


def test_a_member_alone_owns_everything_and_keeps_its_lease():
    asyncio, engine, gate, member = _member(heartbeat_code=0)

    async def go():
        stop = asyncio.Event()
        task = asyncio.create_task(member.run(stop))
        await asyncio.sleep(0.8)   # longer than the lease: heartbeats renew it
        assert engine.owned() == PARTS and gate.is_open() and member.is_leader()
        stop.set()
        await task
    asyncio.run(go())


def test_lease_ends_without_confirmed_heartbeats_and_every_partition_drops():
    # REBALANCE_IN_PROGRESS forever would rejoin; a coordinator error code answers but confirms nothing.
    asyncio, engine, gate, member = _member(heartbeat_code=15)   # COORDINATOR_NOT_AVAILABLE

    async def go():
        stop = asyncio.Event()
        task = asyncio.create_task(member.run(stop))
        await asyncio.sleep(0.1)
        assert engine.owned() == PARTS and gate.is_open()
        await asyncio.sleep(0.5)   # past the 300 ms lease from the SyncGroup's send time
        assert engine.owned() == set() and not gate.is_open() and not member.is_leader()
        assert engine.metrics.group_lease_ended_total.get() == 1
        with pytest.raises(WriteFenced):
            gate.check()
        stop.set()
        await task
    asyncio.run(go())


def test_unknown_member_drops_everything_at_once():
    asyncio, engine, gate, member = _member(heartbeat_code=25, lease_ms=900)   # UNKNOWN_MEMBER_ID

    async def go():
        stop = asyncio.Event()
        task = asyncio.create_task(member.run(stop))
        await asyncio.sleep(0.3)   # heartbeats answer UNKNOWN_MEMBER_ID long before the 900 ms lease ends
        stop.set()
        await task
    asyncio.run(go())
    # Dropped with the gate already closed (nothing can be sent in between), then rejoined.
    assert engine.drops_with_gate_closed >= 1
    assert engine.metrics.group_rebalances_total.get() >= 2
