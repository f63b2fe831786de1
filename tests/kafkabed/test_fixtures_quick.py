"""The session fixtures give running, usable clusters."""
from kafkabed.producers import consume, produce


def test_source_and_destination_are_distinct_running_clusters(source, destination, topic_name):
    assert source.running and destination.running
    assert source.bootstrap != destination.bootstrap
    source.create_topic(topic_name)
    produced = produce(source, topic_name, 5)
    assert [o for _, o in produced.offsets] == [0, 1, 2, 3, 4]
    assert [c.value for c in consume(source, topic_name, 5)] == [r.value for r in produced.records]
    # the topic exists only where it was created
    assert topic_name not in destination.admin().list_topics()
