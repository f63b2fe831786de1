"""The engine in-process against real Apache Kafka clusters (kafkabed session clusters)."""
from __future__ import annotations

import asyncio
import time

import pytest

from kafkabed.producers import consume, make_records, produce
from kproto.records.batch import BatchView
from kproto.records.reproducibility import classify
from kproto.records.walk import walk_batches
from linker.mirror.engine import MirrorEngine
from linker.client import EARLIEST_TIMESTAMP, LATEST_TIMESTAMP
from linker.connect import connect
from linker.verify import verify_link

from tests.checker import check_mirror

from .helpers import caught_up, engine_for, link_config, run_until


def mirror(cfg, timeout=90.0, done=None) -> MirrorEngine:
    engine = engine_for(cfg)
    asyncio.run(run_until(engine, done or caught_up(), timeout))
    return engine


def assert_verified(cfg, min_batches=1, allow_lag=False):
    """The mirror is exact (complete); with `allow_lag`, exact so far (a BLOCKED partition stops
    short of the source's end: verify exits 3 for it, 0 with --allow-lag)."""
    report = asyncio.run(verify_link(cfg))
    assert report.exit_code(allow_lag) == 0, report.render(allow_lag)
    assert sum(p.checked_batches for p in report.partitions) >= min_batches
    return report


def offsets(cluster_settings, tps):
    async def go():
        io = connect(cluster_settings, "probe")
        try:
            await io.refresh_metadata()
            return (await io.offsets(tps, EARLIEST_TIMESTAMP)), (await io.offsets(tps, LATEST_TIMESTAMP))
        finally:
            await io.close()
    return asyncio.run(go())


def test_every_codec_and_client_is_mirrored_exactly(source, destination, topic_name):
    source.create_topic(topic_name, partitions=3)
    total = 0
    for client in ("kafka-python", "confluent"):
        for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
            produce(source, topic_name, make_records(60, prefix=f"{client}-{codec}"), client=client,
                    compression=codec, idempotent=(codec in ("lz4", "zstd")))
            total += 60
    cfg = link_config(source, destination, names=[topic_name])
    engine = mirror(cfg)
    assert {pm.status.state.value for pm in engine.partitions.values()} == {"STOPPED"}
    report = assert_verified(cfg, min_batches=10)
    assert sum(p.checked_to for p in report.partitions) == total
    got = consume(destination, topic_name, total)
    assert sorted((c.key, c.value) for c in got) == sorted(
        (r.key, r.value) for cl in ("kafka-python", "confluent")
        for cd in ("none", "gzip", "snappy", "lz4", "zstd") for r in make_records(60, prefix=f"{cl}-{cd}"))
    assert all(c.headers for c in got)


def test_no_codec_runs_while_mirroring(source, destination, topic_name, monkeypatch):
    source.create_topic(topic_name, partitions=1)
    for codec in ("gzip", "snappy", "lz4", "zstd"):
        produce(source, topic_name, 50, compression=codec)
    calls = []

    def trap(name):
        def boom(*a, **k):
            calls.append(name)
            raise AssertionError(f"codec entry point {name} called while mirroring")
        return boom

    import importlib
    import pkgutil
    import zlib

    import cramjam
    import lz4.frame
    import zstandard

    import kproto.records
    cfg = link_config(source, destination, names=[topic_name])
    # Every binding of kproto's codec functions (modules import them by name), and the codec libraries.
    targets = [(importlib.import_module(f"kproto.records.{m.name}"), ("compress", "decompress", "decompress_chunks"))
               for m in pkgutil.iter_modules(kproto.records.__path__)]
    targets += [(kproto.records, ("compress", "decompress", "decompress_chunks")),
                (zlib, ("compress", "decompress", "decompressobj", "compressobj")),
                (lz4.frame, ("compress", "decompress", "LZ4FrameDecompressor", "LZ4FrameCompressor")),
                (zstandard, ("ZstdCompressor", "ZstdDecompressor", "decompress", "compress")),
                (cramjam.snappy, ("compress", "decompress", "compress_raw", "decompress_raw"))]
    from kproto.records.builder import build_batch
    from kproto.records.layout import Codec
    sample = build_batch([b"control"], codec=Codec.ZSTD)
    patched = 0
    with monkeypatch.context() as mp:
        for mod, names in targets:
            for n in names:
                if hasattr(mod, n):
                    mp.setattr(mod, n, trap(f"{mod.__name__}.{n}"))
                    patched += 1
        assert patched >= 20
        with pytest.raises(AssertionError):   # control: decoding a compressed batch is caught
            list(BatchView(sample).records())
        calls.clear()
        engine = mirror(cfg)
    assert calls == []
    assert all(pm.status.state.value == "STOPPED" for pm in engine.partitions.values())
    assert_verified(cfg, min_batches=4)


