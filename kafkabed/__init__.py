"""kafkabed: real Apache Kafka clusters for tests, benchmarks and the demo.

Test-bed infrastructure only: kproto and the linker runtime never import it.
"""
from . import procs
from .cluster import Broker, ClusterError, KafkaCluster, ListenerInfo, run_dir, started_clusters
# The `fetch` function stays in kafkabed.fetch so the submodule name is not shadowed.
from .fetch import FetchError, cache_root, classpath, fetch_all, fetch_artifacts, kafka_jars
from .versions import MATRIX, MIGRATION_SOURCE, PINNED, PREVIOUS_4X

__all__ = [
    "Broker", "ClusterError", "FetchError", "KafkaCluster", "ListenerInfo", "MATRIX",
    "MIGRATION_SOURCE", "PINNED", "PREVIOUS_4X", "cache_root", "classpath", "fetch_all",
    "fetch_artifacts", "kafka_jars", "run_dir", "started_clusters",
]
