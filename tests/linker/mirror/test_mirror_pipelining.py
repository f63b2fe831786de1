"""Pipelined produces (``pipeline.py``) against real brokers: a run of one idempotent producer
goes several batches deep, and a batch N the destination did not write makes the real broker
refuse N+1 (OUT_OF_ORDER_SEQUENCE_NUMBER): nothing lands out of place, the partition re-reads
the destination end and the mirror ends exact (judged by tests/checker.py)."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from kproto.errors import ErrorCode
from kproto.records.batch import BatchView

from kafkabed.broker_faults import move_leader
from linker.mirror.producer import Producer
from tests.checker import check_mirror, wait_exact

from .helpers import (RECORDS, BackgroundEngine, caught_up, deepest_flight, engine_for, idempotent_batches, link_config, run_until,
                      write_batches)


def test_an_idempotent_run_is_pipelined_and_stays_exact(source, destination, topic_name, monkeypatch):
    source.create_topic(topic_name, partitions=1)
    asyncio.run(write_batches(source.bootstrap, (topic_name, 0), idempotent_batches()))
    deepest = deepest_flight(monkeypatch)
    engine = engine_for(link_config(source, destination, names=[topic_name]))
    asyncio.run(run_until(engine, caught_up(), 90))
    assert deepest[0] == 5, deepest
    check = check_mirror(source, destination, [topic_name])
    assert check.exact, str(check)


def test_batch_n_not_written_makes_the_broker_refuse_n_plus_1(source, destination, topic_name, monkeypatch):
    """Request N is held back and answered NOT_LEADER_OR_FOLLOWER (as a broker that lost the
    leadership answers, writing nothing) once N+1 is on its way to the real broker, which must
    refuse N+1; the answers reach the engine in the order a connection delivers them."""
    source.create_topic(topic_name, partitions=1)
    asyncio.run(write_batches(source.bootstrap, (topic_name, 0), idempotent_batches()))
    deepest = deepest_flight(monkeypatch)
    engine = engine_for(link_config(source, destination, names=[topic_name]))
    real_produce = engine.dest.produce
    target = 20 * RECORDS              # the base sequence of batch N
    seen: dict[str, Any] = {}

    async def produce(node: int, batches: dict, **kw: Any):
        [(tp, chunks)] = batches.items()
        sequence = BatchView(b"".join(bytes(c) for c in chunks)).base_sequence
        if sequence == target and "n" not in seen:
            seen["n"] = (asyncio.Event(), asyncio.Event())    # N+1 sent, N answered
            try:
                await asyncio.wait_for(seen["n"][0].wait(), 10)
            finally:
                seen["n"][1].set()
            return {tp: SimpleNamespace(error_code=ErrorCode.NOT_LEADER_OR_FOLLOWER, base_offset=-1)}
        if "n" in seen and "n+1" not in seen and sequence == target + RECORDS:
            pending = asyncio.ensure_future(real_produce(node, batches, **kw))
            seen["n"][0].set()
            answer = await pending
            seen["n+1"] = answer[tp].error_code
            await seen["n"][1].wait()          # a connection answers N before N+1
            return answer
        return await real_produce(node, batches, **kw)

    engine.dest.produce = produce                  # type: ignore[method-assign]
    asyncio.run(run_until(engine, caught_up(), 90))
    assert seen.get("n+1") == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, seen
    assert deepest[0] >= 2
    assert {pm.status.state.value for pm in engine.partitions.values()} == {"STOPPED"}
    check = check_mirror(source, destination, [topic_name])
    assert check.exact, str(check)


def test_destination_leader_moves_under_pipelined_runs(source, cluster3, topic_name, monkeypatch):
    """Real NOT_LEADER_OR_FOLLOWER answers: the destination leader of a partition is moved three
    times while bursts of one idempotent producer's batches are mirrored into it pipelined. Every
    batch answered NOT_LEADER with more of its run in flight behind it must leave nothing out of
    place: the partition re-locates at the new leader and the mirror ends exact."""
    source.create_topic(topic_name, partitions=1)
    deepest = deepest_flight(monkeypatch)
    refused_in_run: list[int] = []
    settle = Producer._settle

    def watching(self, pm, b, code, base, tasks):
        if code == ErrorCode.NOT_LEADER_OR_FOLLOWER and pm.flight:
            refused_in_run.append(len(pm.flight))
        return settle(self, pm, b, code, base, tasks)
    monkeypatch.setattr(Producer, "_settle", watching)
    bursts = [idempotent_batches(40 * (i + 1))[40 * i:] for i in range(8)]   # contiguous sequences
    cfg = link_config(source, cluster3, names=[topic_name])
    nodes = [b.node_id for b in cluster3.brokers]
    with BackgroundEngine(engine_for(cfg)) as bg:
        for i, burst in enumerate(bursts):
            asyncio.run(write_batches(source.bootstrap, (topic_name, 0), burst))
            if i in (1, 3, 5):
                leader = cluster3.partition_leaders(topic_name).get(0)
                move_leader(cluster3, topic_name, 0, to_node=next(n for n in nodes if n != leader))
        wait_exact(source, cluster3, [topic_name], timeout=90, min_records=8 * 40 * RECORDS)
        states = {pm.status.state.value for pm in bg.engine.partitions.values()}
    assert states == {"MIRRORING"}, bg.engine.status_doc()
    assert deepest[0] >= 3, deepest
    # Measured: two or three of the three moves land inside a run ([4, 3, 2, 1] batches behind each).
    assert refused_in_run and max(refused_in_run) >= 2, f"no move hit a pipelined run: {refused_in_run}"
    check = check_mirror(source, cluster3, [topic_name])
    assert check.exact, str(check)
