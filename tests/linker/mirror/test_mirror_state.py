import logging

import pytest

from linker.mirror.state import Fidelity, IllegalTransition, PartitionState, PartitionStatus


def test_one_log_line_per_change(caplog):
    s = PartitionStatus("t", 0)
    with caplog.at_level(logging.INFO, logger="linker.mirror"):
        s.move(PartitionState.MIRRORING)
        s.move(PartitionState.MIRRORING)  # no change, no line
        s.move(PartitionState.BLOCKED, "control batch", offset=42)
    assert [r.getMessage() for r in caplog.records] == [
        "partition t-0 PENDING -> MIRRORING",
        "partition t-0 MIRRORING -> BLOCKED at offset 42: control batch",
    ]
    assert s.fidelity is Fidelity.EXACT and s.offset == 42


def test_terminal_needs_reason_and_is_sticky():
    s = PartitionStatus("t", 1)
    with pytest.raises(ValueError, match="needs a reason"):
        s.move(PartitionState.FAILED)
    s.move(PartitionState.FAILED, "mismatch", 5)
    assert s.fidelity is Fidelity.NOT_EXACT
    with pytest.raises(IllegalTransition):
        s.move(PartitionState.MIRRORING)
    s.move(PartitionState.STOPPED)
    assert s.as_dict()["state"] == "STOPPED"