def test_large_batches(source, destination, topic_name):
    from confluent_kafka import Producer
    source.create_topic(topic_name, partitions=1, configs={"max.message.bytes": 8 * 1024 * 1024})
    p = Producer({**source.confluent_config(), "batch.size": 4 * 1024 * 1024, "linger.ms": 200,
                  "message.max.bytes": 8 * 1024 * 1024, "compression.type": "none"})
    for i in range(12):
        p.produce(topic_name, key=b"k%d" % i, value=bytes([i]) * 400_000)
    assert p.flush(30) == 0
    cfg = link_config(source, destination, names=[topic_name])
    mirror(cfg)
    report = assert_verified(cfg)
    # at least one stored batch is over 1 MiB
    async def biggest():
        io = connect(cfg.destination, "probe")
        try:
            await io.refresh_metadata()
            part = await io.fetch_partition((topic_name, 0), 0, 16 * 1024 * 1024)
            return max(b.size for b in walk_batches(part.records))
        finally:
            await io.close()
    assert asyncio.run(biggest()) > 1024 * 1024
    assert report.partitions[0].checked_to == 12


def test_two_hundred_partitions(source, destination, topic_name):
    source.create_topic(topic_name, partitions=200)
    produce(source, topic_name, 2000, compression="lz4", linger_ms=20)
    cfg = link_config(source, destination, names=[topic_name])
    engine = mirror(cfg, timeout=300)   # generous: the test machine is shared
    assert len(engine.partitions) == 200
    report = assert_verified(cfg, min_batches=200)
    assert sum(p.checked_to - p.checked_from for p in report.partitions) == 2000


def test_source_with_log_start_above_zero_is_aligned(source, destination, topic_name, caplog):
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 1000)
    # Trim the source (the effect of retention: log start > 0).
    from kafka.admin import KafkaAdminClient
    from kafka.structs import TopicPartition
    admin = KafkaAdminClient(**source.kafka_python_config())
    try:
        admin.delete_records({TopicPartition(topic_name, 0): 731})
    finally:
        admin.close()
    produce(source, topic_name, 100)
    cfg = link_config(source, destination, names=[topic_name], filler_batch_records=200, filler_delete_every=400,
                      progress_log_interval_ms=1)
    with caplog.at_level("INFO", logger="linker.mirror"):
        mirror(cfg)
    # The alignment's progress is logged (here after every filler batch: the interval is 1 ms).
    progress = [r.getMessage() for r in caplog.records if f"{topic_name}-0 aligning:" in r.getMessage()]
    import re
    first = re.match(rf"partition {topic_name}-0 aligning: 200/(\d+) offsets \(\d+%\), \d+ offsets/s, ETA \d+s",
                     progress[0])
    assert first, progress
    total = int(first.group(1))
    assert progress[-1].startswith(f"partition {topic_name}-0 aligning: {total}/{total} offsets (100%)"), progress
    tp = (topic_name, 0)
    d_start, d_end = offsets(cfg.destination, [tp])
    assert (d_start[tp], d_end[tp]) == (731, 1100)
    report = assert_verified(cfg)
    assert report.partitions[0].checked_from == 731
    first = consume(destination, topic_name, 1)[0]
    assert first.offset == 731 and first.value is not None  # no filler is readable


def _first_unreproducible(cluster_settings, tp):
    async def go():
        io = connect(cluster_settings, "probe")
        try:
            await io.refresh_metadata()
            pos = 0
            while True:
                part = await io.fetch_partition(tp, pos, 1 << 20)
                batches = [b for b in walk_batches(part.records) if b.next_offset > pos]
                if not batches:
                    return None
                for b in batches:
                    if b.base_offset != pos and b.base_offset > pos:
                        return pos, "compaction"
                    v = classify(b)
                    if not v.exact:
                        return b.base_offset, v.kind.value
                    pos = b.next_offset
        finally:
            await io.close()
    return asyncio.run(go())


