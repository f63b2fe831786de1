import pytest

from linker.mirror.checks import BatchFacts, Verdict, blocker, judge_produce, position_problem


def facts(base=0, delta=9, count=10, magic=2, attrs=0, pid=-1):
    return BatchFacts(base, delta, count, magic, attrs, pid)


@pytest.mark.parametrize("f, fragment", [
    (facts(magic=1), "legacy message format"),
    (facts(attrs=0x20 | 0x10), "control batch"),
    (facts(attrs=0x10, pid=7), "transactional batch"),
    (facts(count=0, delta=0), "empty batch"),
    (facts(count=3, delta=9), "compaction hole: 3 records span 10 offsets"),
])
def test_unreproducible_batches_are_named(f, fragment):
    assert fragment in blocker(f)


def test_plain_and_idempotent_batches_pass():
    assert blocker(facts()) is None
    assert blocker(facts(pid=123, attrs=0x04)) is None  # lz4 + idempotent


def test_position_rules():
    assert position_problem(facts(base=100), 100) is None
    assert position_problem(facts(base=90, delta=9), 100) is None       # wholly before: skip
    state, reason = position_problem(facts(base=95, delta=9), 100)
    assert state == "FAILED" and "partial batch" in reason
    state, reason = position_problem(facts(base=120), 100)
    assert state == "BLOCKED" and "100..119" in reason


def test_produce_verdicts():
    assert judge_produce(500, 0, 500) == (Verdict.OK, "")
    v, reason = judge_produce(500, 0, 501)
    assert v is Verdict.FAILED and "501" in reason and "500" in reason
    assert judge_produce(5, 6, -1)[0] is Verdict.RETRY
    assert judge_produce(5, 7, -1)[0] is Verdict.AMBIGUOUS
    v, reason = judge_produce(5, 87, -1, "INVALID_RECORD")
    assert v is Verdict.FAILED and "INVALID_RECORD" in reason
