"""`linker promote --per-topic` through `linker proxy` (issue 17, finding 7): one topic's clients move
to the destination while another topic's stay on the source, and a restarted proxy rebuilds the
split from the link state. Records are judged by their log ends on each cluster, read directly."""
from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from linker.lifecycle.records import FrontRecord, TopicRecord, TopicState, parse_front_record
from linker.lifecycle.store_view import LinkState
from test_link_cli import Proc, end_offsets, free_port, link_file, linker, run_and_proxy, wait_until


def _producer(bootstrap: str) -> KafkaProducer:
    # a few retries ride out the reconnect at the routing step; a hold would outlast them
    return KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=5, retry_backoff_ms=200,
                         max_in_flight_requests_per_connection=1, request_timeout_ms=10_000)


def _read_at(bootstrap: str, topic: str, offset: int) -> bytes:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=10_000)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        return next(iter(consumer)).value
    finally:
        consumer.close()


def _read_and_commit(bootstrap: str, topic: str, group: str, n: int) -> list[bytes]:
    """`n` records of `topic` read by a consumer of `group` from its committed offsets, committed."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                             enable_auto_commit=False)
    got: list[bytes] = []
    try:
        wait_until(lambda: got.extend(r.value for rs in consumer.poll(500).values() for r in rs) or len(got) >= n,
                   f"group {group} did not read {n} records of {topic}")
        consumer.commit()
    finally:
        consumer.close()
    return got


def _committed(cluster: Any, topic: str, group: str) -> int | None:
    consumer = KafkaConsumer(bootstrap_servers=cluster.bootstrap, group_id=group, enable_auto_commit=False)
    try:
        return consumer.committed(TopicPartition(topic, 0))
    finally:
        consumer.close()


def test_per_topic_promote_moves_one_topic_and_survives_a_proxy_restart(source, destination, topic_names,
                                                                         tmp_path, testbed_report):
    moved, stays = topic_names("moved"), topic_names("stays")
    for t in (moved, stays):
        source.create_topic(t, partitions=2)
    path = link_file(tmp_path, f"pt-{moved[-8:]}", source, destination, [moved, stays], "source", free_port())
    with run_and_proxy(path) as bootstrap:
        producer = _producer(bootstrap)   # connected before the promote, used after it
        try:
            for t in (moved, stays):
                for i in range(3):
                    producer.send(t, f"{t}-{i}".encode(), partition=0).get(15)
            wait_until(lambda: end_offsets(destination, moved).get(0) == end_offsets(destination, stays).get(0)
                       == 3, "the mirror did not catch up")
            group = f"g-{moved[-8:]}"   # commits only the promoted topic: moved to the destination
            assert len(_read_and_commit(bootstrap, moved, group, 3)) == 3
            out = linker("promote", "-c", str(path), "--per-topic", moved)
            assert out.returncode == 0, out.stderr
            assert out.stdout.startswith(f"{moved}: STOPPED"), out.stdout
            assert f"proxy: {moved} served by the destination, other topics by the source" in out.stdout, out.stdout
            assert f"groups moved: {group})" in out.stdout, out.stdout
            testbed_report(f"linker promote --per-topic: {out.stdout.splitlines()[-1]}")
            assert producer.send(moved, b"moved-after", partition=0).get(30).offset == 3
            assert producer.send(stays, b"stays-after", partition=0).get(30).offset == 3
        finally:
            producer.close(5)
        assert end_offsets(destination, moved) == {0: 4, 1: 0}   # the promoted topic: the destination
        assert end_offsets(source, moved) == {0: 3, 1: 0}        # ... and not the source
        assert end_offsets(source, stays) == {0: 4, 1: 0}        # the other topic: still the source
        wait_until(lambda: end_offsets(destination, stays).get(0) == 4, "the other topic is no longer mirrored")
        assert _read_at(bootstrap, moved, 3) == b"moved-after"
        assert _read_at(bootstrap, stays, 3) == b"stays-after"

    proxy = Proc("proxy", "-c", str(path))   # the same file, `front = "source"`
    try:
        line = proxy.first_line()
        assert "fronting source" in line, line
        bootstrap = line.split()[3]
        producer = _producer(bootstrap)
        try:   # not held (its promotion is complete) and routed to the destination
            assert producer.send(moved, b"moved-restart", partition=0).get(30).offset == 4
            assert producer.send(stays, b"stays-restart", partition=0).get(30).offset == 4
        finally:
            producer.close(5)
        assert _read_at(bootstrap, moved, 4) == b"moved-restart"
        assert _read_at(bootstrap, stays, 4) == b"stays-restart"
        # the group resumes where it committed and commits to the destination's coordinator
        assert _read_and_commit(bootstrap, moved, group, 2) == [b"moved-after", b"moved-restart"]
    finally:
        err = proxy.stop()
    assert proxy.p.returncode == 0, err[-2000:]
    assert f"the link state records the split by `linker promote --per-topic {moved}`" in err, err[-2000:]
    assert end_offsets(destination, moved) == {0: 5, 1: 0}
    assert end_offsets(source, moved) == {0: 3, 1: 0}
    assert end_offsets(source, stays) == {0: 5, 1: 0}
    assert (_committed(destination, moved, group), _committed(source, moved, group)) == (5, 3)


def test_the_split_record_round_trips_and_its_topics_are_not_held() -> None:
    """A `proxy/front` record with routed topics parses back; a proxy fronting the source does
    not hold a STOPPED topic it routes to the destination, and does hold one it does not."""
    import pytest

    from linker.app.linked_proxy import LinkedProxy
    from linker.lifecycle.records import RecordFormatError
    from linker.proxy.routing import Split
    from linker.settings import parse_config

    rec = parse_front_record(FrontRecord("source", ["a"], routed=["a", "b"], groups=["g"]).value())
    assert (rec.front, rec.routed, rec.groups) == ("source", ["a", "b"], ["g"])
    assert parse_front_record(FrontRecord("destination", ["a"]).value()).routed == []
    with pytest.raises(RecordFormatError, match="routed topics need front 'source'"):
        parse_front_record(b'{"v": 1, "front": "destination", "routed": ["a"]}')

    config = parse_config({"source": {"bootstrap_servers": ["s:1"]}, "destination": {"bootstrap_servers": ["d:2"]},
                           "topics": {"names": ["a", "b"]},
                           "proxy": {"listen": "127.0.0.1:0", "front": "source"}})
    proxy = LinkedProxy(config)
    proxy.server.split = Split(proxy.source, proxy.destination, {"a"})
    state: Any = LinkState.from_records({TopicRecord(t, TopicState.STOPPED).key():
                                         TopicRecord(t, TopicState.STOPPED).value() for t in ("a", "b")})
    proxy.apply_state(state)
    assert sorted(proxy.server.holds) == ["b"]


def test_promote_per_topic_needs_a_proxy(tmp_path):
    path = tmp_path / "link.toml"
    path.write_text('[source]\nbootstrap_servers = "s:1"\n[destination]\nbootstrap_servers = "d:2"\n'
                    '[topics]\nnames = ["t"]\n')
    out = linker("promote", "-c", str(path), "--per-topic", "t", timeout=60)
    assert out.returncode == 2
    assert "--per-topic applies only to a link with proxy.control" in out.stderr