def test_transactional_source_is_replayed_after_plain_batches(source, destination, topic_names):
    # Issue 16: this partition used to go BLOCKED at offset 20 (the first transactional batch).
    txn_topic, plain_topic = topic_names("txn"), topic_names("plain")
    source.create_topic(txn_topic, partitions=1)
    source.create_topic(plain_topic, partitions=1)
    produce(source, txn_topic, 20)
    produce(source, txn_topic, 5, transaction="commit")
    produce(source, plain_topic, 40)
    cfg = link_config(source, destination, names=[txn_topic, plain_topic])
    engine = mirror(cfg)
    st = engine.partitions[(txn_topic, 0)].status
    assert st.fidelity.value == "offset-exact (transactional, headers re-stamped)", st
    assert engine.partitions[(plain_topic, 0)].status.fidelity.value == "exact"
    assert engine.partitions[(plain_topic, 0)].acked_end == 40
    assert _first_unreproducible(cfg.source, (txn_topic, 0)) == (20, "transactional")
    _, d_end = offsets(cfg.destination, [(txn_topic, 0)])
    assert d_end[(txn_topic, 0)] == 26          # 20 plain, 5 in the transaction, its marker
    assert check_mirror(source, destination, [plain_topic]).exact
    assert_verified(cfg)


def test_restart_mid_stream_resumes_exactly(source, destination, topic_name):
    source.create_topic(topic_name, partitions=2)
    produce(source, topic_name, 300, compression="zstd")
    cfg = link_config(source, destination, names=[topic_name])
    mirror(cfg)
    produce(source, topic_name, 200, compression="snappy")
    produce(source, topic_name, 100, client="confluent", idempotent=True)
    mirror(cfg)   # a second engine resumes from the destination log end
    report = assert_verified(cfg)
    assert sum(p.checked_to for p in report.partitions) == 600


def test_verify_catches_a_planted_divergence_and_engine_fails_on_foreign_writes(source, destination, topic_name):
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 30)
    cfg = link_config(source, destination, names=[topic_name])
    mirror(cfg)
    assert_verified(cfg)
    # Plant: a foreign record on the destination and a different one on the source, same offset.
    produce(destination, topic_name, make_records(1, prefix="foreign"))
    produce(source, topic_name, make_records(1, prefix="genuine"))
    report = asyncio.run(verify_link(cfg))
    assert not report.ok
    assert "first divergence at offset 30" in report.partitions[0].divergence
    assert "CRC" in report.partitions[0].divergence or "bytes" in report.partitions[0].divergence
    # The engine refuses to continue on top of foreign writes.
    produce(source, topic_name, 5)
    tp = (topic_name, 0)

    async def stopped(engine):
        pm = engine.partitions.get(tp)
        return pm is not None and pm.status.state.value in ("FAILED", "DIVERGED")
    engine = mirror(cfg, done=stopped)
    assert "30" in engine.partitions[tp].status.reason


def test_migration_source_39(source39, destination, topic_name):
    source39.create_topic(topic_name, partitions=2)
    produce(source39, topic_name, 200, compression="lz4")
    produce(source39, topic_name, 100, client="confluent", compression="zstd", idempotent=True)
    cfg = link_config(source39, destination, names=[topic_name])
    mirror(cfg)
    report = assert_verified(cfg)
    assert sum(p.checked_to for p in report.partitions) == 300


def _recreate(cluster, topic, records):
    cluster.delete_topic(topic)
    deadline = time.monotonic() + 30
    while True:
        try:
            cluster.create_topic(topic, partitions=1)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    produce(cluster, topic, records)


def test_source_truncation_below_the_destination_is_diverged(source, destination, topic_names):
    shorter, rewritten = topic_names("short"), topic_names("rewritten")
    for t in (shorter, rewritten):
        source.create_topic(t, partitions=1)
        produce(source, t, 50)
    cfg = link_config(source, destination, names=[shorter, rewritten])
    mirror(cfg)
    # The source loses data the destination holds: fewer offsets, or the same offsets with other bytes.
    _recreate(source, shorter, make_records(20, prefix="after"))
    _recreate(source, rewritten, make_records(50, prefix="other"))

    async def both_diverged(engine):
        pms = [engine.partitions.get((t, 0)) for t in (shorter, rewritten)]
        return all(pm is not None and pm.status.state.value == "DIVERGED" for pm in pms)
    engine = mirror(cfg, done=both_diverged)
    a = engine.partitions[(shorter, 0)].status
    b = engine.partitions[(rewritten, 0)].status
    assert "50" in a.reason and "20" in a.reason
    assert "differs from source batch" in b.reason
    report = asyncio.run(verify_link(cfg))
    assert not report.ok


