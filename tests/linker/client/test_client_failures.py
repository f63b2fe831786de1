"""Broker kills in a real 3-node cluster: prompt errors, metadata refresh, reconnect."""
from __future__ import annotations

import asyncio
import time

import pytest

from kproto.errors import ErrorCode
from kproto.records import build_batch
from linker.client.kafka_errors import raise_for_code
from linker.client import (LATEST_TIMESTAMP, LOG_END, Admin, Client, ClientConfig, ClientError,
                           ConnectionLost, FetchPosition, NewTopic, run)

pytestmark = pytest.mark.slow


async def _until(deadline: float, attempt):
    """Retry `attempt()` on client errors until it succeeds or the deadline passes."""
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            return await attempt()
        except ClientError as exc:
            last = exc
            await asyncio.sleep(0.2)
    raise AssertionError(f"still failing at the deadline: {last}")


def test_leader_kill_triggers_refresh_and_requests_succeed_again(cluster3, topic_name) -> None:
    config = ClientConfig(request_timeout=10, reconnect_backoff_max=1.0)

    async def main() -> None:
        async with Client(cluster3.bootstrap, config) as client:
            admin = Admin(client)
            await admin.create_topics([NewTopic(topic_name, 1, 3)])
            tp = (topic_name, 0)
            old_leader = await client.leader_for(*tp)
            first = await client.produce(old_leader, {tp: build_batch([b"before"])})
            assert first[tp].error_code == 0
            refreshes = client.metadata_refreshes
            await asyncio.to_thread(cluster3.kill, old_leader)
            try:
                deadline = time.monotonic() + 60
                latest = await _until(deadline, lambda: client.list_offsets({tp: LATEST_TIMESTAMP}))
                assert latest[tp].offset == 1
                new_leader = client.snapshot.topics[topic_name].partitions[0].leader
                assert new_leader not in (old_leader, -1)
                assert client.metadata_refreshes > refreshes

                async def produce_again():
                    leader = await client.leader_for(*tp)
                    result = await client.produce(leader, {tp: build_batch([b"after"])})
                    raise_for_code(result[tp].error_code, context="Produce")  # retried by _until
                    return result[tp]
                again = await _until(deadline, produce_again)
                assert again.base_offset == 1
            finally:
                await asyncio.to_thread(cluster3.start_broker, old_leader)
    run(main())


def test_broker_killed_mid_request_fails_fast_then_reconnects(cluster3, topic_name) -> None:
    config = ClientConfig(request_timeout=10, reconnect_backoff=0.05, reconnect_backoff_max=1.0)

    async def main() -> None:
        async with Client(cluster3.bootstrap, config) as client:
            admin = Admin(client)
            await admin.create_topics([NewTopic(topic_name, 1, 3)])
            tp = (topic_name, 0)
            node = await client.leader_for(*tp)
            # acks=all success: the leader serves the partition, so a fetch
            # at the end of the log is a long poll that only the kill ends.
            produced = await client.produce(node, {tp: build_batch([b"x"])})
            assert produced[tp].error_code == 0
            connection = await client.connection(node)
            session = client.fetch_session(node)
            fetch = asyncio.ensure_future(session.fetch({tp: FetchPosition(1)}, max_wait_ms=20_000))
            await asyncio.sleep(0.3)
            assert connection.in_flight == 1
            started = time.monotonic()
            await asyncio.to_thread(cluster3.kill, node)
            with pytest.raises(ConnectionLost) as info:
                await fetch
            assert time.monotonic() - started < config.request_timeout
            assert f"{node} (" in str(info.value) and "lost" in str(info.value)
            try:
                with pytest.raises(ClientError):
                    await client.request(node, _metadata())
            finally:
                await asyncio.to_thread(cluster3.start_broker, node)
            pool = client._pools[node]
            before = pool.connects
            response = await _until(time.monotonic() + 60, lambda: client.request(node, _metadata()))
            assert node in {b.node_id for b in response.brokers}
            assert pool.connects == before + 1
    run(main())


def _metadata():
    from kproto import messages
    return messages.MetadataRequest(topics=[])


