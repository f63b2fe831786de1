"""Bounds of the auditor (issue 14, findings 11 and 12): the running tail audit covers every
partition within ``audit_cycle_ms``; the start-up prefix check reads a bounded number of bytes."""
from __future__ import annotations

import asyncio
import random
import time

from kproto.records import build_batch
from linker.client import Client
from linker.mirror import audit
from linker.mirror.audit import audit_quota, due, sample_offsets

from ...checker import RawCluster, compare_logs, read_log, wait_exact
from .helpers import MIRROR_TOPIC_CONFIGS, BackgroundEngine, engine_for, link_config, write_batches

def simulate(partitions: int, tick: float, cycle: float, rounds: int, joining: int = 0) -> float:
    """The largest age at which any partition was audited (or still waits) over ``rounds`` ticks."""
    audited = {("t", p): 0.0 for p in range(partitions)}
    worst = 0.0
    for r in range(1, rounds + 1):
        now = r * tick
        if r == rounds // 2:
            audited.update({("new", p): now for p in range(joining)})
        live = list(audited)
        for tp in due(audited, live, audit_quota(len(live), tick, cycle)):
            worst = max(worst, now - audited[tp])
            audited[tp] = now
    return max(worst, max(rounds * tick - t for t in audited.values()))


def test_every_partition_is_audited_within_the_cycle_at_10000_partitions():
    tick, cycle = 5.0, 600.0
    assert audit_quota(10_000, tick, cycle) == 84      # 16.8 partitions/s, two 64 KiB fetches each
    assert simulate(10_000, tick, cycle, rounds=int(3 * cycle / tick)) <= cycle + tick
    assert simulate(10_000, tick, cycle, rounds=int(3 * cycle / tick), joining=2_000) <= cycle + tick
    assert audit_quota(0, tick, cycle) == 0
    assert audit_quota(3, tick, cycle) == 1


def test_sample_offsets_stay_in_range():
    rng = random.Random(1)
    assert sample_offsets(10, 9, 8, rng) == []
    assert sample_offsets(10, 12, 8, rng) == [10, 11, 12]
    picked = sample_offsets(0, 10_000, 8, rng)
    assert len(set(picked)) == 8 and picked == sorted(picked) and all(0 <= o <= 10_000 for o in picked)


def test_audit_coverage_is_reported_and_bounded(source, destination, topic_name):
    """40 partitions, a 2 s cycle audited in 0.2 s ticks (4 partitions a tick): /status and
    /metrics show every partition audited within the cycle, at the rate the bound needs."""
    source.create_topic(topic_name, partitions=40)
    ts = int(time.time() * 1000)
    for p in range(40):
        asyncio.run(write_batches(source.bootstrap, (topic_name, p), [bytes(build_batch([b"r%d" % i for i in range(10)],
                                                                              base_timestamp=ts))]))
    cfg = link_config(source, destination, names=[topic_name], audit_interval_ms=200, audit_cycle_ms=2000)
    with BackgroundEngine(engine_for(cfg)) as bg:
        bg.wait_caught_up(cfg.source, 400)
        deadline = time.monotonic() + 60
        while True:
            cov = bg.engine.status_doc()["audit"]
            if cov["partitions"] == 40 and cov["audited_last_minute"] >= 80:
                break
            assert time.monotonic() < deadline, cov
            time.sleep(0.5)
        assert cov["oldest_audit_age_s"] <= 2.0 + 0.2 + 0.5, cov     # cycle + tick + a slow round
        assert cov["cycle_s"] == 2.0
        m = bg.engine.metrics
        assert m.audit_partitions_total.get(result="ok") >= 80
        assert m.audit_partitions_total.get(result="differs") is None
        assert m.audit_oldest_age.get() <= 2.7
        assert "linker_audit_oldest_age_seconds" in m.render()
    wait_exact(source, destination, [topic_name], timeout=60, min_records=400)


def test_restart_prefix_check_reads_a_bounded_window_and_finds_a_corrupt_batch(source, destination, topic_name,
                                                                                 monkeypatch):
    """Partition 0 holds 3 MB on both sides: the start-up check must read at most its bound
    (head window + samples + the tail check), not the history. Partition 1 differs in its
    third batch, inside the head window: FAILED."""
    head, samples = 128 * 1024, 4
    monkeypatch.setattr(audit, "PREFIX_HEAD_BYTES", head)
    monkeypatch.setattr(audit, "PREFIX_SAMPLES", samples)
    source.create_topic(topic_name, partitions=2)
    destination.create_topic(topic_name, partitions=2, configs=MIRROR_TOPIC_CONFIGS)
    ts = int(time.time() * 1000)

    def big(i: int) -> bytes:
        return bytes(build_batch([b"%06d-%03d-" % (i, r) + b"v" * 1000 for r in range(20)], base_timestamp=ts))
    p0 = [big(i) for i in range(150)]
    p1 = [big(i) for i in range(20)]
    p1_dest = list(p1)
    p1_dest[2] = bytes(build_batch([b"other-%03d-" % r + b"v" * 1000 for r in range(20)], base_timestamp=ts))

    asyncio.run(write_batches(source.bootstrap, (topic_name, 0), p0))
    asyncio.run(write_batches(destination.bootstrap, (topic_name, 0), p0))
    asyncio.run(write_batches(source.bootstrap, (topic_name, 1), p1))
    asyncio.run(write_batches(destination.bootstrap, (topic_name, 1), p1_dest))

    read = {0: 0, 1: 0}
    original = Client.fetch_partition

    async def counting(self, tp, offset, max_bytes, **kw):
        part = await original(self, tp, offset, max_bytes, **kw)
        if tp[0] == topic_name:
            read[tp[1]] += len(part.records or b"")
        return part
    monkeypatch.setattr(Client, "fetch_partition", counting)

    cfg = link_config(source, destination, names=[topic_name], audit_interval_ms=600_000)
    with BackgroundEngine(engine_for(cfg)) as bg:
        deadline = time.monotonic() + 90
        pm1 = None
        while pm1 is None or pm1.status.state.value != "FAILED":
            assert time.monotonic() < deadline, bg.engine.status_doc()
            time.sleep(0.2)
            pm1 = bg.engine.partitions.get((topic_name, 1))
        assert "not an exact prefix" in pm1.status.reason and "offset 40" in pm1.status.reason, pm1.status.reason
        last, quiet_since = -1, time.monotonic()
        while time.monotonic() - quiet_since < 3:      # partition 0's check has finished
            assert time.monotonic() < deadline, (read, bg.engine.status_doc())
            if read[0] != last:
                last, quiet_since = read[0], time.monotonic()
            time.sleep(0.2)
        assert bg.engine.partitions[(topic_name, 0)].status.state.value == "MIRRORING"
        # Both start-up checks are counted in /status (their progress): none waits or runs any more.
        assert bg.engine.status_doc()["audit"]["prefix_checks"] == {"pending": 0, "running": 0, "done": 2}
    batch = len(p0[0])
    history = sum(len(b) for b in p0)
    bound = 2 * (head + batch) + 2 * samples * (audit.AUDIT_FETCH_BYTES + batch) + 2 * batch   # + tail check
    assert 0 < read[0] <= bound < history, (read, bound, history)
    with RawCluster(source.bootstrap) as src, RawCluster(destination.bootstrap) as dst:
        check = compare_logs(read_log(src, topic_name, 0), read_log(dst, topic_name, 0))
    assert check.exact, check
