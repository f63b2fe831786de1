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
    CONTROL_BIT,
    CRC,
    CRC_POS,
    HEADER,
    HEADER_SIZE,
    LOG_OVERHEAD,
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
    return ZERO_BASE_OFFSET, batch._buf[pos + 8 : pos + batch._h[1] + LOG_OVERHEAD]


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
    if batch._h[5] & CONTROL_BIT:
        raise CorruptBatchError(
            f"control batch at offset {batch._h[0]} cannot be rewritten for produce", position=batch._pos
        )
    fields = list(batch._h)
    fields[0] = base_offset
    if partition_leader_epoch is not _KEEP:
        fields[2] = partition_leader_epoch
    if transactional is not _KEEP:
        fields[5] = (fields[5] | TRANSACTIONAL_BIT) if transactional else (fields[5] & ~TRANSACTIONAL_BIT)
    if producer_id is not _KEEP:
        fields[9] = producer_id
    if producer_epoch is not _KEEP:
        fields[10] = producer_epoch
    if base_sequence is not _KEEP:
        fields[11] = base_sequence
    header = bytearray(HEADER_SIZE)
    try:
        HEADER.pack_into(header, 0, *fields)
    except Exception as exc:  # struct.error for out-of-range values
        raise CorruptBatchError(f"header rewrite with out-of-range value: {exc}", position=batch._pos) from None
    pos = batch._pos
    payload = batch._buf[pos + HEADER_SIZE : pos + batch._h[1] + LOG_OVERHEAD]
    crc = crc32c(payload, crc32c(memoryview(header)[ATTRIBUTES_POS:]))
    CRC.pack_into(header, CRC_POS, crc)
    return bytes(header), payload