async def _knows_topic(client: Client, node: int, topic: str) -> None:
    """Raise until broker `node` has the topic in its own metadata (a loaded follower
    can be behind the leaders and answer UNKNOWN_TOPIC_ID meanwhile)."""
    from kproto import messages
    M = messages.MetadataRequest
    response = await client.request(node, M(topics=[M.MetadataRequestTopic(name=topic)],
                                             allow_auto_topic_creation=False))
    if response.topics[0].error_code:
        raise ClientError(f"broker {node} does not know {topic} yet")


def test_not_leader_answer_names_the_leader_before_any_refresh(cluster3, topic_name) -> None:
    """KIP-951: a Produce error names the current leader; the cache uses it at once."""
    import dataclasses

    async def main() -> None:
        async with Client(cluster3.bootstrap) as client:
            admin = Admin(client)
            await admin.create_topics([NewTopic(topic_name, 1, 3)])
            tp = (topic_name, 0)
            truth = client.partition(*tp)
            follower = next(n for n in truth.replicas if n != truth.leader)
            await _until(time.monotonic() + 60, lambda: _knows_topic(client, follower, topic_name))
            # A cache that is behind: it names a follower, at an older epoch.
            info = client.snapshot.topics[topic_name]
            behind = dataclasses.replace(truth, leader=follower, leader_epoch=truth.leader_epoch - 1)
            client.snapshot = dataclasses.replace(client.snapshot, topics={
                **client.snapshot.topics,
                topic_name: dataclasses.replace(info, partitions={0: behind})})
            refreshes = client.metadata_refreshes
            result = await client.produce(follower, {tp: build_batch([b"x"])})
            assert result[tp].error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER
            assert client.metadata_refreshes == refreshes, "the hint, not a refresh, fixed it"
            fixed = client.partition(*tp)
            assert (fixed.leader, fixed.leader_epoch) == (truth.leader, truth.leader_epoch)
    run(main())


def test_a_demoted_leader_answers_the_log_end_lookup_with_fenced_leader_epoch(cluster3, topic_name) -> None:
    """ListOffsets as the debugging replica is answered by followers too; the leader
    epoch from metadata is what makes a demoted leader refuse instead of giving its
    own log end."""
    import dataclasses

    from kproto import messages
    config = ClientConfig(request_timeout=10, reconnect_backoff_max=1.0)

    async def raw_log_end(client: Client, node: int, tp: tuple[str, int], epoch: int) -> int:
        L = messages.ListOffsetsRequest
        response = await client.request(node, L(replica_id=-2, isolation_level=0, topics=[
            L.ListOffsetsTopic(name=tp[0], partitions=[L.ListOffsetsPartition(
                partition_index=tp[1], timestamp=LATEST_TIMESTAMP, current_leader_epoch=epoch)])]))
        return response.topics[0].partitions[0].error_code

    async def main() -> None:
        async with Client(cluster3.bootstrap, config) as client:
            await Admin(client).create_topics([NewTopic(topic_name, 1, 3)])
            tp = (topic_name, 0)
            old = client.partition(*tp)
            assert (await client.produce(old.leader, {tp: build_batch([b"a"])}))[tp].error_code == 0
            await asyncio.to_thread(cluster3.kill, old.leader)
            try:
                deadline = time.monotonic() + 60
                await _until(deadline, lambda: client.offsets([tp], LOG_END))
            finally:
                await asyncio.to_thread(cluster3.start_broker, old.leader)
            new = client.partition(*tp)
            assert new.leader != old.leader and new.leader_epoch > old.leader_epoch

            # The old leader is back as a follower: asked with the old epoch it refuses.
            async def fenced() -> None:
                code = await raw_log_end(client, old.leader, tp, old.leader_epoch)
                if code != ErrorCode.FENCED_LEADER_EPOCH:
                    raise ClientError(f"not fenced yet: {ErrorCode(code).name}")
            await _until(time.monotonic() + 60, fenced)
            assert await raw_log_end(client, old.leader, tp, -1) == 0, "without an epoch a follower answers"

            # A cache still naming the old leader and epoch: fenced, refreshed, asked again.
            info = client.snapshot.topics[topic_name]
            client.snapshot = dataclasses.replace(client.snapshot, topics={
                **client.snapshot.topics, topic_name: dataclasses.replace(info, partitions={0: old})})
            refreshes = client.metadata_refreshes
            assert await client.offsets([tp], LOG_END) == {tp: 1}
            assert client.metadata_refreshes > refreshes
            assert client.partition(*tp).leader_epoch == new.leader_epoch
    run(main())
