"""linker.client against a real 1-node PLAINTEXT Apache Kafka (the `source` test bed)."""
from __future__ import annotations

import asyncio
import time

import pytest

from kproto import ApiKey, messages
from kproto.errors import ErrorCode
from kproto.records import build_batch, walk_batches
from linker.client import (Admin, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, MAX_TIMESTAMP, AlterConfigOp,
                           BrokerConnection, ClientConfig, ConfigResourceType, ConnectionLost,
                           FetchPosition, Client, KafkaError, MetadataUnavailable, NewTopic,
                           RequestTimedOut, UnsupportedVersion, run)


def _address(cluster) -> tuple[str, int]:
    host, port = cluster.bootstrap.split(",")[0].rsplit(":", 1)
    return host, int(port)


def test_connection_negotiates_highest_common_versions(source) -> None:
    async def main() -> None:
        host, port = _address(source)
        connection = await BrokerConnection.open(host, port, ClientConfig())
        try:
            broker_fetch = connection.api_versions[ApiKey.FETCH]
            ours = messages.FetchRequest.VALID_VERSIONS
            assert connection.version_for(ApiKey.FETCH) == min(ours[1], broker_fetch[1])
            assert connection.version_for(ApiKey.FETCH, (12, 12)) == 12
            with pytest.raises(UnsupportedVersion) as info:
                connection.version_for(ApiKey.FETCH, (broker_fetch[1] + 1, broker_fetch[1] + 5))
            text = str(info.value)
            assert "FETCH" in text and f"v{broker_fetch[0]}..v{broker_fetch[1]}" in text
            assert host in text
            # an API the broker does not offer at all (controller-only API)
            missing = next(k for k in ApiKey if k not in connection.api_versions
                           and _has_request_class(k))
            with pytest.raises(UnsupportedVersion, match="does not support this API at all"):
                connection.version_for(missing)
        finally:
            await connection.aclose()
    run(main())


def _has_request_class(key: int) -> bool:
    try:
        return messages.by_key(key, request=True).VALID_VERSIONS is not None
    except (KeyError, ValueError):
        return False


