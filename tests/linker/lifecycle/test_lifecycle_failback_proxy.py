"""Failback behind the proxy (subprocesses, real brokers): clients on the proxy's address are moved
to the destination by `linker failover`, the old source takes writes the mirror never gets, and after
`linker failback --recreate` the reverse link's proxy and `linker promote` move the same clients back
to the old cluster, at the next offsets."""
from __future__ import annotations

from kafka import KafkaProducer

from ..proxy.test_link_cli import end_offsets, free_port, link_file, linker, run_and_proxy, wait_until


def send(bootstrap: str, topic: str, values: list[bytes]) -> list[int]:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=10_000)
    try:
        return [producer.send(topic, v, partition=0).get(30).offset for v in values]
    finally:
        producer.close(5)


def test_failback_cuts_proxy_clients_back(source, destination, topic_name, tmp_path):
    source.create_topic(topic_name, partitions=2)
    path = link_file(tmp_path, f"fp-{topic_name[-8:]}", source, destination, topic_name, "source", free_port())
    with run_and_proxy(path) as bootstrap:
        assert send(bootstrap, topic_name, [f"v{i}".encode() for i in range(10)]) == list(range(10))
        wait_until(lambda: end_offsets(destination, topic_name).get(0) == 10, "the mirror did not catch up")
        out = linker("failover", "-c", str(path), topic_name)
        assert out.returncode == 0 and "proxy: clients switched to the destination" in out.stdout, out
        assert send(bootstrap, topic_name, [b"on-destination"]) == [10]
    # The old source took writes nobody mirrored (a client that still wrote to it directly).
    assert send(source.bootstrap, topic_name, [b"lost-1", b"lost-2"]) == [10, 11]

    out = linker("failback", "-c", str(path), "--no-fence", "--recreate", topic_name)
    assert out.returncode == 0, out.stderr
    assert f"{topic_name}-0: failover offset 10, old source ends at 12; lost 2 records at offsets 10..11" \
        in out.stdout, out.stdout
    reverse = tmp_path / "link-failback.toml"
    with run_and_proxy(reverse) as bootstrap:            # fronting the reverse source: the promoted cluster
        assert send(bootstrap, topic_name, [b"still-on-destination"]) == [11]
        wait_until(lambda: end_offsets(source, topic_name) == {0: 12, 1: 0}, "not mirrored back")
        out = linker("promote", "-c", str(reverse), topic_name)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(f"{topic_name}: STOPPED final offsets 0:12, 1:0"), out.stdout
        assert "proxy: clients switched to the destination" in out.stdout, out.stdout
        assert send(bootstrap, topic_name, [b"back-home"]) == [12]
    assert end_offsets(source, topic_name) == {0: 13, 1: 0}
    assert end_offsets(destination, topic_name) == {0: 12, 1: 0}
