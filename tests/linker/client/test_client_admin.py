"""The routing core's log-end lookup and errors, and the admin layer's newer calls,
against a real broker."""
from __future__ import annotations

import dataclasses

import pytest

from kproto.errors import ErrorCode
from kproto.records import build_batch, walk_batches
from linker.client import (EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, LOG_END, READ_COMMITTED, Admin,
                           Client, ClientConfig, FetchPosition, KafkaError, NewTopic,
                           ProducerIdAndEpoch, run)


def _with_epoch(client: Client, tp: tuple[str, int], epoch: int) -> None:
    """Pretend the cached metadata names another leader epoch for `tp`."""
    snap = client.snapshot
    info = snap.topics[tp[0]]
    parts = dict(info.partitions)
    parts[tp[1]] = dataclasses.replace(parts[tp[1]], leader_epoch=epoch)
    topics = dict(snap.topics)
    topics[tp[0]] = dataclasses.replace(info, partitions=parts)
    client.snapshot = dataclasses.replace(snap, topics=topics)


def test_log_end_offsets_carry_the_leader_epoch(source, topic_name) -> None:
    async def main() -> None:
        async with Client(source.bootstrap, ClientConfig(request_timeout=3)) as client:
            admin = Admin(client)
            await admin.create_topics([NewTopic(topic_name, 2, 1)])
            tp = (topic_name, 0)
            await client.produce(client.leader(tp), {tp: build_batch([b"a", b"b"])})
            assert await client.offsets([tp, (topic_name, 1)], LOG_END) == {tp: 2, (topic_name, 1): 0}
            assert await client.offsets([tp], EARLIEST_TIMESTAMP) == {tp: 0}
            mixed = await client.list_offsets({tp: LOG_END, (topic_name, 1): LATEST_TIMESTAMP})
            assert mixed[tp].offset == 2 and mixed[(topic_name, 1)].offset == 0

            # A newer epoch than the broker's: it answers UNKNOWN_LEADER_EPOCH,
            # which counts as stale metadata: refreshed and asked again.
            real = client.leader_epoch(tp)
            _with_epoch(client, tp, real + 5)
            refreshes = client.metadata_refreshes
            assert await client.offsets([tp], LOG_END) == {tp: 2}
            assert client.metadata_refreshes > refreshes and client.leader_epoch(tp) == real

            # Per-partition errors name the partition, the API and the code.
            with pytest.raises(KafkaError) as info:
                await client.offsets([(topic_name, 7)], LOG_END)
            assert info.value.tp == (topic_name, 7) and info.value.stale_metadata
            assert info.value.code is ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            with pytest.raises(KafkaError) as info:
                await admin.delete_records({tp: 99})
            assert info.value.tp == tp and info.value.api == "DeleteRecords"
            assert info.value.code is ErrorCode.OFFSET_OUT_OF_RANGE and not info.value.stale_metadata
            assert f"DeleteRecords {topic_name}-0" in str(info.value)
    run(main())


def test_topic_conveniences_and_group_edges(source, topic_name) -> None:
    async def main() -> None:
        async with Client(source.bootstrap) as client:
            admin = Admin(client)
            ids = await admin.create_topics([NewTopic(topic_name, 1, 1)])
            assert (await admin.create_topics([NewTopic(topic_name, 1, 1)], exist_ok=True)
                    == {topic_name: None})
            assert ids[topic_name] is not None
            await admin.create_partitions({topic_name: 2})
            await admin.create_partitions({topic_name: 2}, exist_ok=True)
            await admin.create_partitions({topic_name: 1}, exist_ok=True)
            with pytest.raises(KafkaError) as info:
                await admin.create_partitions({topic_name: 1})
            assert info.value.code is ErrorCode.INVALID_PARTITIONS and info.value.tp == (topic_name, -1)

            await admin.alter_topic_configs(topic_name, {"retention.ms": "654321"})
            configs = await admin.topic_configs([topic_name])
            assert configs[topic_name]["retention.ms"] == "654321"
            assert await admin.topic_configs([]) == {}

            assert await admin.offset_fetch(f"nobody-{topic_name}") == {}
            group = f"group-{topic_name}"
            errors = await admin.offset_commit(group, {(topic_name, 0): 1, (topic_name, 9): 2},
                                               return_errors=True)
            assert list(errors) == [(topic_name, 9)]
            assert errors[(topic_name, 9)].code is ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            assert {tp: c.offset for tp, c in (await admin.offset_fetch(group)).items()} == {
                (topic_name, 0): 1}
    run(main())


