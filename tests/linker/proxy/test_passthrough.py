"""Real clients through the proxy: kafka-python, librdkafka and Kafka's Java tools.

Each produces, consumes with a consumer group and runs admin operations with
the proxy's bootstrap address as its only address.
"""
from __future__ import annotations

import socket
import subprocess
import time
import uuid
from typing import Any

import pytest

import kproto

from kafkabed import classpath
from kafkabed.cluster import java_binary
from kproto import ApiKey, messages
from kproto.errors import ErrorCode
from kproto.records import NewRecord, build_batch
from linker.proxy import ProxyConfig
from linker.proxy.rewrite import MUST_PARSE

from conftest import upstream_of
from proxy_rawwire import RawConnection

N = 200


def _proxy_ports(proxy) -> set[int]:
    return {int(proxy.bootstrap.rsplit(":", 1)[1]), *proxy.sync(proxy.server.broker_ports).values()}


def test_kafka_python_produce_consume_group_admin(destination, dest_proxy, topic_name):
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewPartitions, NewTopic
    admin = KafkaAdminClient(bootstrap_servers=dest_proxy.bootstrap)
    try:
        admin.create_topics([NewTopic(topic_name, 2, 1)])
        admin.create_partitions({topic_name: NewPartitions(3)})
        cluster = admin.describe_cluster()
        assert {(b["host"], b["port"]) for b in cluster["brokers"]} <= {
            ("127.0.0.1", p) for p in _proxy_ports(dest_proxy)}
        producer = KafkaProducer(bootstrap_servers=dest_proxy.bootstrap, linger_ms=5)
        metas = [producer.send(topic_name, key=str(i).encode(), value=f"v{i}".encode()) for i in range(N)]
        producer.flush(30)
        assert all(m.get(10).offset >= 0 for m in metas)
        producer.close()
        fire_and_forget = KafkaProducer(bootstrap_servers=dest_proxy.bootstrap, acks=0, linger_ms=5,
                                        enable_idempotence=False)
        for i in range(N):
            fire_and_forget.send(topic_name, key=b"acks0", value=f"z{i}".encode())
        fire_and_forget.flush(30)
        fire_and_forget.close()
        group = f"g-{uuid.uuid4().hex[:8]}"
        consumer = KafkaConsumer(topic_name, bootstrap_servers=dest_proxy.bootstrap, group_id=group,
                                 auto_offset_reset="earliest", enable_auto_commit=False,
                                 consumer_timeout_ms=15000)
        values = []
        for m in consumer:
            values.append(m.value)
            if len(values) == 2 * N:
                break
        consumer.commit()
        consumer.close()
        assert sorted(values) == sorted([f"v{i}".encode() for i in range(N)] + [f"z{i}".encode() for i in range(N)])
        offsets = admin.list_group_offsets(group)
        print("committed", offsets)
        committed = offsets[group] if group in offsets else offsets
        assert sum(o.offset for o in committed.values()) == 2 * N
        assert group in str(admin.list_groups())
    finally:
        admin.close()
    # everything really is on the broker behind the proxy
    assert set(destination.partition_leaders(topic_name)) == {0, 1, 2}


def test_confluent_produce_consume_group_admin(destination, dest_proxy, topic_name):
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": dest_proxy.bootstrap})
    for f in admin.create_topics([NewTopic(topic_name, 3, 1)]).values():
        f.result(30)
    described = admin.describe_cluster().result(30)
    assert {n.port for n in described.nodes} <= _proxy_ports(dest_proxy)
    producer = Producer({"bootstrap.servers": dest_proxy.bootstrap, "linger.ms": 5,
                         "enable.idempotence": True})
    errors = []
    for i in range(N):
        producer.produce(topic_name, key=str(i).encode(), value=f"c{i}".encode(),
                         on_delivery=lambda err, msg: err and errors.append(err))
    assert producer.flush(30) == 0 and not errors
    group = f"g-{uuid.uuid4().hex[:8]}"
    consumer = Consumer({"bootstrap.servers": dest_proxy.bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic_name])
    got = []
    deadline = time.monotonic() + 30
    while len(got) < N and time.monotonic() < deadline:
        m = consumer.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value())
    consumer.commit(asynchronous=False)
    consumer.close()
    assert sorted(got) == sorted(f"c{i}".encode() for i in range(N))
    groups = admin.list_consumer_groups().result(30)
    assert group in {g.group_id for g in groups.valid}
    for f in admin.delete_topics([topic_name]).values():
        f.result(30)


