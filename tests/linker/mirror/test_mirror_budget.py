import asyncio

import pytest

from linker.mirror.budget import ByteBudget, RoundRobin, partition_share


def test_round_robin_one_per_key_and_rotates():
    rr = RoundRobin()
    for i in range(5):
        rr.push("hot", ("hot", i))
    rr.push("a", ("a", 0))
    rr.push("b", ("b", 0))
    first = rr.take_round(10**9, lambda item: 1)
    assert [k for k, _ in first] == ["hot", "a", "b"]
    second = rr.take_round(10**9, lambda item: 1)
    assert second == [("hot", ("hot", 1))]
    rr.push("a", ("a", 1))
    third = rr.take_round(10**9, lambda item: 1)
    assert [k for k, _ in third] == ["hot", "a"]


def test_round_robin_byte_cap_does_not_starve():
    rr = RoundRobin()
    rr.push("hot", 100)
    rr.push("hot", 100)
    rr.push("cold", 1)
    got = rr.take_round(100, lambda n: n)
    assert got == [("hot", 100)]
    # the cold partition is first next time, the hot one went to the back
    got = rr.take_round(100, lambda n: n)
    assert got[0] == ("cold", 1)


def test_round_robin_blocked_and_drop():
    rr = RoundRobin()
    rr.push("a", 1)
    rr.push("b", 2)
    assert rr.take_round(10, lambda n: n, blocked={"a"}) == [("b", 2)]
    assert rr.drop("a") == [1]
    assert len(rr) == 0


def test_share():
    assert partition_share(1000, 10, 50) == 100
    assert partition_share(1000, 100, 50) == 50
    assert partition_share(1000, 0, 50) == 1000


def test_budget_full_room_and_backpressure():
    async def main():
        b = ByteBudget(100)
        b.take(80)
        assert not b.full
        b.take(50)            # a fetch response may overshoot; the next fetch then waits
        assert b.full
        waiter = asyncio.create_task(b.wait_for_room())
        await asyncio.sleep(0.01)
        assert not waiter.done()
        b.give(50)
        await asyncio.wait_for(waiter, 1)
        assert b.used == 80
        with pytest.raises(RuntimeError, match="only 80"):
            b.give(81)
        with pytest.raises(ValueError):
            ByteBudget(0)
    asyncio.run(main())