def test_topics_produce_fetch_and_offsets_round_trip(source, topic_name) -> None:
    async def main() -> None:
        async with Client(source.bootstrap) as client:
            admin = Admin(client)
            ids = await admin.create_topics([NewTopic(topic_name, 2, 1)])
            assert ids[topic_name] is not None
            with pytest.raises(KafkaError) as info:
                await admin.create_topics([NewTopic(topic_name, 2, 1)])
            assert info.value.name == "TOPIC_ALREADY_EXISTS"
            assert (await admin.create_topics([NewTopic(topic_name, 2, 1)], exist_ok=True))
            snapshot = await client.metadata([topic_name])
            topic = snapshot.topics[topic_name]
            assert topic.topic_id == ids[topic_name] and sorted(topic.partitions) == [0, 1]
            leader = await client.leader_for(topic_name, 0)
            assert leader in snapshot.brokers

            batches = [build_batch([b"a", b"b", b"c"], base_timestamp=1_000),
                       build_batch([b"d"], base_timestamp=2_000)]
            produced = []
            for batch in batches:
                result = await client.produce(leader, {(topic_name, 0): batch})
                part = result[(topic_name, 0)]
                assert part.error_code == 0
                produced.append(part.base_offset)
            assert produced == [0, 3]

            offsets = await client.list_offsets({(topic_name, 0): EARLIEST_TIMESTAMP,
                                                 (topic_name, 1): LATEST_TIMESTAMP})
            assert offsets[(topic_name, 0)].offset == 0
            assert offsets[(topic_name, 1)].offset == 0
            latest = await client.list_offsets({(topic_name, 0): LATEST_TIMESTAMP})
            assert latest[(topic_name, 0)].offset == 4
            by_time = await client.list_offsets({(topic_name, 0): 1_500})
            assert by_time[(topic_name, 0)].offset == 3
            max_ts = await client.list_offsets({(topic_name, 0): MAX_TIMESTAMP})
            assert max_ts[(topic_name, 0)].timestamp == 2_000

            session = client.fetch_session(leader)
            positions = {(topic_name, 0): FetchPosition(0), (topic_name, 1): FetchPosition(0)}
            first = await session.fetch(positions, max_wait_ms=100)
            assert first.full and first.session_id != 0
            data = first.partitions[(topic_name, 0)]
            assert data.error_code == 0 and data.high_watermark == 4
            views = list(walk_batches(data.records))
            assert [v.base_offset for v in views] == [0, 3]
            # magic, CRC and everything it covers come back as produced
            assert [bytes(v.buffer[16:]) for v in views] == [bytes(b[16:]) for b in batches]

            # Incremental: only changed positions are sent; partitions with
            # nothing new are left out of the answer.
            p0, p1 = (topic_name, 0), (topic_name, 1)
            caught_up = {p0: FetchPosition(4), p1: FetchPosition(0)}
            second = await session.fetch(caught_up, max_wait_ms=50)
            assert not second.full and second.session_id == first.session_id
            assert second.partitions == {}
            await client.produce(await client.leader_for(topic_name, 1),
                                 {p1: build_batch([b"late"])})
            third = await session.fetch(caught_up, max_wait_ms=2000)
            assert list(third.partitions) == [p1]
            assert [v.base_offset for v in walk_batches(third.partitions[p1].records)] == [0]
            # Forget partition 1.
            fourth = await session.fetch({p0: FetchPosition(4)}, max_wait_ms=50)
            assert not fourth.full and fourth.partitions == {}
            assert session.epoch == 4
            # A lost session falls back to a full fetch transparently.
            session.session_id, session.epoch = 0x7FFF0000, 9
            fifth = await session.fetch({p0: FetchPosition(3)}, max_wait_ms=50)
            assert fifth.full and session.resets == 1
            assert [v.base_offset for v in walk_batches(fifth.partitions[p0].records)] == [3]

            low = await admin.delete_records({(topic_name, 0): 3})
            assert low == {(topic_name, 0): 3}
            earliest = await client.list_offsets({(topic_name, 0): EARLIEST_TIMESTAMP})
            assert earliest[(topic_name, 0)].offset == 3

            epochs = await client.offset_for_leader_epoch({(topic_name, 0): 0})
            assert epochs[(topic_name, 0)].end_offset == 4
    run(main())


def test_acks_zero_produce_expects_no_response(source, topic_name) -> None:
    async def main() -> None:
        async with Client(source.bootstrap) as client:
            admin = Admin(client)
            await admin.create_topics([NewTopic(topic_name, 1, 1)])
            leader = await client.leader_for(topic_name, 0)
            for _ in range(5):
                assert await client.produce(leader, {(topic_name, 0): build_batch([b"x"])},
                                            acks=0) is None
            connection = await client.connection(leader)
            assert connection.in_flight == 0
            deadline = time.monotonic() + 10
            while True:
                latest = await client.list_offsets({(topic_name, 0): LATEST_TIMESTAMP})
                if latest[(topic_name, 0)].offset == 5 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            assert latest[(topic_name, 0)].offset == 5
    run(main())


