"""Compacted topics against real brokers: same offsets, same records, fillers the
destination's cleaner removes (issue 15).

Judged independently of the linker: records are read with kafka-python and
confluent-kafka consumers, batches with ``tests/checker.py`` (kafka-python
protocol classes, crc32c). The test bed's brokers run their cleaner every
second; the topics roll segments every 100 ms (``create_compacted_topic``).
"""
from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

from kafkabed.producers import Record, create_compacted_topic, make_records, produce
from linker.verify import verify_link

from tests.checker import RawCluster, read_log
from .helpers import BackgroundEngine, caught_up, engine_for, link_config, run_until

Rec = tuple[bytes | None, bytes | None, tuple, int]   # key, value, headers, timestamp
#: Tombstones stay on the source for the test's life (their expiry is another case).
KEEP_TOMBSTONES = {"delete.retention.ms": 3_600_000}


def _round(cluster: Any, topic: str, i: int) -> None:
    """One round of upserts over 8 keys, a tombstone, alternating clients and codecs; the
    librdkafka rounds are idempotent (the cleaner keeps each producer's last batch, empty)."""
    recs = make_records(40, prefix=f"r{i}", key_space=8)
    recs = [Record(r.key.replace(f"r{i}-".encode(), b""), r.value, r.headers) for r in recs]
    recs.append(Record(b"key-%d" % (i % 8), None, (("tomb", b"1"),)))
    client, codec = (("kafka-python", "zstd"), ("confluent", "gzip"), ("kafka-python", "none"))[i % 3]
    produce(cluster, topic, recs, client=client, compression=codec, idempotent=client == "confluent")


def _cleaned(cluster: Any, topic: str, below: int | None = None) -> bool:
    """The source log holds a cleaned batch or a hole between batches (below ``below``)."""
    with RawCluster(cluster.bootstrap) as c:
        log = read_log(c, topic, 0)
    pos = log.log_start
    for b in log.batches:
        if below is not None and b.base_offset >= below:
            break
        if b.base_offset > pos or b.record_count != b.last_offset_delta + 1:
            return True
        pos = b.last_offset + 1
    return False


def read_log_end(cluster: Any, topic: str) -> int:
    with RawCluster(cluster.bootstrap) as c:
        return read_log(c, topic, 0).log_end


def _cleaned_at(cluster: Any, topic: str, offset: int) -> bool:
    """The source batch that held ``offset`` is cleaned or gone."""
    with RawCluster(cluster.bootstrap) as c:
        log = read_log(c, topic, 0)
    b = next((b for b in log.batches if b.base_offset <= offset <= b.last_offset), None)
    return b is None or b.record_count != b.last_offset_delta + 1



def _write_until(done: Callable[[], bool], write: Callable[[int], None], what: str | Callable[[], str],
                 start: int = 0, pause: float = 0.5, timeout: float = 90.0) -> int:
    """Forces the source cleaner's hand: ``write(i)`` rounds (i from ``start``), ``pause`` apart,
    until ``done()``; fails naming ``what`` after ``timeout``. Returns the next round number."""
    i, deadline = start, time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"{what if isinstance(what, str) else what()} within {timeout:g}s"
        write(i)
        i += 1
        time.sleep(pause)
    return i


def _mirror_then_vanish(source, destination, topic_name: str, write) -> tuple[Any, int]:
    """Mirror the round ``write(0)`` writes, then write rounds until the source cleaner removed a
    whole batch above the mirrored end (the linker is behind the cleaner), and one more round:
    (the link config, the mirrored end)."""
    write(0)
    cfg = link_config(source, destination, names=[topic_name])
    asyncio.run(run_until(engine_for(cfg), caught_up(), 60))
    mirrored = read_log_end(destination, topic_name)
    i = _write_until(lambda: _gap_above(source, topic_name, mirrored), write,
                     "the source cleaner removed no whole batch", start=1)
    write(i)
    return cfg, mirrored