def _java(main: str, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
    done = subprocess.run([java_binary(), "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                           "-cp", classpath(), main, *args],
                          input=stdin, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{main} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def test_java_console_tools_and_admin(dest_proxy, topic_name):
    bootstrap = dest_proxy.bootstrap
    _java("org.apache.kafka.tools.TopicCommand", "--bootstrap-server", bootstrap, "--create",
          "--topic", topic_name, "--partitions", "2", "--replication-factor", "1")
    described = _java("org.apache.kafka.tools.TopicCommand", "--bootstrap-server", bootstrap,
                      "--describe", "--topic", topic_name)
    assert f"Topic: {topic_name}" in described and "PartitionCount: 2" in described
    lines = "\n".join(f"k{i}\tjava-{i}" for i in range(N)) + "\n"
    _java("org.apache.kafka.tools.ConsoleProducer", "--bootstrap-server", bootstrap, "--topic", topic_name,
          "--property", "parse.key=true", "--producer-property", "linger.ms=20", stdin=lines)
    group = f"g-{uuid.uuid4().hex[:8]}"
    out = _java("org.apache.kafka.tools.consumer.ConsoleConsumer", "--bootstrap-server", bootstrap,
                "--topic", topic_name, "--group", group, "--from-beginning", "--max-messages", str(N),
                "--timeout-ms", "60000")
    assert sorted(out.split()) == sorted(f"java-{i}" for i in range(N))
    groups = _java("org.apache.kafka.tools.consumer.group.ConsumerGroupCommand", "--bootstrap-server",
                   bootstrap, "--describe", "--group", group)
    assert topic_name in groups


def test_api_versions_are_the_intersection(destination, dest_proxy):
    request = messages.ApiVersionsRequest(client_software_name="t", client_software_version="1")
    with RawConnection(destination.bootstrap) as direct, RawConnection(dest_proxy.bootstrap) as proxied:
        broker = {k.api_key: (k.min_version, k.max_version) for k in direct.request(request, 3).api_keys}
        seen = {k.api_key: (k.min_version, k.max_version) for k in proxied.request(request, 3).api_keys}
    assert broker, "the broker advertised nothing"
    assert set(seen) <= set(broker)
    assert seen, "no API advertised through the proxy"
    for key, (lo, hi) in seen.items():
        ours_req = messages.by_key(key, True).VALID_VERSIONS
        assert broker[key][0] <= lo <= hi <= broker[key][1]
        assert ours_req[0] <= lo and hi <= ours_req[1]
    assert seen[ApiKey.SASL_HANDSHAKE][0] == 1  # v0 means unframed SASL tokens
    # by default Fetch stops below KIP-951's endpoints, so every Fetch response is relayed as it arrives
    assert broker[ApiKey.FETCH][1] >= 16 and seen[ApiKey.FETCH][1] == 15
    assert all(k in seen for k in MUST_PARSE if k in broker and k not in (ApiKey.SHARE_FETCH, ApiKey.SHARE_ACKNOWLEDGE))


def test_api_versions_newer_than_kproto_gets_unsupported_version(dest_proxy):
    with RawConnection(dest_proxy.bootstrap) as proxied:
        hi = messages.ApiVersionsRequest.VALID_VERSIONS[1]
        # an ApiVersions v(hi+1) request header is v2; its body is unknown to both sides
        frame = (ApiKey.API_VERSIONS.to_bytes(2, "big") + (hi + 1).to_bytes(2, "big") + (7).to_bytes(4, "big")
                 + b"\x00\x01t\x00" + b"\x02t\x021\x00")
        proxied.send_frame(frame)
        corr, body = kproto.decode_response(ApiKey.API_VERSIONS, 0, proxied.read_frame())
    assert corr == 7 and body.error_code == 35
    assert [(k.api_key, k.max_version) for k in body.api_keys] == [(ApiKey.API_VERSIONS, hi)]


def test_undecoded_responses_are_the_brokers_bytes(destination, dest_proxy, topic_name):
    """ListOffsets is forwarded raw: the proxied response equals the direct one byte for byte."""
    destination.create_topic(topic_name, 2)
    L = messages.ListOffsetsRequest
    body = L(replica_id=-1, topics=[L.ListOffsetsTopic(name=topic_name, partitions=[
        L.ListOffsetsPartition(partition_index=p, timestamp=-1) for p in (0, 1, 7)])])
    for attempt in range(20):  # a new topic's partitions may answer NOT_LEADER for a moment
        frames = []
        for address in (destination.bootstrap, dest_proxy.bootstrap):
            with RawConnection(address) as c:
                c.send(body, 9)
                frames.append(c.read_frame())
        _, decoded = kproto.decode_response(ApiKey.LIST_OFFSETS, 9, frames[0])
        codes = {p.partition_index: p.error_code for p in decoded.topics[0].partitions}
        if codes[0] == 0 and codes[1] == 0:
            break
        time.sleep(0.25)
    assert codes == {0: 0, 1: 0, 7: 3}
    assert frames[0] == frames[1]


def test_unknown_api_key_goes_to_the_broker(destination, dest_proxy):
    """An API key no one knows is not judged by the proxy: the broker closes both connections."""
    frame = (30000).to_bytes(2, "big") + (0).to_bytes(2, "big") + (1).to_bytes(4, "big") + b"\xff\xff"
    for address in (destination.bootstrap, dest_proxy.bootstrap):
        with RawConnection(address) as c:
            c.send_frame(frame)
            assert c.is_closed(), f"{address} kept the connection open"
    with RawConnection(dest_proxy.bootstrap) as c:  # the proxy itself is fine
        assert c.request(messages.MetadataRequest(topics=[]), 12).brokers


def _dribble(sock, data: bytes, sizes: list[int]) -> None:
    """Send `data` in pieces of the given sizes (cycled), each its own segment."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pos = i = 0
    while pos < len(data):
        n = sizes[i % len(sizes)]
        sock.sendall(data[pos:pos + n])
        pos += n
        i += 1
        time.sleep(0.002)


def test_requests_and_responses_split_anywhere_are_relayed_exactly(destination, dest_proxy, topic_name):
    """A Produce longer than RELAY_HEAD, sent in pieces, takes the cut-through path (its head
    judged, the rest relayed as it comes) between two whole requests; a Fetch response of
    300 KiB comes back through the streamed path byte for byte as the broker sends it."""
    destination.create_topic(topic_name, 1)
    P, F = messages.ProduceRequest, messages.FetchRequest
    value = bytes(range(256)) * 1200
    produce = P(transactional_id=None, acks=1, timeout_ms=30_000, topic_data=[P.TopicProduceData(
        name=topic_name, partition_data=[P.PartitionProduceData(
            index=0, records=build_batch([NewRecord(value=value)], base_timestamp=int(time.time() * 1000)))])])
    metadata = messages.MetadataRequest(topics=[messages.MetadataRequest.MetadataRequestTopic(name=topic_name)])
    fetch = F(max_wait_ms=100, min_bytes=1, max_bytes=8 << 20, isolation_level=0, topics=[F.FetchTopic(
        topic=topic_name, partitions=[F.FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=1 << 20)])])
    for attempt in range(20):  # a new topic's partition may answer NOT_LEADER for a moment
        with RawConnection(dest_proxy.bootstrap) as c:
            wire = b"".join(bytes(chunk) for body, version, corr in ((metadata, 12, 1), (produce, 9, 2), (metadata, 12, 3))
                            for chunk in kproto.encode_request(body, version, corr, "dribble"))
            _dribble(c.sock, wire, [1, 3, 700, 5000, 2, 65536])
            answers = [kproto.decode_response(key, version, c.read_frame())
                       for key, version in ((ApiKey.METADATA, 12), (ApiKey.PRODUCE, 9), (ApiKey.METADATA, 12))]
        assert [corr for corr, _ in answers] == [1, 2, 3]
        code = answers[1][1].responses[0].partition_responses[0].error_code
        if code == ErrorCode.NONE:
            break
        time.sleep(0.25)
    assert code == ErrorCode.NONE
    frames = []
    for address in (destination.bootstrap, dest_proxy.bootstrap):
        with RawConnection(address) as c:
            c.send(fetch, 12)
            frames.append(c.read_frame())
    assert len(frames[0]) > len(value) and frames[0] == frames[1]


def _produce_batches(destination, topic: str, n_batches: int) -> None:
    """n batches of one ~1 MiB record each, different per batch, written directly."""
    P = messages.ProduceRequest
    with RawConnection(destination.bootstrap) as c:
        for i in range(n_batches):
            value = i.to_bytes(4, "big") * (256 * 1024 - 64)
            produce = P(transactional_id=None, acks=1, timeout_ms=30_000, topic_data=[P.TopicProduceData(
                name=topic, partition_data=[P.PartitionProduceData(index=0, records=build_batch(
                    [NewRecord(value=value)], base_timestamp=int(time.time() * 1000)))])])
            for attempt in range(40):   # a new topic's partition may answer NOT_LEADER for a moment
                c.send(produce, 9)
                _, answer = kproto.decode_response(ApiKey.PRODUCE, 9, c.read_frame())
                if answer.responses[0].partition_responses[0].error_code == ErrorCode.NONE:
                    break
                time.sleep(0.25)
            else:
                raise AssertionError(f"produce {i} refused")


def _fetch_all(topic: str) -> Any:
    F = messages.FetchRequest
    return F(max_wait_ms=100, min_bytes=1, max_bytes=64 << 20, isolation_level=0, topics=[F.FetchTopic(
        topic=topic, partitions=[F.FetchPartition(partition=0, fetch_offset=0, partition_max_bytes=64 << 20)])])


def _slow_read(address: str, request: bytes) -> bytes:
    """Send a request, stall, then read the response in small pieces, slower than the broker."""
    host, _, port = address.rpartition(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.settimeout(60)
    sock.connect((host, int(port)))
    try:
        sock.sendall(request)
        time.sleep(0.5)                          # stall: the proxy's send buffers fill
        got = bytearray()
        size = None
        while size is None or len(got) < size + 4:
            chunk = sock.recv(8192)
            assert chunk, "the proxy closed the connection"
            got += chunk
            if size is None and len(got) >= 4:
                size = int.from_bytes(got[:4], "big")
            time.sleep(0.0005)                   # slower than the broker: writes stay queued
    finally:
        sock.close()
    assert len(got) == size + 4
    return bytes(got[4:])


def test_a_slow_reader_gets_a_large_relayed_fetch_response_exactly(destination, dest_proxy, topic_name):
    """The proxy reads responses into a reused buffer and relays views of it; a client that
    stalls, then reads in small pieces, leaves those views queued in the proxy's transport
    while more arrives. An 8 MiB Fetch response must still come through byte for byte as
    the broker sends it (the buffer is not reused under views still queued)."""
    destination.create_topic(topic_name, 1)
    _produce_batches(destination, topic_name, 8)
    with RawConnection(destination.bootstrap, timeout=60) as c:
        c.send(_fetch_all(topic_name), 12)
        direct = c.read_frame()
    assert len(direct) > 8_000_000
    request = b"".join(bytes(chunk) for chunk in kproto.encode_request(_fetch_all(topic_name), 12, 1, "slow-reader"))
    assert _slow_read(dest_proxy.bootstrap, request) == direct


@pytest.mark.parametrize("version", [11, 12])
def test_shifted_epochs_are_raised_in_a_fetch_response_relayed_as_it_arrives(destination, start_proxy, topic_name,
                                                                           version):
    """Fronting a cluster whose epochs are shown shifted, a large Fetch response is relayed as it
    arrives with every batch's partition leader epoch raised in place: the same bytes as the
    broker's otherwise, CRCs still valid (the epoch is outside them)."""
    from kproto.records.batch import BatchView
    from kproto.records.crc import crc_matches
    shift = 1 << 24
    destination.create_topic(topic_name, 1)
    _produce_batches(destination, topic_name, 4)
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(destination, epoch_shift=shift)))
    with RawConnection(destination.bootstrap, timeout=60) as c:
        c.send(_fetch_all(topic_name), version)
        direct = c.read_frame()
    request = b"".join(bytes(chunk) for chunk in kproto.encode_request(_fetch_all(topic_name), version, 1, "shifted"))
    relayed = _slow_read(proxy.bootstrap, request)
    assert len(relayed) == len(direct) > 4_000_000
    records = {}
    for name, frame in (("direct", direct), ("relayed", relayed)):
        _, body = kproto.decode_response(ApiKey.FETCH, version, frame)
        records[name] = memoryview(bytes(body.responses[0].partitions[0].records))
    batches, pos, differ = 0, 0, []
    while pos < len(records["direct"]):
        d, r = BatchView(records["direct"], pos), BatchView(records["relayed"], pos)
        assert r.partition_leader_epoch == d.partition_leader_epoch + shift and d.partition_leader_epoch >= 0
        assert crc_matches(records["relayed"], pos)
        differ += [pos + 12 + i for i in range(4)]
        pos += 12 + d.batch_length
        batches += 1
    assert batches == 4
    start = direct.index(bytes(records["direct"][:64]))   # where the records lie in the frame
    diff = [i for i in range(len(direct)) if direct[i] != relayed[i]]
    assert set(diff) <= {start + i for i in differ}
