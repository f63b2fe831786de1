"""kafkabed: real Apache Kafka clusters for tests, benchmarks and the demo.

Test-bed infrastructure only: kproto and the linker runtime never import it.
"""
from . import procs
from .cluster import Broker, ClusterError, KafkaCluster, ListenerInfo, run_dir, started_clusters
# The `fetch` function stays in kafkabed.fetch so the submodule name is not shadowed.
from .fetch import FetchError, cache_root, classpath, fetch_all, fetch_artifacts, kafka_jars
from .versions import MIGRATION_SOURCE, PINNED

__all__ = [
    "Broker", "ClusterError", "FetchError", "KafkaCluster", "ListenerInfo", "MIGRATION_SOURCE",
    "PINNED", "cache_root", "classpath", "fetch_all", "fetch_artifacts", "kafka_jars",
    "run_dir", "started_clusters",
]
