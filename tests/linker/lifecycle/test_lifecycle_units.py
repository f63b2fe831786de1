"""Pure parts of the lifecycle: state-topic records, command rules, settings, config sync plan."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from linker.settings import ConfigError, MirrorSettings
from linker.lifecycle.config_sync import config_changes
from linker.lifecycle.records import (ProgressRecord, RecordFormatError, TopicRecord, TopicState, command_refusal,
                                      parse_progress_record, parse_topic_record)
from linker.settings.lifecycle import parse_lifecycle
from linker.lifecycle.store_view import LinkState

offsets = st.dictionaries(st.integers(0, 10_000), st.integers(0, 2**62), max_size=20)


@given(st.text(alphabet="abcXYZ._-0123", min_size=1, max_size=40), st.sampled_from(list(TopicState)),
       st.text(max_size=30), offsets, st.none() | offsets)
def test_topic_record_round_trip(topic, state, reason, offs, rpo):
    r = TopicRecord(topic, state, reason, by="linker", at_ms=123, offsets=offs, rpo=rpo)
    back = parse_topic_record(r.key(), r.value())
    assert back == r


@given(offsets)
def test_progress_record_round_trip(ends):
    r = ProgressRecord("t", ends, at_ms=5)
    assert parse_progress_record(r.key(), r.value()) == r


@pytest.mark.parametrize("value, fragment", [
    (b"not json", "not JSON"),
    (b'{"v": 2, "state": "ACTIVE"}', '"v": 1'),
    (b'{"v": 1, "state": "SLEEPING"}', "unknown state 'SLEEPING'"),
    (b'{"v": 1, "state": "ACTIVE", "offsets": {"x": 1}}', "partition numbers"),
])
def test_bad_topic_records_are_named(value, fragment):
    with pytest.raises(RecordFormatError, match="topic/t") as e:
        parse_topic_record(b"topic/t", value)
    assert fragment in str(e.value)


def test_link_state_skips_bad_records_and_keeps_good_ones():
    good = TopicRecord("a", TopicState.PAUSED)
    st_ = LinkState.from_records({good.key(): good.value(), b"topic/b": b"garbage"})
    assert set(st_.topics) == {"a"} and st_.topics["a"].state is TopicState.PAUSED


def test_command_rules():
    assert command_refusal("pause", "t", TopicState.ACTIVE) is None
    assert command_refusal("promote", "t", TopicState.PROMOTING) is None
    assert "STOPPED" in command_refusal("resume", "t", TopicState.STOPPED)
    assert command_refusal("promote", "t", TopicState.FAILED) is not None   # failover is the way out
    assert command_refusal("failover", "t", TopicState.FAILED) is None


def test_settings_defaults_and_errors():
    s = parse_lifecycle({})
    assert s.state_topic_for("eu") == "__linker-eu-state"
    assert s.group_selected("anything")
    s = parse_lifecycle({"groups_include": ["app-.*"], "groups_exclude": ["app-tmp"]})
    assert s.group_selected("app-1") and not s.group_selected("app-tmp") and not s.group_selected("other")
    with pytest.raises(ConfigError, match="lifecycle.state_poll_ms"):
        parse_lifecycle({"state_poll_ms": 0})
    with pytest.raises(ConfigError, match=r"lifecycle.groups_include\[0\]"):
        parse_lifecycle({"groups_include": ["("]})
    with pytest.raises(ConfigError, match="lifecycle.bogus"):
        parse_lifecycle({"bogus": 1})


def test_config_sync_plan_copies_forces_and_keeps():
    m = MirrorSettings()
    src = {"retention.ms": "1000", "cleanup.policy": "delete", "segment.bytes": "1"}
    dst = {"retention.ms": "5", "cleanup.policy": "delete", "message.timestamp.type": "CreateTime",
           "message.timestamp.before.max.ms": str(m.timestamp_before_max_ms),
           "message.timestamp.after.max.ms": str(m.timestamp_after_max_ms), "compression.type": "lz4",
           "segment.bytes": "99"}
    ch = config_changes(src, dst, m, keep=())
    assert ch == {"retention.ms": "1000", "compression.type": "producer"}   # segment.bytes never touched
    ch = config_changes(src, dst, m, keep=("retention.ms", "compression.type"))
    assert ch == {"compression.type": "producer"}   # a forced key cannot be kept
    compacted = config_changes({"cleanup.policy": "compact", "retention.ms": "7"}, dst, m, keep=("retention.ms",))
    assert "retention.ms" not in compacted             # kept: only the policy is forced
    assert compacted["cleanup.policy"] == "compact"    # the mirror's cleaner removes compaction fillers


def test_acl_selection_copies_literal_topic_and_group_acls_only():
    from linker.client import AclBinding, AclOperation, AclPermission, PatternType, ResourceType
    from linker.lifecycle.acl_sync import select_bindings
    TOPIC, GROUP = ResourceType.TOPIC, ResourceType.GROUP
    LITERAL, PREFIXED = PatternType.LITERAL, PatternType.PREFIXED
    READ, WRITE, ALLOW, DENY = AclOperation.READ, AclOperation.WRITE, AclPermission.ALLOW, AclPermission.DENY

    def Binding(resource_type, name, pattern_type, principal, host, operation, permission):
        return AclBinding(resource_type, name, principal, operation, permission, host, pattern_type)
    b = [Binding(TOPIC, "orders", LITERAL, "User:alice", "*", READ, ALLOW),
         Binding(TOPIC, "orders", LITERAL, "User:*", "*", WRITE, DENY),          # the linker's own DENY
         Binding(TOPIC, "ord", PREFIXED, "User:bob", "*", WRITE, ALLOW),         # may cover other topics
         Binding(TOPIC, "other", LITERAL, "User:alice", "*", READ, ALLOW),       # not mirrored
         Binding(GROUP, "app", LITERAL, "User:alice", "*", READ, ALLOW),
         Binding(GROUP, "tmp", LITERAL, "User:alice", "*", READ, ALLOW),         # group not selected
         Binding(TOPIC, "orders", LITERAL, "User:ops", "*", READ, ALLOW)]        # principal excluded
    got = select_bindings(b, {"orders"}, lambda g: g != "tmp", ("User:ops",))
    assert got == sorted([b[0], b[4]])


def test_promote_is_allowed_on_stopped_topics_to_finish_them():
    assert command_refusal("promote", "t", TopicState.STOPPED) is None
    assert "STOPPED" in command_refusal("pause", "t", TopicState.STOPPED)
