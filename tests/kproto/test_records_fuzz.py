"""Corrupt input raises kproto's error or fails the CRC check, never anything else."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kproto.exceptions import KprotoError
from kproto.records import (
    Codec,
    NewRecord,
    build_batch,
    classify,
    walk_batches,
)

SEEDS = [
    build_batch(
        [NewRecord(b"value-%d" % i * 5, key=b"k%d" % i, headers=[("h", b"x")], timestamp=100 + i) for i in range(12)],
        codec=codec,
        base_offset=500,
    )
    for codec in Codec
]


def _exercise(blob: bytes) -> None:
    """Walk, classify, CRC-check and decode everything; only KprotoError may escape."""
    try:
        for entry in walk_batches(blob):
            classify(entry)
            entry.crc_valid()
            list(entry.records())
    except KprotoError:
        pass


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), min_size=1, max_size=8),
    cut=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_bit_flips_and_cuts_only_raise_kproto_errors(seed, flips, cut):
    raw = bytearray(seed)
    for pos, mask in flips:
        raw[pos % len(raw)] ^= mask
    if cut is not None:
        raw = raw[: cut % (len(raw) + 1)]
    _exercise(bytes(raw))


@settings(max_examples=300, deadline=None)
@given(seed=st.sampled_from(SEEDS), flips=st.lists(st.tuples(st.integers(61, 10_000), st.integers(1, 255)), min_size=1, max_size=4))
def test_payload_corruption_is_caught_by_the_crc(seed, flips):
    raw = bytearray(seed)
    for pos, mask in flips:
        raw[61 + (pos - 61) % (len(raw) - 61)] ^= mask
    (view,) = list(walk_batches(bytes(raw)))
    assert not view.crc_valid() or bytes(raw) == seed


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_only_raise_kproto_errors(blob):
    _exercise(blob)
