"""CRC32C of v2 batches: validate the stored value, compute a fresh one.

The CRC covers attributes .. end of batch, so baseOffset, batchLength,
partitionLeaderEpoch and magic can change without touching it; anything in the
covered region (producer fields, attributes, timestamps) needs a recompute.
"""

from __future__ import annotations

from crc32c import crc32c

from kproto.records.layout import ATTRIBUTES_POS, CRC, CRC_POS, HEADER_SIZE, LOG_OVERHEAD

__all__ = ["crc32c", "compute_crc", "stored_crc", "crc_matches", "write_crc"]


def compute_crc(buffer: memoryview, position: int = 0, size: int | None = None) -> int:
    """CRC32C of the covered region of the batch at ``position`` in ``buffer``.

    ``buffer`` should be a byte ``memoryview`` so the slice costs no copy.
    ``size`` defaults to the batch's own batchLength + 12.
    """
    if size is None:
        size = int.from_bytes(buffer[position + 8 : position + 12], "big", signed=True) + LOG_OVERHEAD
    return crc32c(buffer[position + ATTRIBUTES_POS : position + size])


def stored_crc(buffer: memoryview, position: int = 0) -> int:
    """The CRC field as stored in the header."""
    return CRC.unpack_from(buffer, position + CRC_POS)[0]


def crc_matches(buffer: memoryview, position: int = 0, size: int | None = None) -> bool:
    """True when the stored CRC equals the CRC of the covered bytes."""
    return stored_crc(buffer, position) == compute_crc(buffer, position, size)


def write_crc(batch: bytearray | memoryview, position: int = 0) -> int:
    """Recompute and store the CRC of a mutable batch in place; returns it.

    For batches whose covered fields were deliberately changed (header
    rewrites, test corruption that should still pass the CRC).
    """
    mv = memoryview(batch)
    if len(mv) - position < HEADER_SIZE:
        from kproto.records.errors import CorruptBatchError

        raise CorruptBatchError(
            f"cannot write a CRC: {len(mv) - position} bytes is shorter than a v2 header",
            position=position,
        )
    crc = compute_crc(mv, position)
    CRC.pack_into(mv, position + CRC_POS, crc)
    return crc
