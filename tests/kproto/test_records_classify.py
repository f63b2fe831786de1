"""Reproducibility classification of walked batches."""

from __future__ import annotations

import struct
import zlib

import pytest

from kproto.records import (
    BatchView,
    ControlType,
    NewRecord,
    Reproducibility,
    build_batch,
    build_control_batch,
    classify,
    walk_batches,
)


def _records(n: int) -> list[NewRecord]:
    return [NewRecord(b"v", timestamp=1) for _ in range(n)]


def test_plain_and_idempotent_batches_are_exact():
    for raw in (
        build_batch(_records(3), base_offset=10),
        build_batch(_records(3), base_offset=10, producer_id=9, producer_epoch=0, base_sequence=0),
    ):
        verdict = classify(BatchView(raw))
        assert verdict.kind is Reproducibility.EXACT and verdict.exact


@pytest.mark.parametrize(
    ("raw", "kind", "needle"),
    [
        (
            build_control_batch(ControlType.ABORT, coordinator_epoch=0, producer_id=3, producer_epoch=0, base_offset=70),
            Reproducibility.CONTROL,
            "control batch at offset 70",
        ),
        (
            build_batch(_records(2), base_offset=80, transactional=True, producer_id=3, producer_epoch=0, base_sequence=0),
            Reproducibility.TRANSACTIONAL,
            "offsets 80..81",
        ),
        (
            build_batch([NewRecord(b"a", offset_delta=0), NewRecord(b"c", offset_delta=2)], base_offset=90),
            Reproducibility.COMPACTION_HOLES,
            "holds 2 records for 3 offsets",
        ),
        (
            build_batch([], base_offset=100, last_offset_delta=4, base_timestamp=1),
            Reproducibility.EMPTY,
            "offsets 100..104",
        ),
    ],
)
def test_non_reproducible_cases_name_the_case_and_offset(raw, kind, needle):
    verdict = classify(BatchView(raw))
    assert verdict.kind is kind and not verdict.exact
    assert needle in verdict.reason


def test_legacy_entries_classify_as_legacy_magic():
    body = struct.pack(">bbqii", 1, 0, 0, -1, 1) + b"x"
    msg = struct.pack(">I", zlib.crc32(body)) + body
    blob = struct.pack(">qi", 12, len(msg)) + msg
    (entry,) = list(walk_batches(blob))
    verdict = classify(entry)
    assert verdict.kind is Reproducibility.LEGACY_MAGIC
    assert "magic v1" in verdict.reason and "offset 12" in verdict.reason
