import pytest

from linker.mirror.checks import Verdict, judge_produce, position_problem


def test_position_rules():
    assert position_problem(100, 110, 100) is None
    assert position_problem(90, 100, 100) is None       # wholly before: skip
    state, reason = position_problem(95, 105, 100)
    assert state == "FAILED" and "partial batch" in reason
    state, reason = position_problem(120, 130, 100)
    assert state == "BLOCKED" and "100..119" in reason


def test_produce_verdicts():
    assert judge_produce(500, 0, 500) == (Verdict.OK, "")
    v, reason = judge_produce(500, 0, 501)
    assert v is Verdict.FAILED and "501" in reason and "500" in reason
    assert judge_produce(5, 6, -1)[0] is Verdict.RETRY
    assert judge_produce(5, 7, -1)[0] is Verdict.AMBIGUOUS
    v, reason = judge_produce(5, 87, -1, "INVALID_RECORD")
    assert v is Verdict.FAILED and "INVALID_RECORD" in reason


def test_log_append_time_is_a_problem():
    from linker.mirror.checks import timestamp_problem
    assert timestamp_problem(0x04, 7) is None
    assert "LogAppendTime batch at offset 7" in timestamp_problem(0x08 | 0x04, 7)
