"""The migration source runs Kafka 3.9.x: the same calls at the versions it offers."""
from __future__ import annotations

from kproto import ApiKey
from kproto.records import build_batch, walk_batches
from linker.client import (Admin, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, ConfigResourceType, FetchPosition,
                           Client, NewTopic, run)


def test_round_trip_against_kafka_39(source39, topic_name) -> None:
    async def main() -> None:
        async with Client(source39.bootstrap) as client:
            admin = Admin(client)
            await admin.create_topics([NewTopic(topic_name, 1, 1)])
            tp = (topic_name, 0)
            leader = await client.leader_for(*tp)
            connection = await client.connection(leader)
            broker_fetch = connection.api_versions[ApiKey.FETCH]
            assert connection.version_for(ApiKey.FETCH) == broker_fetch[1] < 18
            batch = build_batch([b"one", b"two"])
            produced = await client.produce(leader, {tp: batch})
            assert produced[tp].error_code == 0 and produced[tp].base_offset == 0
            offsets = await client.list_offsets({tp: LATEST_TIMESTAMP})
            assert offsets[tp].offset == 2
            assert (await client.list_offsets({tp: EARLIEST_TIMESTAMP}))[tp].offset == 0
            session = client.fetch_session(leader)
            result = await session.fetch({tp: FetchPosition(0)}, max_wait_ms=100)
            views = list(walk_batches(result.partitions[tp].records))
            assert [bytes(v.buffer[16:]) for v in views] == [batch[16:]]
            again = await session.fetch({tp: FetchPosition(2)}, max_wait_ms=50)
            assert not again.full and again.partitions == {}
            key = (ConfigResourceType.TOPIC, topic_name)
            configs = await admin.describe_configs([key], keys=["cleanup.policy"])
            assert configs[key]["cleanup.policy"].value == "delete"
            epochs = await client.offset_for_leader_epoch({tp: 0})
            assert epochs[tp].end_offset == 2
    run(main())
