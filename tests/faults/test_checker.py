"""The independent exactness checker (tests/checker.py) itself: it must say "exact" only when
bounds and every batch agree, and name the first difference otherwise."""
from __future__ import annotations

import time

import pytest

from tests.checker import (EARLIEST, LATEST, RawCluster, check_mirror, compare_logs, corrupt, read_log,
                           wait_exact, walk_batches)

from .link_process import LinkerRun, write_link

#: Explicit timestamps shared by both clusters; recent, or the brokers' 7-day retention check deletes
#: the records (the active segment too) while a test runs.
TS = int(time.time() * 1000) - 60_000


def write_same(cluster, topic: str, count: int, start: int = 0, changed: int | None = None) -> None:
    """One record per batch, explicit timestamps, no idempotence: two clusters written this way
    hold byte-identical batches at identical offsets."""
    from kafka import KafkaProducer
    p = KafkaProducer(**cluster.kafka_python_config(), enable_idempotence=False, acks="all", linger_ms=0,
                      compression_type=None)
    try:
        for i in range(start, start + count):
            value = b"value-%d" % i if i != changed else b"CHANGED-%d" % i
            p.send(topic, key=b"key-%d" % i, value=value, partition=0, timestamp_ms=TS + i,
                   headers=[("h", b"%d" % i)]).get(30)
    finally:
        p.close()


def pair(source, destination, topic: str) -> None:
    source.create_topic(topic, partitions=1)
    destination.create_topic(topic, partitions=1)


def fields(result) -> set[str]:
    return {d.field for p in result.partitions for d in p.differences}


def test_identical_writes_on_two_clusters_are_exact(source, destination, topic_name):
    pair(source, destination, topic_name)
    write_same(source, topic_name, 20)
    write_same(destination, topic_name, 20)
    result = check_mirror(source, destination, [topic_name])
    assert result.exact, result
    (p,) = result.partitions
    assert p.batches_compared == 20 and (p.source.log_start, p.source.log_end) == (0, 20)
    assert "exact" in str(result)


def test_missing_record_is_a_difference(source, destination, topic_name):
    pair(source, destination, topic_name)
    write_same(source, topic_name, 20)
    write_same(destination, topic_name, 19)        # an exact prefix: still not exact
    result = check_mirror(source, destination, [topic_name])
    assert not result.exact
    assert {"log_end_offset", "last_stable_offset", "batch missing in destination"} <= fields(result)
    assert result.first.offset == 19 and result.first.source == 20 and result.first.destination == 19


def test_extra_record_is_a_difference(source, destination, topic_name):
    pair(source, destination, topic_name)
    write_same(source, topic_name, 20)
    write_same(destination, topic_name, 21)
    result = check_mirror(source, destination, [topic_name])
    assert not result.exact
    assert {"log_end_offset", "extra batch in destination"} <= fields(result)
    assert result.first.offset == 20


def test_different_log_start_is_a_difference(source, destination, topic_name):
    from kafka import TopicPartition
    pair(source, destination, topic_name)
    write_same(source, topic_name, 20)
    write_same(destination, topic_name, 20)
    destination.admin().delete_records({TopicPartition(topic_name, 0): 5})
    result = check_mirror(source, destination, [topic_name])
    assert not result.exact
    assert fields(result) == {"log_start_offset"}
    assert (result.first.source, result.first.destination) == (0, 5)
    assert result.partitions[0].batches_compared == 15    # the common range still agrees


def test_changed_record_bytes_are_a_difference(source, destination, topic_name):
    pair(source, destination, topic_name)
    write_same(source, topic_name, 20)
    write_same(destination, topic_name, 20, changed=7)
    result = check_mirror(source, destination, [topic_name])
    assert not result.exact
    (diff,) = result.partitions[0].differences
    assert diff.offset == 7 and diff.field.startswith("crc_covered_bytes")


