"""Every broker of the version matrix runs, as a source or a destination.

The fixtures `destination` (the pinned 4.4.x), `cluster41` (4.1.x), `source39`
and `destination39` (3.9.x) are the matrix; this checks each one really is the
release it claims (by its protocol range) and carries records both ways.
"""
from __future__ import annotations

from kafkabed import MATRIX, MIGRATION_SOURCE, PINNED, PREVIOUS_4X
from kafkabed.probe import ProbeConnection, broker_view
from kafkabed.producers import consume, produce

_LIST_OFFSETS = 2
_API_VERSIONS = 18


def _ranges(cluster) -> dict[int, tuple[int, int]]:
    b = cluster.brokers[0]
    with ProbeConnection(b.host, b.ports["PLAINTEXT"]) as conn:
        return conn.api_versions()


def test_matrix_brokers_speak_their_own_protocol_ranges(destination, cluster41, destination39):
    """ListOffsets tops out at v9 on 3.9, v10 on 4.1 and v11 on 4.4; ApiVersions v5 is new in 4.4."""
    assert (destination.version, cluster41.version, destination39.version) == MATRIX
    newest, middle, oldest = (_ranges(c) for c in (destination, cluster41, destination39))
    assert [r[_LIST_OFFSETS][1] for r in (oldest, middle, newest)] == [9, 10, 11]
    assert [r[_API_VERSIONS][1] for r in (oldest, middle, newest)] == [4, 4, 5]
    for cluster in (destination, cluster41, destination39):
        assert [x.node_id for x in broker_view("127.0.0.1", cluster.brokers[0].ports["PLAINTEXT"])] == [1]


def test_records_cross_every_version(source39, cluster41, destination39, destination, topic_names):
    """Each release takes a produce and serves it back to both test clients."""
    for cluster, client in ((destination, "confluent"), (cluster41, "kafka-python"),
                            (destination39, "confluent"), (source39, "kafka-python")):
        topic = topic_names(cluster.name)
        cluster.create_topic(topic)
        produced = produce(cluster, topic, 5, client=client, compression="zstd")
        assert [c.value for c in consume(cluster, topic, 5, client=client)] == [r.value for r in produced.records]
    assert {source39.version, destination39.version} == {MIGRATION_SOURCE}
    assert cluster41.version == PREVIOUS_4X and destination.version == PINNED
