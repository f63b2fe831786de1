"""kproto.records: RecordBatch v2 views, batch walking, CRC32C, codecs, builder.

Batches are read, checked and forwarded without decompression (``BatchView``,
``walk_batches``, ``produce_chunks``, ``classify``) and decoded or built only
on request (``iter_records``, ``build_batch``). No I/O here.
"""

from kproto.records.batch import BatchView, LegacyEntry
from kproto.records.builder import NewRecord, build_batch, build_control_batch
from kproto.records.codecs import compress, decompress, decompress_chunks
from kproto.records.control import ControlRecord, ControlType, parse_control_record
from kproto.records.crc import compute_crc, write_crc
from kproto.records.decode import decode_records, iter_records
from kproto.records.errors import (
    CompressionError,
    CorruptBatchError,
    CorruptRecordError,
    CrcMismatchError,
    RecordError,
)
from kproto.records.forward import ZERO_BASE_OFFSET, produce_bytes, produce_chunks, rewrite_header
from kproto.records.layout import HEADER_SIZE, BatchHeader, Codec, TimestampType
from kproto.records.legacy import iter_legacy_records
from kproto.records.record import Record
from kproto.records.reproducibility import Reproducibility, Verdict, classify
from kproto.records.walk import BatchWalk, split_batches, walk_batches

__all__ = [
    "HEADER_SIZE",
    "ZERO_BASE_OFFSET",
    "BatchHeader",
    "BatchView",
    "BatchWalk",
    "Codec",
    "CompressionError",
    "ControlRecord",
    "ControlType",
    "CorruptBatchError",
    "CorruptRecordError",
    "CrcMismatchError",
    "LegacyEntry",
    "NewRecord",
    "Record",
    "RecordError",
    "Reproducibility",
    "TimestampType",
    "Verdict",
    "build_batch",
    "build_control_batch",
    "classify",
    "compress",
    "compute_crc",
    "decode_records",
    "decompress",
    "decompress_chunks",
    "iter_legacy_records",
    "iter_records",
    "parse_control_record",
    "produce_bytes",
    "produce_chunks",
    "rewrite_header",
    "split_batches",
    "walk_batches",
    "write_crc",
]
