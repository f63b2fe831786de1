"""Scale-out: two leaders of one group overlapping in time (a leader frozen mid-claim, resumed
after the group elected another) race for the owner record. The group decides who leads, so a
claim lost to a member of the same group is no conflict: the member that still leads claims again,
a stale one stays in the group, and nobody stops. (Before, the loser exited with "another linker
claimed it at the same time" -- found by the kill -9 / SIGSTOP scale-out test under load.)

Real destination cluster; the other member's claim is written with a plain kafka-python producer,
as another process writes it. The group member is a stand-in with the attributes the controller
reads (the coordinator is not involved in the owner record)."""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaProducer

from linker.lifecycle.controller import LifecycleController
from linker.lifecycle.records import OWNER_KEY
from linker.settings import GroupSettings

from ..lifecycle.helpers import link_config, state_of
from ..mirror.helpers import engine_for

GROUP = "kafka-linker-race"


@dataclass
class _Member:
    """What ``LifecycleController.on_assignment`` reads of ``linker.group.member.GroupMember``."""
    leads: list[bool]            # is_leader() answers, one per call (the last one repeats)
    settings: Any = field(default_factory=lambda: GroupSettings(group_id=GROUP))
    generation: int = 4
    member_id: str = "me"
    owners: dict = field(default_factory=dict)
    members: dict = field(default_factory=dict)

    def is_leader(self) -> bool:
        return self.leads.pop(0) if len(self.leads) > 1 else self.leads[0]


def _other_claim(destination, topic: str, epoch: int) -> None:
    """Another member of the same group claims ``epoch`` (the documented owner record)."""
    claim = {"v": 1, "epoch": epoch, "id": "other-member", "host": "elsewhere", "pid": 1, "beat": 0,
             "poll_ms": 300, "released": False, "group": GROUP}
    p = KafkaProducer(**destination.kafka_python_config(), acks="all")
    try:
        p.send(topic, key=OWNER_KEY, value=json.dumps(claim).encode()).get(timeout=30)
    finally:
        p.close()


def _race(source, destination, name: str, member: _Member, races: int, then: Any = None) -> LifecycleController:
    """A controller whose first ``races`` owner claims each lose to the other member's claim of the
    same epoch, landed just before ours (the state topic keeps the first claim of an epoch); then
    ``then(ctl)``."""
    config = link_config(source, destination, name, [name])
    engine = engine_for(config)
    ctl = LifecycleController(engine, config, engine.source, engine.dest)
    ctl.group = member
    write = ctl.store.write
    left = [races]

    async def racing_write(records: list) -> None:
        mine = [json.loads(v) for k, v in records if k == OWNER_KEY and v is not None]
        if mine and left[0] > 0:
            left[0] -= 1
            await asyncio.to_thread(_other_claim, destination, ctl.store.topic, mine[0]["epoch"])
        await write(records)

    ctl.store.write = racing_write   # type: ignore[method-assign]

    async def go() -> None:
        try:
            await ctl.prepare()
            await ctl.on_assignment(member)
            if then is not None:
                await then(ctl)
        finally:
            await engine.source.close()
            await engine.dest.close()
    asyncio.run(go())
    return ctl


def _state(source, destination, name: str):
    return state_of(link_config(source, destination, name, [name]))


def test_the_leader_claims_again_after_losing_to_a_stale_leader(source, destination, topic_name):
    name = f"race-{topic_name[-8:]}"
    ctl = _race(source, destination, name, _Member([True]), races=1)
    assert ctl.fenced is None and not ctl.engine._stopping.is_set()
    assert ctl.owner is not None and ctl.owner.epoch == 2 and ctl.owner.group == GROUP
    state = _state(source, destination, name)
    assert (state.owner.epoch, state.owner.owner_id) == (2, ctl.owner.owner_id)   # epoch 1 went to the other
    assert state.group is not None and state.group.generation == 4   # the leader recorded the group


def test_a_stale_leader_losing_the_race_stays_in_the_group(source, destination, topic_name):
    name = f"race-{topic_name[-8:]}"
    # Leads at the assignment; by the time its claim is read back its lease has ended.
    ctl = _race(source, destination, name, _Member([True, True, False]), races=1)
    assert ctl.fenced is None and not ctl.engine._stopping.is_set()
    assert ctl.owner is None
    state = _state(source, destination, name)
    assert (state.owner.epoch, state.owner.owner_id) == (1, "other-member")   # the newer leader's claim stands
    assert state.group is None                                                # a stale leader records no group


def test_a_leader_whose_claim_was_overwritten_claims_again_at_its_next_poll(source, destination, topic_name):
    name = f"race-{topic_name[-8:]}"

    async def overwritten_then_poll(ctl: LifecycleController) -> None:
        assert ctl.owner is not None and ctl.owner.epoch == 1
        # A stale leader that read the state after our claim writes the next epoch.
        await asyncio.to_thread(_other_claim, destination, ctl.store.topic, 2)
        await ctl.poll_once()

    ctl = _race(source, destination, name, _Member([True]), races=0, then=overwritten_then_poll)
    assert ctl.fenced is None and not ctl.engine._stopping.is_set()
    owner = _state(source, destination, name).owner
    assert ctl.owner is not None and (owner.epoch, owner.owner_id) == (3, ctl.owner.owner_id)
