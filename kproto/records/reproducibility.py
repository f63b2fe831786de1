"""Can a client Produce reproduce this source batch exactly?

"Exactly" means the destination assigns the same offsets and stores the same
CRC-covered bytes. The broker refuses (or rewrites) control batches,
transactional batches outside a destination transaction, batches whose count
is not lastOffsetDelta+1 (compaction holes), empty batches and legacy magic.
The verdict names the case and the offset so the linker can report it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Union

from kproto.records.batch import BatchView, LegacyEntry
from kproto.records.layout import CONTROL_BIT, TRANSACTIONAL_BIT


class Reproducibility(enum.Enum):
    """Why a batch can or cannot go to the destination verbatim."""

    EXACT = "exact"
    CONTROL = "control"
    TRANSACTIONAL = "transactional"
    COMPACTION_HOLES = "compaction_holes"
    EMPTY = "empty"
    LEGACY_MAGIC = "legacy_magic"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A classification and a human-readable reason naming the offset."""

    kind: Reproducibility
    reason: str

    @property
    def exact(self) -> bool:
        return self.kind is Reproducibility.EXACT


_EXACT = Verdict(Reproducibility.EXACT, "produce-ready as is (baseOffset zeroed)")
_SPECIAL_BITS = CONTROL_BIT | TRANSACTIONAL_BIT


def classify(batch: Union[BatchView, LegacyEntry]) -> Verdict:
    """Classify one walked entry; the common exact case costs a few int tests."""
    if type(batch) is BatchView:
        count = batch.record_count
        if not batch.attributes & _SPECIAL_BITS and count == batch.last_offset_delta + 1 and count > 0:
            return _EXACT
        return _classify_v2_slow(batch)
    return Verdict(
        Reproducibility.LEGACY_MAGIC,
        f"magic v{batch.magic} message set at offset {batch.offset}: clients produce only magic v2",
    )


def _classify_v2_slow(batch: BatchView) -> Verdict:
    span = f"offsets {batch.base_offset}..{batch.last_offset}"
    if batch.is_control:
        return Verdict(
            Reproducibility.CONTROL,
            f"control batch at offset {batch.base_offset}: only the broker writes transaction markers",
        )
    if batch.is_transactional:
        return Verdict(
            Reproducibility.TRANSACTIONAL,
            f"transactional batch at {span} (producer id {batch.producer_id}): needs a destination transaction",
        )
    count, offsets = batch.record_count, batch.last_offset_delta + 1
    if count <= 0:
        return Verdict(
            Reproducibility.EMPTY, f"batch at {span} has record count {count}: the broker rejects empty batches"
        )
    if count != offsets:
        return Verdict(
            Reproducibility.COMPACTION_HOLES,
            f"batch at {span} holds {count} records for {offsets} offsets (compaction holes)",
        )
    return _EXACT
