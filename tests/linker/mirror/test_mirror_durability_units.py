"""Pure rules behind the durability fixes (issue 14, findings 3, 4 and 8)."""
from __future__ import annotations

from kproto.errors import ErrorCode
from linker.mirror.checks import Verdict, judge_produce, truncation_problem
from linker.mirror.state import TERMINAL, PartitionState, PartitionStatus
from linker.mirror.topics import durability_configs, repair_configs
from linker.settings import MirrorSettings


def test_durability_configs_follow_the_replication_factor():
    m = MirrorSettings()
    assert durability_configs(1, m) == {"min.insync.replicas": "1", "unclean.leader.election.enable": "false"}
    assert durability_configs(3, m)["min.insync.replicas"] == "2"
    assert durability_configs(5, MirrorSettings(min_insync_replicas=3))["min.insync.replicas"] == "3"
    # Never more than the replicas there are (every produce would fail).
    assert durability_configs(2, MirrorSettings(min_insync_replicas=3))["min.insync.replicas"] == "2"
    assert durability_configs(3, MirrorSettings(unclean_leader_election_enable=True))[
        "unclean.leader.election.enable"] == "true"


def test_truncation_names_both_offsets():
    assert truncation_problem(100, 100) is None
    assert truncation_problem(100, 120) is None
    why = truncation_problem(100, 40)
    assert why is not None and "destination log end 40" in why and "highest acknowledged end 100" in why


def test_dest_truncated_is_terminal_and_not_exact():
    st = PartitionStatus("t", 0, state=PartitionState.MIRRORING)
    st.move(PartitionState.DEST_TRUNCATED, "lost", offset=3)
    assert st.state in TERMINAL and st.fidelity.value == "not-exact"


def test_config_refusals_are_repairable():
    m = MirrorSettings()
    assert repair_configs(ErrorCode.MESSAGE_TOO_LARGE, 5000, m) == {"max.message.bytes": "5000"}
    ts = repair_configs(ErrorCode.INVALID_TIMESTAMP, 5000, m)
    assert ts["message.timestamp.before.max.ms"] == ts["message.timestamp.after.max.ms"] == str(2**63 - 2)
    assert repair_configs(ErrorCode.CORRUPT_MESSAGE, 5000, m) == {}


def test_a_recreated_destination_topic_is_retried_not_failed():
    assert judge_produce(10, ErrorCode.UNKNOWN_TOPIC_ID, -1)[0] is Verdict.RETRY
