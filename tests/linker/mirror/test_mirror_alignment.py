import pytest
from hypothesis import given, settings, strategies as st

from linker.mirror.alignment import DeleteBefore, WriteFillers, max_filler_offsets_on_disk, plan_alignment


def test_simple_plan():
    assert plan_alignment(0, 0, 25, 10, 20) == [
        WriteFillers(0, 10), WriteFillers(10, 10), DeleteBefore(20), WriteFillers(20, 5), DeleteBefore(25)]


def test_nothing_to_do():
    assert plan_alignment(0, 0, 0, 10, 10) == []
    assert plan_alignment(7, 7, 7, 10, 10) == []
    assert plan_alignment(7, 3, 7, 10, 10) == [DeleteBefore(7)]


def test_refuses_to_go_backwards():
    with pytest.raises(ValueError, match="already past"):
        plan_alignment(10, 0, 5, 10, 10)


@settings(deadline=None, max_examples=200)
@given(end=st.integers(0, 10_000), extra=st.integers(0, 100_000),
       batch=st.integers(50, 5_000), every=st.integers(1, 20_000))
def test_plan_is_contiguous_bounded_and_ends_clean(end, extra, batch, every):
    target = end + extra
    steps = plan_alignment(end, 0, target, batch, every)
    pos = end
    for s in steps:
        if isinstance(s, WriteFillers):
            assert s.base_offset == pos and 0 < s.count <= batch
            pos += s.count
    assert pos == target
    if target > 0:
        assert steps[-1] == DeleteBefore(target)
    # bytes on disk are bounded by the delete period plus one batch (plus what was there)
    assert max_filler_offsets_on_disk(steps, 0) <= end + every + batch
