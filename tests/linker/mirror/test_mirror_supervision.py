"""Structured concurrency in the engine, without brokers: a component that
fails unexpectedly stops the engine loudly (run() raises it, the shutdown
hooks still run), and a stop request ends every loop."""
from __future__ import annotations

import asyncio

import pytest

from linker.settings import parse_config
from linker.mirror.signals import Signal

from .helpers import engine_for

CONFIG = parse_config({"source": {"bootstrap_servers": ["127.0.0.1:1"]},
                       "destination": {"bootstrap_servers": ["127.0.0.1:2"]},
                       "topics": {"names": ["t"]}})


def quiet_engine():
    """An engine whose start-up and loops touch no cluster."""
    eng = engine_for(CONFIG)

    async def nothing() -> None:
        return None

    async def forever() -> None:
        await asyncio.Event().wait()
    eng._setup = nothing  # type: ignore[method-assign]
    for component, name in ((eng.fetcher, "run"), (eng.locator, "resync_loop"), (eng.lag, "run"),
                            (eng.auditor, "run_prefix_checks"), (eng.auditor, "run_tail_audit")):
        setattr(component, name, forever)
    return eng


def test_a_failing_component_stops_the_engine_and_run_raises_it():
    async def go():
        eng = quiet_engine()
        closed = []

        async def boom() -> None:
            await eng.started.wait()
            raise RuntimeError("lag watch broke")
        eng.lag.run = boom

        async def hook() -> None:
            closed.append(True)
        eng.before_close.append(hook)
        with pytest.raises(RuntimeError, match="lag watch broke"):
            await asyncio.wait_for(eng.run(), 10)
        assert isinstance(eng.crashed, RuntimeError) and closed == [True]
    asyncio.run(go())


def test_stop_ends_every_loop():
    async def go():
        eng = quiet_engine()
        stop = asyncio.Event()
        task = asyncio.create_task(eng.run(stop))
        await asyncio.wait_for(eng.started.wait(), 10)
        stop.set()
        await asyncio.wait_for(task, 10)
        assert eng.crashed is None
    asyncio.run(go())


def test_a_signal_wakes_every_current_waiter_once():
    async def go():
        sig = Signal()
        woken = []

        async def waiter(i: int) -> None:
            await sig.wait()
            woken.append(i)
        tasks = [asyncio.create_task(waiter(i)) for i in range(3)]
        await asyncio.sleep(0)
        sig.notify()
        await asyncio.wait_for(asyncio.gather(*tasks), 1)
        assert sorted(woken) == [0, 1, 2]
        late = asyncio.ensure_future(sig.wait())   # a new round: not woken by the old notify
        await asyncio.sleep(0.01)
        assert not late.done()
        sig.notify()
        await asyncio.wait_for(late, 1)
    asyncio.run(go())
