from linker.settings import MirrorSettings
from linker.mirror.topics import config_drift, plan_topics, required_configs

SRC = {"cleanup.policy": "delete", "retention.ms": "604800000", "retention.bytes": "-1",
       "max.message.bytes": "1048588", "segment.bytes": "1073741824", "compression.type": "lz4"}


def test_required_configs_for_a_delete_topic():
    req = required_configs(SRC, MirrorSettings(timestamp_after_max_ms=3_600_000))
    assert req == {"cleanup.policy": "delete", "retention.ms": "604800000", "retention.bytes": "-1",
                   "max.message.bytes": "1048588", "message.timestamp.type": "CreateTime",
                   "message.timestamp.before.max.ms": "9223372036854775806",
                   "message.timestamp.after.max.ms": "3600000", "compression.type": "producer"}


def test_compacted_source_gets_a_mirror_with_its_cleanup_policy_and_retention():
    req = required_configs({**SRC, "cleanup.policy": "compact,delete"}, MirrorSettings())
    assert (req["cleanup.policy"], req["retention.ms"], req["retention.bytes"]) == ("compact,delete", "604800000", "-1")


def test_drift_accepts_a_larger_max_message_bytes():
    req = required_configs(SRC, MirrorSettings())
    have = {**req, "max.message.bytes": "8388608", "compression.type": "zstd"}
    assert config_drift(req, have) == {"compression.type": "producer"}
    assert config_drift(req, {**req, "max.message.bytes": "1000"}) == {"max.message.bytes": "1048588"}


def test_plan_create_adopt_and_refuse():
    plans = {p.topic: p for p in plan_topics(
        {"new": 3, "same": 2, "wrong": 2, "grown": 4}, {"same": 2, "wrong": 4, "grown": 2},
        {"new": SRC, "same": SRC, "wrong": SRC, "grown": SRC},
        {"same": required_configs(SRC, MirrorSettings()), "grown": required_configs(SRC, MirrorSettings())},
        MirrorSettings())}
    assert (plans["grown"].grow_from, plans["grown"].partitions, plans["grown"].problem) == (2, 4, "")
    assert plans["new"].create and plans["new"].partitions == 3
    assert not plans["same"].create and plans["same"].configs == {} and not plans["same"].problem
    assert plans["wrong"].problem == "destination topic has 4 partitions, source has 2"
    off = plan_topics({"new": 1}, {}, {"new": SRC}, {}, MirrorSettings(create_topics=False))[0]
    assert "create_topics is false" in off.problem
