"""Produce-ready forms of a fetched batch, for the mirror engine's hot path.

A client Produce must carry baseOffset 0. baseOffset lies outside the CRC, so
zeroing it needs no CRC work: the batch goes out as an 8-byte constant plus a
memoryview of the original bytes 8..end (nothing copied in Python). A header
rewrite (producer fields for a transactional replay) copies only the 61-byte
header and continues the CRC over the untouched payload.
"""

from __future__ import annotations

from crc32c import crc32c

from kproto.records.batch import BatchView
from kproto.records.errors import CorruptBatchError
from kproto.records.layout import (
    ATTRIBUTES_POS,
    BATCH_LENGTH_POS,
    CRC,
    CRC_POS,
    HEADER,
    HEADER_SIZE,
    TRANSACTIONAL_BIT,
)

#: The baseOffset a client-produced batch must carry.
ZERO_BASE_OFFSET = bytes(8)


def produce_chunks(batch: BatchView) -> tuple[bytes, memoryview]:
    """``(8 zero bytes, memoryview of bytes 8..end)``: the batch with baseOffset 0.

    Pass both as a Produce request's ``records`` (a list of chunks) or write
    them with one ``writelines``. CRC-covered bytes are untouched, so the
    destination stores the same CRC.
    """
    pos = batch._pos
    return ZERO_BASE_OFFSET, batch._buf[pos + BATCH_LENGTH_POS : pos + batch.size]


def produce_bytes(batch: BatchView) -> bytes:
    """``produce_chunks`` joined into one bytes object (copies; for tools and tests)."""
    return b"".join(produce_chunks(batch))


_KEEP = object()


def rewrite_header(
    batch: BatchView,
    *,
    base_offset: int = 0,
    partition_leader_epoch: int | object = _KEEP,
    producer_id: int | object = _KEEP,
    producer_epoch: int | object = _KEEP,
    base_sequence: int | object = _KEEP,
    transactional: bool | object = _KEEP,
) -> tuple[bytes, memoryview]:
    """A new 61-byte header with a recomputed CRC, plus the original payload view.

    Fields left out keep their source values. The payload (records) is not
    copied; its CRC contribution is computed straight from the source buffer.
    """
    if batch.is_control:
        raise CorruptBatchError(
            f"control batch at offset {batch.base_offset} cannot be rewritten for produce", position=batch.position
        )
    changes: dict[str, int] = {"base_offset": base_offset}
    for name, value in (
        ("partition_leader_epoch", partition_leader_epoch),
        ("producer_id", producer_id),
        ("producer_epoch", producer_epoch),
        ("base_sequence", base_sequence),
    ):
        if value is not _KEEP:
            changes[name] = value  # type: ignore[assignment]
    if transactional is not _KEEP:
        attributes = batch.attributes
        changes["attributes"] = (attributes | TRANSACTIONAL_BIT) if transactional else (attributes & ~TRANSACTIONAL_BIT)
    header = bytearray(HEADER_SIZE)
    try:
        HEADER.pack_into(header, 0, *batch.header._replace(**changes))
    except Exception as exc:  # struct.error for out-of-range values
        raise CorruptBatchError(
            f"header rewrite with out-of-range value: {exc}", position=batch.position
        ) from None
    payload = batch.payload
    crc = crc32c(payload, crc32c(memoryview(header)[ATTRIBUTES_POS:]))
    CRC.pack_into(header, CRC_POS, crc)
    return bytes(header), payload