def test_fetch_session_forgets_paused_partitions_and_takes_them_back(source, topic_name) -> None:
    async def main() -> None:
        async with Client(source.bootstrap) as client:
            await Admin(client).create_topics([NewTopic(topic_name, 2, 1)])
            p0, p1 = (topic_name, 0), (topic_name, 1)
            leader = client.leader(p0)
            await client.produce(leader, {p0: build_batch([b"x"]), p1: build_batch([b"y"])})
            session = client.fetch_session(leader)
            first = await session.fetch({p0: FetchPosition(0), p1: FetchPosition(0)}, max_wait_ms=50)
            assert set(first.partitions) == {p0, p1} and set(session.partitions) == {p0, p1}
            # p1 paused (say, by a byte budget): it leaves the session.
            paused = await session.fetch({p0: FetchPosition(1)}, max_wait_ms=50)
            assert not paused.full and set(session.partitions) == {p0}
            # Back again at its old position: sent again and answered with data.
            back = await session.fetch({p0: FetchPosition(1), p1: FetchPosition(0)}, max_wait_ms=50)
            assert not back.full and list(back.partitions) == [p1]
            assert [v.base_offset for v in walk_batches(back.partitions[p1].records)] == [0]
            await session.close()
    run(main())


def test_producer_ids_and_a_transaction(source, topic_name) -> None:
    async def main() -> None:
        async with Client(source.bootstrap) as client:
            admin = Admin(client)
            await admin.create_topics([NewTopic(topic_name, 1, 1)])
            tp = (topic_name, 0)
            idempotent = await admin.init_producer_id(node=client.leader(tp))
            assert idempotent.producer_id >= 0 and idempotent.producer_epoch == 0

            txn = f"txn-{topic_name}"
            producer = await admin.init_producer_id(transactional_id=txn)
            await admin.add_partitions_to_txn(txn, producer, [tp])
            batch = build_batch([b"in", b"txn"], producer_id=producer.producer_id,
                                producer_epoch=producer.producer_epoch, base_sequence=0,
                                transactional=True)
            answer = await client.produce(client.leader(tp), {tp: batch}, transactional_id=txn)
            assert answer[tp].error_code == 0 and answer[tp].base_offset == 0
            # DescribeTransactions: the open transaction, without touching it.
            described = await admin.describe_transaction(txn)
            assert described is not None and described.state == "Ongoing"
            assert (described.producer_id, described.producer_epoch) == (producer.producer_id,
                                                                         producer.producer_epoch)
            assert described.partitions == {tp}
            assert await admin.describe_transaction(f"{txn}-never-used") is None
            # Open: a read_committed reader sees nothing yet (last stable offset 0).
            lso = await client.list_offsets({tp: LATEST_TIMESTAMP}, isolation_level=READ_COMMITTED)
            assert lso[tp].offset == 0
            states = await admin.describe_producers([tp])
            assert [s.producer_id for s in states[tp]] == [producer.producer_id]
            assert states[tp][0].current_txn_start_offset == 0

            after = await admin.end_txn(txn, producer, commit=True)
            assert isinstance(after, ProducerIdAndEpoch) and after.producer_id == producer.producer_id
            # Two records and the commit marker; all stable now.
            for _ in range(50):
                lso = await client.list_offsets({tp: LATEST_TIMESTAMP}, isolation_level=READ_COMMITTED)
                if lso[tp].offset == 3:
                    break
            assert lso[tp].offset == 3
            assert (await admin.describe_producers([tp]))[tp][0].current_txn_start_offset == -1

            # A second init fences the first producer's epoch.
            again = await admin.init_producer_id(transactional_id=txn)
            assert again.producer_id == producer.producer_id and again.producer_epoch > after.producer_epoch
            with pytest.raises(KafkaError) as info:
                await admin.add_partitions_to_txn(txn, producer, [tp])
            assert info.value.code in (ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.PRODUCER_FENCED)
    run(main())
