from kproto.records import walk
from kproto.records.batch import BatchView

from linker.mirror.filler import filler_batch


def test_filler_batch_is_valid_and_compact():
    raw = filler_batch(100_000, 1_700_000_000_000)
    b = BatchView(raw)
    assert b.crc_valid()
    assert b.record_count == 100_000 and b.last_offset_delta == 99_999
    assert b.base_offset == 0 and b.producer_id == -1
    assert len(raw) < 100_000  # under one byte per offset (uncompressed is about 9)
    recs = list(b.records())
    assert len(recs) == 100_000
    assert recs[-1].offset_delta == 99_999
    assert recs[0].key is None and recs[0].value is None


def test_filler_cached():
    assert filler_batch(10, 1) is filler_batch(10, 1)