def test_byte_budget_bounds_memory_and_a_hot_partition_does_not_starve_others(source, destination, topic_name):
    source.create_topic(topic_name, partitions=4)
    produce(source, topic_name, make_records(1500, prefix="hot", value_size=10_000), client="confluent",
            partition=0)
    for p in (1, 2, 3):
        produce(source, topic_name, make_records(40, prefix=f"cold{p}"), partition=p)
    limit, fetch_max = 2 * 1024 * 1024, 1024 * 1024
    cfg = link_config(source, destination, names=[topic_name], max_in_flight_bytes=limit,
                      partition_max_bytes=256 * 1024, fetch_max_bytes=fetch_max)
    engine = engine_for(cfg)
    peak = [0]
    done_at: dict[int, float] = {}
    targets = {0: 1500, 1: 40, 2: 40, 3: 40}

    async def sample():
        while True:
            peak[0] = max(peak[0], engine.budget.used)
            for (t, p), pm in engine.partitions.items():
                if p not in done_at and pm.acked_end >= targets[p]:
                    done_at[p] = time.monotonic()
            await asyncio.sleep(0.002)

    async def main():
        sampler = asyncio.create_task(sample())
        try:
            await run_until(engine, caught_up(), 120)
        finally:
            sampler.cancel()
    asyncio.run(main())
    assert set(done_at) == {0, 1, 2, 3}
    assert max(done_at[p] for p in (1, 2, 3)) < done_at[0], done_at
    assert 0 < peak[0] <= limit + fetch_max, peak[0]
    assert engine.budget.used == 0
    assert_verified(cfg, min_batches=4)


def test_existing_destination_with_other_data_is_not_adopted(source, destination, topic_name):
    """Same last batch, different first batch: the tail check passes, the start-up prefix check must not."""
    from kproto.records.builder import build_batch
    source.create_topic(topic_name, partitions=1)
    destination.create_topic(topic_name, partitions=1,
                             configs={"compression.type": "producer", "message.timestamp.type": "CreateTime"})
    ts = int(time.time() * 1000)
    a = build_batch([b"a%d" % i for i in range(5)], base_timestamp=ts)
    other = build_batch([b"x%d" % i for i in range(5)], base_timestamp=ts)
    b = build_batch([b"b%d" % i for i in range(5)], base_timestamp=ts)
    cfg = link_config(source, destination, names=[topic_name])

    async def write(settings, batches):
        io = connect(settings, "writer")
        try:
            node = await io.leader_for(topic_name, 0)
            for raw in batches:
                r = await io.produce(node, {(topic_name, 0): raw}, acks=-1, timeout_ms=10000)
                assert r[(topic_name, 0)].error_code == 0
        finally:
            await io.close()
    asyncio.run(write(cfg.source, [a, b]))
    asyncio.run(write(cfg.destination, [other, b]))
    tp = (topic_name, 0)

    async def failed(engine):
        pm = engine.partitions.get(tp)
        return pm is not None and pm.status.state.value == "FAILED"
    engine = mirror(cfg, done=failed)
    assert "not an exact prefix" in engine.partitions[tp].status.reason
    assert "offset 0" in engine.partitions[tp].status.reason


def test_foreign_write_while_running_fails_the_partition(source, destination, topic_name):
    from .helpers import BackgroundEngine
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 20)
    cfg = link_config(source, destination, names=[topic_name])
    tp = (topic_name, 0)
    with BackgroundEngine(engine_for(cfg)) as bg:
        bg.wait_caught_up(cfg.source, 20)
        # Not idempotent: the destination would hand out producer id 0, which the mirrored
        # source batches already use (see docs/mirror.md, producer ids).
        produce(destination, topic_name, make_records(1, prefix="foreign"), client="confluent")
        pm = bg.engine.partitions[tp]
        deadline = time.monotonic() + 30
        while pm.status.state.value != "FAILED":
            assert time.monotonic() < deadline, pm.status.as_dict()
            time.sleep(0.2)
        assert "foreign writes" in pm.status.reason and "20" in pm.status.reason
        assert pm.status.offset == 20
        # The source moves on; nothing more is written to this partition.
        produce(source, topic_name, 10)
        time.sleep(2)
        assert pm.acked_end == 20


