"""After promote, the configs mirroring forced go back to the source's values; a mirror with a
lower min.insync.replicas than the source is warned about (issue 21, finding 10)."""
from __future__ import annotations

import logging

from kafkabed.producers import produce

from .helpers import Linker, command, link_config
from .test_lifecycle_sync import topic_config

SOURCE_CONFIGS = {"cleanup.policy": "compact", "compression.type": "gzip",
                  "message.timestamp.before.max.ms": "3600000", "min.insync.replicas": "2"}


def test_promote_restores_forced_configs_and_warns_about_min_isr(source, destination, topic_name, caplog):
    source.create_topic(topic_name, partitions=1, configs={**SOURCE_CONFIGS, "min.insync.replicas": "1"})
    produce(source, topic_name, 10)
    source.set_topic_config(topic_name, {"min.insync.replicas": "2"})   # one node: only for the warning
    cfg = link_config(source, destination, f"restore-{topic_name[-8:]}", names=[topic_name])
    with Linker(cfg) as linker:
        linker.wait(lambda: linker.acked(topic_name) == {0: 10}, why="mirrored")
        assert topic_config(destination, topic_name, "compression.type") == "producer"   # forced while mirrored
        # a compacted source keeps its policy on the mirror: the destination cleaner removes fillers
        assert topic_config(destination, topic_name, "cleanup.policy") == "compact"
        with caplog.at_level(logging.WARNING, logger="linker.lifecycle"):
            command(cfg, "promote", [topic_name])
    after = {k: topic_config(destination, topic_name, k) for k in SOURCE_CONFIGS}
    assert after == {**SOURCE_CONFIGS, "min.insync.replicas": "1"}, after
    assert "min.insync.replicas is 1 on the mirror, 2 on the source" in caplog.text