def _gap_above(cluster: Any, topic: str, offset: int) -> bool:
    """Whole batches at or above ``offset`` vanished from the source log."""
    with RawCluster(cluster.bootstrap) as c:
        log = read_log(c, topic, 0)
    pos = log.log_start
    for b in log.batches:
        if b.base_offset > max(pos, offset):
            return True
        pos = b.last_offset + 1
    return False


def _produce_until_cleaned(cluster: Any, topic: str, timeout: float = 90.0) -> int:
    """Produce rounds until the source log shows cleaning; returns the next round number."""
    return _write_until(lambda: _cleaned(cluster, topic), lambda i: _round(cluster, topic, i),
                        f"the source cleaner did not clean {topic}", timeout=timeout)


def _read_kafka_python(cluster: Any, topic: str, start: int) -> dict[int, Rec]:
    from kafka import KafkaConsumer, TopicPartition
    tp = TopicPartition(topic, 0)
    consumer = KafkaConsumer(**cluster.kafka_python_config(), enable_auto_commit=False,
                             auto_offset_reset="earliest")   # below the log start: from it
    try:
        consumer.assign([tp])
        end = consumer.end_offsets([tp])[tp]
        consumer.seek(tp, start)
        out: dict[int, Rec] = {}
        deadline = time.monotonic() + 30
        while consumer.position(tp) < end:
            assert time.monotonic() < deadline, f"kafka-python read of {topic} stuck at {consumer.position(tp)}"
            for msgs in consumer.poll(timeout_ms=500).values():
                for m in msgs:
                    out[m.offset] = (m.key, m.value, tuple(m.headers or ()), m.timestamp)
        return out
    finally:
        consumer.close()


def _read_confluent(cluster: Any, topic: str, start: int, isolation: str | None = None) -> dict[int, Rec]:
    """Every record a confluent-kafka consumer (``isolation``: its isolation.level, else the
    default) sees from ``start`` to the log end, by offset."""
    import uuid
    from confluent_kafka import Consumer, TopicPartition
    consumer = Consumer(dict(cluster.confluent_config(), **{"group.id": f"c-{uuid.uuid4().hex[:8]}",
                                                            "enable.auto.commit": False,
                                                            "auto.offset.reset": "earliest"},
                             **({"isolation.level": isolation} if isolation else {})))
    try:
        _, end = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        consumer.assign([TopicPartition(topic, 0, start)])
        out: dict[int, Rec] = {}
        deadline = time.monotonic() + 30
        while True:
            for m in consumer.consume(num_messages=1000, timeout=0.5):
                if not m.error():
                    out[m.offset()] = (m.key(), m.value(), tuple(m.headers() or ()), m.timestamp()[1])
            pos = consumer.position([TopicPartition(topic, 0)])[0].offset
            if pos >= end:
                return out
            assert time.monotonic() < deadline, f"confluent read of {topic} stuck at {pos}"
    finally:
        consumer.close()


def _state(records: dict[int, Rec]) -> dict[bytes, bytes]:
    """What a table reader rebuilds: upserts, tombstones delete."""
    out: dict[bytes, bytes] = {}
    for off in sorted(records):
        key, value = records[off][:2]
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _extra(src: dict[int, Rec], dst: dict[int, Rec], copies: bool) -> list[int]:
    """Check the destination record by record; returns the offsets only the destination holds.

    Each must be superseded on the source (its key has a later record there), so a table
    reader ends in the same state and the destination's cleaner removes it; with ``copies``
    each is a filler: a copy of the next record the source retained."""
    for off, rec in src.items():
        assert dst.get(off) == rec, f"offset {off}: source {rec}, destination {dst.get(off)}"
    extra = sorted(set(dst) - set(src))
    later = sorted(src)
    for off in extra:
        assert any(o > off and src[o][0] == dst[off][0] for o in later), f"offset {off} is not superseded"
        if copies:
            nxt = next(o for o in later if o > off)
            assert dst[off] == src[nxt], f"filler at {off} is not a copy of the record at {nxt}"
    return extra