def test_topics_matching_the_pattern_later_are_picked_up(source, destination, topic_names):
    from .helpers import BackgroundEngine
    prefix = topic_names("disc")
    first, later = f"{prefix}.a", f"{prefix}.b"
    source.create_topic(first, partitions=1)
    produce(source, first, 10)
    cfg = link_config(source, destination, include=[prefix.replace(".", "\\.") + r"\..*"], metadata_refresh_ms=500)
    with BackgroundEngine(engine_for(cfg)) as bg:
        bg.wait_caught_up(cfg.source, 10)
        source.create_topic(later, partitions=2)
        produce(source, later, 30)
        bg.wait_caught_up(cfg.source, 40, timeout=60)
        assert {tp[0] for tp in bg.engine.partitions} == {first, later}
    assert_verified(cfg, min_batches=2)


def test_source_partitions_added_while_running_are_mirrored(source, destination, topic_name):
    from .helpers import BackgroundEngine
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 10)
    cfg = link_config(source, destination, names=[topic_name], metadata_refresh_ms=500)
    with BackgroundEngine(engine_for(cfg)) as bg:
        bg.wait_caught_up(cfg.source, 10)
        from kafka.admin import KafkaAdminClient, NewPartitions
        admin = KafkaAdminClient(**source.kafka_python_config())
        try:
            admin.create_partitions({topic_name: NewPartitions(3)})
        finally:
            admin.close()
        for p in (1, 2):
            produce(source, topic_name, 15, partition=p)
        bg.wait_caught_up(cfg.source, 40, timeout=60)
        assert len(bg.engine.partitions) == 3
    assert_verified(cfg, min_batches=3)


def test_log_append_time_source_blocks_before_anything_inexact_is_written(source, destination, topic_names):
    """A CreateTime mirror of a LogAppendTime batch gets a different CRC (seen on Kafka 4.1.1), so such
    batches are refused before producing."""
    lat, plain = topic_names("lat"), topic_names("plain")
    source.create_topic(lat, partitions=1, configs={"message.timestamp.type": "LogAppendTime"})
    source.create_topic(plain, partitions=1)
    produce(source, lat, 100, compression="lz4")
    produce(source, plain, 10)
    cfg = link_config(source, destination, names=[lat, plain])

    async def blocked(engine):
        pm = engine.partitions.get((lat, 0))
        return pm is not None and pm.status.state.value == "BLOCKED" and await caught_up()(engine)
    engine = mirror(cfg, done=blocked)
    st = engine.partitions[(lat, 0)].status
    assert st.offset == 0 and "LogAppendTime" in st.reason
    report = assert_verified(cfg, min_batches=1, allow_lag=True)
    assert {(p.topic, p.checked_to) for p in report.partitions} == {(lat, 0), (plain, 10)}


def test_running_audit_catches_a_batch_stored_differently(source, destination, topic_name, monkeypatch):
    """Switch off the LogAppendTime refusal: the destination then stores a rewritten batch, and the
    running audit (not the produce response) must fail the partition."""
    import linker.mirror.checks as checks_module
    monkeypatch.setattr(checks_module, "timestamp_problem", lambda attributes, base_offset: None)
    source.create_topic(topic_name, partitions=1, configs={"message.timestamp.type": "LogAppendTime"})
    produce(source, topic_name, 20)
    cfg = link_config(source, destination, names=[topic_name], audit_interval_ms=200)
    tp = (topic_name, 0)

    async def failed(engine):
        pm = engine.partitions.get(tp)
        return pm is not None and pm.status.state.value == "FAILED"
    engine = mirror(cfg, done=failed)
    assert "audit" in engine.partitions[tp].status.reason and "CRC" in engine.partitions[tp].status.reason


def test_old_and_future_timestamps_are_accepted_by_the_mirror_topic(source, destination, topic_name):
    """The mirror topic's explicit timestamp bounds let batches through that a default 4.x topic
    would refuse (after.max.ms defaults to one hour)."""
    from kafka import KafkaProducer
    source.create_topic(topic_name, partitions=1, configs={"message.timestamp.after.max.ms": 7 * 86_400_000})
    now = int(time.time() * 1000)
    p = KafkaProducer(**source.kafka_python_config(), linger_ms=0)
    try:
        for i, ts in enumerate((now - 10 * 365 * 86_400_000, now + 2 * 86_400_000, now)):
            p.send(topic_name, value=b"v%d" % i, timestamp_ms=ts).get(30)
    finally:
        p.close()
    cfg = link_config(source, destination, names=[topic_name])
    mirror(cfg)
    report = assert_verified(cfg, min_batches=3)
    assert report.partitions[0].checked_to == 3