def test_corrupted_crc_is_a_difference(source, destination, topic_name):
    pair(source, destination, topic_name)
    write_same(source, topic_name, 10)
    write_same(destination, topic_name, 10)
    with RawCluster(source.bootstrap_for("INTERNAL")) as s, RawCluster(destination.bootstrap_for("INTERNAL")) as d:
        src, dst = read_log(s, topic_name, 0), read_log(d, topic_name, 0)
    assert compare_logs(src, dst).exact
    bad = corrupt(dst.batches[3])
    assert not bad.crc_valid and dst.batches[3].crc_valid
    dst.batches[3] = bad
    check = compare_logs(src, dst)
    assert not check.exact
    assert check.first.offset == 3 and check.first.field.startswith("crc (destination")
    # a corrupted source batch is named as such
    src.batches[5] = corrupt(src.batches[5], at=0)
    assert any(d.field.startswith("crc (source") and d.offset == 5 for d in compare_logs(src, dst).differences)


def test_truncated_fetch_tails_and_small_fetches(source, topic_name):
    source.create_topic(topic_name, partitions=1)
    write_same(source, topic_name, 30)
    with RawCluster(source.bootstrap_for("INTERNAL")) as c:
        assert (c.list_offset(topic_name, 0, EARLIEST), c.list_offset(topic_name, 0, LATEST)) == (0, 30)
        records = c.fetch(topic_name, 0, 0).records
        whole, used = walk_batches(records)
        assert len(whole) == 30 and used == len(records)
        cut, used = walk_batches(records[:-1])          # a tail cut by the broker's byte limit
        assert len(cut) == 29 and used < len(records) - 1
        small = read_log(c, topic_name, 0, max_bytes=150)  # a few batches per fetch, cut tails
        assert [b.base_offset for b in small.batches] == list(range(30))
        assert all(b.crc_valid for b in small.batches)


def test_mirror_made_by_linker_run_is_exact_and_a_prefix_is_not(source, destination, topic_name, tmp_path):
    from kafkabed.producers import produce
    source.create_topic(topic_name, partitions=3)
    produce(source, topic_name, 300, compression="zstd")
    produce(source, topic_name, 50, idempotent=True, compression="lz4")
    produce(source, topic_name, 20, client="confluent", idempotent=True, compression="gzip")
    cfg = write_link(tmp_path / "link.toml", source, destination, [topic_name])
    with LinkerRun(cfg, tmp_path / "run.log") as run:
        run.start()
        result = wait_exact(source, destination, [topic_name], timeout=120, min_records=370)
        assert run.stop() == 0
    assert result.exact and sum(p.batches_compared for p in result.partitions) > 3
    produce(source, topic_name, 5)                      # the linker is stopped: the mirror lags
    lagging = check_mirror(source, destination, [topic_name])
    assert not lagging.exact
    assert "log_end_offset" in fields(lagging)
    assert "NOT exact" in str(lagging)


def test_wait_exact_names_the_difference_on_its_deadline(source, destination, topic_name):
    pair(source, destination, topic_name)
    write_same(source, topic_name, 3)
    t0 = time.monotonic()
    with pytest.raises(AssertionError, match="log_end_offset"):
        wait_exact(source, destination, [topic_name], timeout=1.0, poll=0.2)
    assert time.monotonic() - t0 < 10


def test_missing_destination_topic_is_named(source, destination, topic_name):
    source.create_topic(topic_name, partitions=1)
    result = check_mirror(source, destination, [topic_name])
    assert not result.exact and "does not exist" in str(result.first)


def test_identical_writes_on_a_39_and_a_41_broker_are_exact(source39, destination, topic_name):
    """The checker's requests work on every supported broker; the stored bytes do not depend on it."""
    pair(source39, destination, topic_name)
    write_same(source39, topic_name, 10)
    write_same(destination, topic_name, 10)
    result = check_mirror(source39, destination, [topic_name])
    assert result.exact, result
    assert result.partitions[0].batches_compared == 10


def test_the_checker_shares_no_code_with_the_linker():
    import ast
    from pathlib import Path

    import tests.checker as checker
    from tests.source_tree import parse_file
    tree = parse_file(Path(checker.__file__))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {m for m in imported if m.split(".")[0] in ("linker", "kproto")}, imported
