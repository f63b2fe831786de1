"""The engine's reaction to a DivergingEpoch in a fetch response (source
truncation by an unclean leader election), driven through the fetcher's
partition handler with a decoded FetchResponse partition; no broker is involved."""
from __future__ import annotations

import asyncio

from kproto import messages
from linker.settings import parse_config
from linker.mirror.engine import MirrorEngine
from linker.mirror.partition import PartitionMirror
from linker.mirror.state import PartitionState

from .helpers import engine_for

TP = ("t", 0)


def engine_with(produced_end: int, next_fetch: int) -> tuple[MirrorEngine, PartitionMirror]:
    cfg = parse_config({"source": {"bootstrap_servers": ["127.0.0.1:1"]},
                        "destination": {"bootstrap_servers": ["127.0.0.1:2"]},
                        "topics": {"names": ["t"]}})
    eng = engine_for(cfg)
    pm = eng.table.add(TP)
    eng.table.move(pm, PartitionState.MIRRORING)
    pm.acked_end = pm.produced_end = produced_end
    pm.produced_epoch = 2
    pm.next_fetch = next_fetch
    pm.fetch_epoch = 3
    return eng, pm


def diverging(epoch: int, end_offset: int):
    R = messages.FetchResponse
    return R.PartitionData(partition_index=0, error_code=0, high_watermark=500, last_stable_offset=500,
                           log_start_offset=0, diverging_epoch=R.EpochEndOffset(epoch=epoch, end_offset=end_offset),
                           records=None)


def test_divergence_above_the_destination_refetches():
    async def go():
        eng, pm = engine_with(100, 150)
        eng.fetcher.on_partition(TP, diverging(3, 120), 150, None)
        assert pm.status.state is PartitionState.MIRRORING
        assert (pm.next_fetch, pm.fetch_epoch) == (100, 2)
    asyncio.run(go())


def test_divergence_below_the_destination_is_diverged():
    async def go():
        eng, pm = engine_with(100, 150)
        eng.fetcher.on_partition(TP, diverging(3, 90), 150, None)
        assert pm.status.state is PartitionState.DIVERGED
        assert pm.status.offset == 90
        assert "90" in pm.status.reason and "100" in pm.status.reason
    asyncio.run(go())


def test_stale_response_is_ignored():
    async def go():
        eng, pm = engine_with(100, 150)
        eng.fetcher.on_partition(TP, diverging(3, 90), 140, None)   # answers an older fetch position
        assert pm.status.state is PartitionState.MIRRORING
    asyncio.run(go())


def test_divergence_above_the_destination_of_a_compacted_partition_relocates():
    """The producer sequences planned with the dropped batches (``compacted``) must be re-read
    from the destination, not kept: a re-locate does that."""
    async def go():
        eng, pm = engine_with(100, 150)
        pm.compacted = True
        pm.dest_producers = {7: (0, 40)}          # as planned up to 150, not as stored up to 100
        eng.fetcher.on_partition(TP, diverging(3, 120), 150, None)
        assert pm.status.state is PartitionState.MIRRORING and pm.resync_needed
    asyncio.run(go())