def test_configs_partitions_cluster_and_groups(source, topic_name) -> None:
    async def main() -> None:
        async with Client(source.bootstrap) as client:
            admin = Admin(client)
            await admin.create_topics([NewTopic(topic_name, 1, 1,
                                                 {"compression.type": "producer"})])
            key = (ConfigResourceType.TOPIC, topic_name)
            configs = await admin.describe_configs([key], keys=["compression.type",
                                                                 "retention.ms"])
            assert configs[key]["compression.type"].value == "producer"
            await admin.incremental_alter_configs(
                {key: {"retention.ms": (AlterConfigOp.SET, "123456")}})
            configs = await admin.describe_configs([key], keys=["retention.ms"])
            assert configs[key]["retention.ms"].value == "123456"
            with pytest.raises(KafkaError) as info:
                await admin.incremental_alter_configs(
                    {key: {"no.such.config": (AlterConfigOp.SET, "1")}})
            assert info.value.name == "INVALID_CONFIG"

            await admin.create_partitions({topic_name: 3})
            snapshot = await client.metadata([topic_name])
            assert sorted(snapshot.topics[topic_name].partitions) == [0, 1, 2]
            with pytest.raises(KafkaError, match="INVALID_PARTITIONS"):
                await admin.create_partitions({topic_name: 2})

            cluster = await client.describe_cluster()
            assert cluster.cluster_id == client.snapshot.cluster_id
            assert [b.broker_id for b in cluster.brokers] == sorted(client.snapshot.brokers)

            group = f"group-{topic_name}"
            coordinator = await admin.find_coordinator(group)
            assert coordinator in client.snapshot.brokers
            await admin.offset_commit(group, {(topic_name, 0): 42, (topic_name, 2): 7},
                                       metadata="m")
            committed = await admin.offset_fetch(group)
            assert {tp: c.offset for tp, c in committed.items()} == {
                (topic_name, 0): 42, (topic_name, 2): 7}
            some = await admin.offset_fetch(group, [(topic_name, 2)])
            assert some[(topic_name, 2)].offset == 7 and some[(topic_name, 2)].metadata == "m"
            groups = await admin.list_groups()
            assert group in {g.group_id for g in groups}
            described = await admin.describe_groups([group])
            assert described[group].group_state == "Empty"
    run(main())


def test_pipelining_thousand_requests_in_flight_match(source) -> None:
    async def main() -> None:
        host, port = _address(source)
        connection = await BrokerConnection.open(host, port, ClientConfig(max_in_flight=1000))
        try:
            M = messages.MetadataRequest
            names = [f"no-such-topic-{i:04d}" for i in range(1000)]
            requests = [connection.request(M(topics=[M.MetadataRequestTopic(name=n)],
                                             allow_auto_topic_creation=False)) for n in names]
            peak = 0

            async def watch() -> None:
                nonlocal peak
                while True:
                    peak = max(peak, connection.in_flight)
                    await asyncio.sleep(0)
            watcher = asyncio.ensure_future(watch())
            responses = await asyncio.gather(*requests)
            watcher.cancel()
            assert [r.topics[0].name for r in responses] == names
            assert all(r.topics[0].error_code == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION for r in responses)
            assert peak > 500, f"only {peak} requests were in flight at once"
            assert connection.in_flight == 0
        finally:
            await connection.aclose()
    run(main())


def test_cancelled_waiters_do_not_desynchronise(source) -> None:
    async def main() -> None:
        host, port = _address(source)
        connection = await BrokerConnection.open(host, port, ClientConfig())
        try:
            M = messages.MetadataRequest
            tasks = [asyncio.ensure_future(connection.request(
                M(topics=[M.MetadataRequestTopic(name=f"t-{i}")], allow_auto_topic_creation=False)))
                for i in range(200)]
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            for task in tasks[::2]:
                task.cancel()
            done = await asyncio.gather(*tasks, return_exceptions=True)
            for i, result in enumerate(done):
                if i % 2 == 0:
                    assert isinstance(result, asyncio.CancelledError)
                else:
                    assert result.topics[0].name == f"t-{i}"
            after = await connection.request(
                M(topics=[M.MetadataRequestTopic(name="after")], allow_auto_topic_creation=False))
            assert after.topics[0].name == "after" and connection.in_flight == 0
        finally:
            await connection.aclose()
    run(main())


def test_request_timeout_closes_connection_and_fails_waiters(source, topic_name) -> None:
    async def main() -> None:
        async with Client(source.bootstrap) as client:
            admin = Admin(client)
            await admin.create_topics([NewTopic(topic_name, 1, 1)])
            leader = await client.leader_for(topic_name, 0)
            # acks=all success: the leader serves the partition, so a fetch at
            # the log end waits for max_wait_ms instead of answering an error.
            produced = await client.produce(leader, {(topic_name, 0): build_batch([b"x"])})
            assert produced[(topic_name, 0)].error_code == 0
            connection = await client.connection(leader)
            F = messages.FetchRequest
            topic_id = await client.topic_id(topic_name)
            long_poll = F(max_wait_ms=3000, min_bytes=1, topics=[F.FetchTopic(
                topic=topic_name, topic_id=topic_id,
                partitions=[F.FetchPartition(partition=0, fetch_offset=1,
                                             partition_max_bytes=1024)])])
            started = time.monotonic()
            fetch = asyncio.ensure_future(connection.request(long_poll, timeout=0.3))
            await asyncio.sleep(0)
            behind = asyncio.ensure_future(connection.request(messages.MetadataRequest(topics=[])))
            with pytest.raises(RequestTimedOut) as info:
                await fetch
            assert time.monotonic() - started < 2.5
            assert "FETCH" in str(info.value) and connection.name in str(info.value)
            with pytest.raises(ConnectionLost, match="timed out"):
                await behind
            assert connection.closed
            # The client reconnects on the next call.
            latest = await client.list_offsets({(topic_name, 0): LATEST_TIMESTAMP})
            assert latest[(topic_name, 0)].offset == 1
    run(main())