def _assert_same_tables(source: Any, destination: Any, topic: str, end: int) -> None:
    for start in sorted({0, 1, end // 3, end // 2, end - 5, end - 1}):
        for read in (_read_kafka_python, _read_confluent):
            assert _state(read(source, topic, start)) == _state(read(destination, topic, start)), (read, start)


def _uncleaned_batches_byte_exact(source: Any, destination: Any, topic: str) -> int:
    with RawCluster(source.bootstrap) as s, RawCluster(destination.bootstrap) as d:
        src, dst = read_log(s, topic, 0), read_log(d, topic, 0)
    by_base = {b.base_offset: b for b in dst.batches}
    n = 0
    for b in src.batches:
        if b.record_count == b.last_offset_delta + 1:
            twin = by_base.get(b.base_offset)
            assert twin is not None and (twin.crc, twin.covered) == (b.crc, b.covered), b.base_offset
            n += 1
    return n


def _verify(cfg) -> Any:
    report = asyncio.run(verify_link(cfg))
    assert report.exit_code() == 0, report.render()
    return report


def test_cleaned_topic_mirrors_with_same_offsets_and_the_destination_cleaner_removes_fillers(
        source, destination, topic_name):
    """Cleaned before mirroring (a), then the mirror's own cleaner removes the fillers (c).
    Needs ~40 s: the source cleaner must run first, then the destination's."""
    create_compacted_topic(source, topic_name, configs=KEEP_TOMBSTONES)
    rounds = _produce_until_cleaned(source, topic_name)
    _round(source, topic_name, rounds)          # the active segment: uncleaned batches
    # No further cleaning while mirroring: a filler copies the next record retained *then*.
    source.set_topic_config(topic_name, {"segment.ms": 3_600_000, "min.cleanable.dirty.ratio": 0.99})
    time.sleep(2.0)                               # a cleaning under way ends
    before = _read_kafka_python(source, topic_name, 0)
    cfg = link_config(source, destination, names=[topic_name])
    engine = engine_for(cfg)
    began = time.monotonic()
    asyncio.run(run_until(engine, caught_up(), 90))
    took = time.monotonic() - began
    pm = engine.partitions[(topic_name, 0)]
    m = engine.metrics
    print(f"\ncleaned topic: {pm.mirrored_records} records in {took:.2f}s; "
          f"{m.rebuilt_batches_total.get():.0f} batches rebuilt ({m.rebuilt_bytes_total.get():.0f} bytes), "
          f"{m.compaction_fillers_total.get():.0f} fillers")
    assert m.rebuilt_batches_total.get() and m.compaction_fillers_total.get()
    assert engine.status_doc()["partitions"][0]["fidelity"] == "record-exact (compacted)"

    src, dst = _read_kafka_python(source, topic_name, 0), _read_kafka_python(destination, topic_name, 0)
    assert src == before, "the source was cleaned while mirroring"
    end = max(src) + 1
    assert sorted(dst) == list(range(end))                     # every offset, none shifted
    fillers = _extra(src, dst, copies=True)
    assert len(fillers) == m.compaction_fillers_total.get()
    assert _uncleaned_batches_byte_exact(source, destination, topic_name) > 0
    _assert_same_tables(source, destination, topic_name, end)
    assert _verify(cfg).partitions[0].compared.records_compared > 0

    # (c) The mirror's cleaner: roll its segments quickly; the next mirrored batch rolls one.
    destination.set_topic_config(topic_name, {"segment.ms": 100, "min.cleanable.dirty.ratio": 0.01,
                                              "min.compaction.lag.ms": 0})
    deadline = time.monotonic() + 60
    left = fillers
    i = rounds + 1
    with BackgroundEngine(engine_for(cfg)):
        while left:
            assert time.monotonic() < deadline, f"fillers still on the destination: {left[:10]}"
            _round(source, topic_name, i)
            i += 1
            time.sleep(1.0)
            dst = _read_kafka_python(destination, topic_name, 0)
            left = [f for f in fillers if f in dst]
    src, dst = _read_kafka_python(source, topic_name, 0), _read_kafka_python(destination, topic_name, 0)
    assert _state(src) == _state(dst)
    _verify(cfg)


def test_source_cleaning_mirrored_data_then_a_restart_keeps_mirroring_exact_by_records(
        source, destination, topic_name):
    """(b) The source cleaner rewrites batches the linker already mirrored; a restart then
    resumes (start-up tail and prefix checks by records) instead of failing. ~30 s: cleaning."""
    create_compacted_topic(source, topic_name, configs=KEEP_TOMBSTONES)
    cfg = link_config(source, destination, names=[topic_name], audit_interval_ms=200)
    with BackgroundEngine(engine_for(cfg)) as bg:
        rounds = _produce_until_cleaned(source, topic_name)
        _round(source, topic_name, rounds)
        end = read_log_end(source, topic_name)
        bg.wait_caught_up(cfg.source, end)
        time.sleep(1.0)                          # a few audit rounds over cleaned batches
        assert bg.engine.partitions[(topic_name, 0)].status.state.value == "MIRRORING"
    assert _cleaned(source, topic_name, below=end)
    i = rounds + 1
    deadline = time.monotonic() + 60
    while not _cleaned_at(source, topic_name, end - 1):   # the destination's last batch, too
        assert time.monotonic() < deadline, "the source cleaner did not reach the mirrored end"
        _round(source, topic_name, i)
        i += 1
        time.sleep(0.5)
    engine = engine_for(cfg)

    async def checked(engine) -> bool:   # caught up, and the start-up prefix check compared records
        pm = engine.partitions.get((topic_name, 0))
        return pm is not None and pm.status.fidelity.value == "record-exact (compacted)" and \
            await caught_up()(engine)
    asyncio.run(run_until(engine, checked, 60))
    st = engine.partitions[(topic_name, 0)].status
    assert st.state.value == "STOPPED" and st.fidelity.value != "not-exact", st
    src, dst = _read_kafka_python(source, topic_name, 0), _read_kafka_python(destination, topic_name, 0)
    _extra(src, dst, copies=False)
    _assert_same_tables(source, destination, topic_name, max(src) + 1)
    assert _verify(cfg).partitions[0].compared.records_compared > 0



def test_compacted_source_with_a_log_start_above_zero_fills_from_zero(source, destination, topic_name):
    """A compact,delete source whose log start is 61 (DeleteRecords inside a batch): the mirror
    (no keyless fillers on a compacted topic) is filled with copies of the first retained
    record, then starts at 61 too; every source record in place, the same tables."""
    from kafka import TopicPartition as KTP
    create_compacted_topic(source, topic_name, configs={"cleanup.policy": "compact,delete", **KEEP_TOMBSTONES})
    for i in range(3):
        _round(source, topic_name, i)
    source.admin().delete_records({KTP(topic_name, 0): 61})
    cfg = link_config(source, destination, names=[topic_name])
    engine = engine_for(cfg)
    asyncio.run(run_until(engine, caught_up(), 60))
    src, dst = _read_kafka_python(source, topic_name, 0), _read_kafka_python(destination, topic_name, 0)
    assert min(src) >= 61 and sorted(dst) == list(range(61, max(src) + 1))
    _extra(src, dst, copies=False)      # the source may clean on after mirroring: fillers stay copies of then
    with RawCluster(destination.bootstrap) as d:
        assert read_log(d, topic_name, 0).log_start == 61
    _assert_same_tables(source, destination, topic_name, max(src) + 1)
    _verify(cfg)


def test_kill_9_mid_rebuild_and_across_source_cleaning_resumes_exact_by_records(
        source, destination, topic_name, tmp_path):
    """`linker run` killed (-9) while it writes rebuilt batches of a cleaned topic, then the source
    cleans what the mirror holds, then a restart: no FAILED/DIVERGED, every source record in
    place, the same tables. ~40 s: 10 MB on the source and two cleanings."""
    from tests.faults.link_process import LinkerRun, write_link
    from tests.checker import CheckerError
    create_compacted_topic(source, topic_name, configs=KEEP_TOMBSTONES)
    big = [Record(b"key-%d" % (i % 20), b"%d-" % i + b"x" * 500, ()) for i in range(20_000)]
    produce(source, topic_name, big, client="confluent", compression="zstd", linger_ms=20)
    i = _produce_until_cleaned(source, topic_name)
    link = write_link(tmp_path / "link.toml", source, destination, [topic_name])
    with LinkerRun(link, tmp_path / "run.log") as run:
        run.start()
        deadline = time.monotonic() + 60
        killed_at = 0
        while not killed_at:
            assert time.monotonic() < deadline and run.running, run.text()[-3000:]
            try:
                killed_at = read_log_end(destination, topic_name)
            except CheckerError:
                pass
            if killed_at:
                run.kill9()
            time.sleep(0.02)
        deadline = time.monotonic() + 60
        while not _cleaned_at(source, topic_name, read_log_end(destination, topic_name) - 1):
            assert time.monotonic() < deadline, "the source cleaner did not reach the mirrored end"
            _round(source, topic_name, i)
            i += 1
            time.sleep(0.5)
        run.start()
        end = read_log_end(source, topic_name)
        deadline = time.monotonic() + 90
        while read_log_end(destination, topic_name) < end:
            assert time.monotonic() < deadline and run.running, run.text()[-3000:]
            time.sleep(0.2)
        assert run.stop() == 0
    log = run.text()
    assert "FAILED" not in log and "DIVERGED" not in log, log[-3000:]
    print(f"\nkilled at destination end {killed_at} of {end}")
    src, dst = _read_kafka_python(source, topic_name, 0), _read_kafka_python(destination, topic_name, 0)
    _extra(src, dst, copies=False)
    _assert_same_tables(source, destination, topic_name, max(src) + 1)
    _verify(link_config(source, destination, names=[topic_name]))



def test_one_idempotent_producer_across_mirroring_and_cleaning_keeps_mirroring(source, destination, topic_name):
    """One librdkafka idempotent producer writes before and after a stop; the source cleaner removes
    whole batches of it the destination never saw, so its next batch would be out of sequence for
    the destination's producer state: the fillers of the hole carry the vanished sequences and the
    batch goes verbatim (before: FAILED, then its batches were rebuilt without producer fields).
    ~30 s: cleaning."""
    from confluent_kafka import Producer
    create_compacted_topic(source, topic_name, configs=KEEP_TOMBSTONES)
    producer = Producer(dict(source.confluent_config(), **{"enable.idempotence": True, "linger.ms": 5}))

    def write(i: int) -> None:
        for n in range(40):
            producer.produce(topic_name, key=b"key-%d" % (n % 8), value=b"p%d-%d" % (i, n), partition=0)
        assert producer.flush(30) == 0
    cfg, mirrored = _mirror_then_vanish(source, destination, topic_name, write)
    engine = engine_for(cfg)
    asyncio.run(run_until(engine, caught_up(), 60))
    pm = engine.partitions[(topic_name, 0)]
    assert pm.status.state.value == "STOPPED" and pm.status.fidelity.value != "not-exact", pm.status
    assert _uncleaned_batches_byte_exact(source, destination, topic_name) > 0
    src, dst = _read_kafka_python(source, topic_name, 0), _read_kafka_python(destination, topic_name, 0)
    _extra(src, dst, copies=False)
    _assert_same_tables(source, destination, topic_name, max(src) + 1)
    _verify(cfg)


def _hole_or_cleaned(log: Any, base: int, last: int) -> bool:
    """Offsets ``base..last`` overlap no uncleaned batch of ``log`` (a cleaner's holes only)."""
    return all(b.last_offset < base or b.base_offset > last or b.record_count != b.last_offset_delta + 1
               for b in log.batches)


def test_interleaved_idempotent_producers_whose_batches_vanished_stay_byte_exact(source, destination, topic_name):
    """Three librdkafka idempotent producers write interleaved one-record batches; the destination
    learns all three, the linker stops, the source cleaner removes whole batches of each (several
    producers' batches in one hole), they write again, and the linker catches up: the fillers carry
    the vanished sequences, every uncleaned source batch is byte-identical on the destination
    (checker), and every batch the linker counted as rebuilt lies where the source cleaned.
    ~40 s: cleaning."""
    from confluent_kafka import Producer
    create_compacted_topic(source, topic_name, configs=KEEP_TOMBSTONES)
    producers = [Producer(dict(source.confluent_config(), **{"enable.idempotence": True, "linger.ms": 0}))
                 for _ in range(3)]

    def write(i: int) -> None:
        for n in range(8):
            for k, p in enumerate(producers):
                p.produce(topic_name, key=b"key-%d" % ((n + k) % 8), value=b"p%d-r%d-%d" % (k, i, n), partition=0)
                assert p.flush(30) == 0           # one batch each: the producers interleave
    cfg, mirrored = _mirror_then_vanish(source, destination, topic_name, write)
    # No further cleaning while mirroring: the source log the checker reads is the one mirrored.
    source.set_topic_config(topic_name, {"segment.ms": 3_600_000, "min.cleanable.dirty.ratio": 0.99})
    time.sleep(2.0)
    with RawCluster(source.bootstrap) as c:
        before = read_log(c, topic_name, 0)
    engine = engine_for(cfg)
    asyncio.run(run_until(engine, caught_up(), 60))
    pm = engine.partitions[(topic_name, 0)]
    assert pm.status.state.value == "STOPPED" and pm.status.fidelity.value != "not-exact", pm.status

    with RawCluster(source.bootstrap) as s, RawCluster(destination.bootstrap) as d:
        src, dst = read_log(s, topic_name, 0), read_log(d, topic_name, 0)
    assert [b.crc for b in src.batches] == [b.crc for b in before.batches], "the source was cleaned meanwhile"
    twins = {(b.base_offset, b.crc, b.covered) for b in src.batches}
    uncleaned = [b for b in src.batches if b.record_count == b.last_offset_delta + 1]
    by_base = {b.base_offset: b for b in dst.batches}
    assert all((by_base[b.base_offset].crc, by_base[b.base_offset].covered) == (b.crc, b.covered)
               for b in uncleaned if b.base_offset in by_base) and all(b.base_offset in by_base for b in uncleaned)
    built = [b for b in dst.batches if b.base_offset >= mirrored and (b.base_offset, b.crc, b.covered) not in twins]
    counted = engine.metrics.rebuilt_batches_total.get()
    assert counted == pm.rebuilt_batches == len(built), (counted, pm.rebuilt_batches, len(built))
    assert all(_hole_or_cleaned(src, b.base_offset, b.last_offset) for b in built)
    carrying = [b for b in built if b.producer_id >= 0 and _hole_or_cleaned(src, b.base_offset, b.last_offset)
                and not any(x.base_offset == b.base_offset for x in src.batches)]
    src_pids = {b.producer_id for b in src.batches if b.producer_id >= 0}
    print(f"\n{len(uncleaned)} uncleaned source batches byte-exact; {len(built)} rebuilt, "
          f"{len(carrying)} hole fillers carrying sequences of {len({b.producer_id for b in carrying})} "
          f"of {len(src_pids)} producers")
    assert carrying, "no filler carried a producer's vanished sequences: the case was not exercised"
    src_r, dst_r = _read_kafka_python(source, topic_name, 0), _read_kafka_python(destination, topic_name, 0)
    _extra(src_r, dst_r, copies=False)
    _assert_same_tables(source, destination, topic_name, max(src_r) + 1)
    _verify(cfg)
