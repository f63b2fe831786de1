"""Replication benchmark (issue #9): linker against MirrorMaker 2, a naive
kafka-python replicator and the broker's own produce ceiling, on the same
kafkabed clusters in the same run. Entry point: ``python -m benchmarks.run``."""