def test_dedicated_fetch_connection_does_not_hold_up_other_calls(source, topic_name) -> None:
    async def main() -> None:
        async with Client(source.bootstrap) as client:
            admin = Admin(client)
            await admin.create_topics([NewTopic(topic_name, 1, 1)])
            tp = (topic_name, 0)
            leader = await client.leader_for(*tp)
            assert (await client.produce(leader, {tp: build_batch([b"0"])}))[tp].error_code == 0
            session = client.fetch_session(leader, dedicated=True)
            try:
                poll = asyncio.ensure_future(session.fetch({tp: FetchPosition(1)},
                                                           max_wait_ms=5000))
                await asyncio.sleep(0.2)
                started = time.monotonic()
                latest = await client.list_offsets({tp: LATEST_TIMESTAMP})
                assert latest[tp].offset == 1
                assert time.monotonic() - started < 2.0
                assert not poll.done()
                await client.produce(leader, {tp: build_batch([b"1"])})
                result = await asyncio.wait_for(poll, 4)
                assert [v.base_offset for v in walk_batches(result.partitions[tp].records)] == [1]
            finally:
                await session.close()
    run(main())


def test_metadata_refreshes_periodically_and_coalesces_stale_reports(source) -> None:
    async def main() -> None:
        config = ClientConfig(metadata_max_age=0.3)
        async with Client(source.bootstrap, config) as client:
            start = client.metadata_refreshes
            await asyncio.sleep(1.5)
            periodic = client.metadata_refreshes - start
            assert 2 <= periodic <= 6, periodic
        async with Client(source.bootstrap) as client:  # default: 5 minutes
            start = client.metadata_refreshes
            for _ in range(100):
                client.mark_stale("test burst")
            await asyncio.sleep(0.5)
            assert client.metadata_refreshes - start == 1
    run(main())


def test_bootstrap_skips_dead_addresses_and_names_them_when_all_fail(source) -> None:
    import socket
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{probe.getsockname()[1]}"

    async def main() -> None:
        async with Client([dead, source.bootstrap]) as client:
            assert client.snapshot.brokers
        client = Client(dead, ClientConfig(connect_timeout=2))
        try:
            with pytest.raises(MetadataUnavailable) as info:
                await client.start()
        finally:
            await client.close()
        assert f"cannot connect to broker {dead}" in str(info.value)
    run(main())


def test_pool_opens_another_connection_when_the_open_ones_are_busy(source, topic_name) -> None:
    async def main() -> None:
        async with Client(source.bootstrap, ClientConfig(connections_per_broker=2)) as client:
            admin = Admin(client)
            await admin.create_topics([NewTopic(topic_name, 1, 1)])
            tp = (topic_name, 0)
            leader = await client.leader_for(*tp)
            assert (await client.produce(leader, {tp: build_batch([b"0"])}))[tp].error_code == 0
            first = await client.connection(leader)
            poll = asyncio.ensure_future(client.fetch(leader, {tp: FetchPosition(1)},
                                                      max_wait_ms=3000))
            await asyncio.sleep(0.2)
            assert first.in_flight == 1
            second = await client.connection(leader)
            assert second is not first
            started = time.monotonic()
            await client.request(leader, messages.MetadataRequest(topics=[]))
            assert time.monotonic() - started < 1.5
            assert (await client.connection(leader)) in (first, second)
            poll.cancel()
    run(main())
