"""A running safety net: now and then, compare the destination's last batch
of a few partitions with the source's. The produce response proves offsets,
not bytes; this catches a broker that stored a batch differently (as it does
for LogAppendTime batches) soon after it happens. Part of MirrorEngine (a
mixin split by concern; the state lives in MirrorEngine.__init__)."""
from __future__ import annotations

import asyncio
import logging

from linker.client.errors import ClientError
from linker.mirror.kafka_io import PartitionError
from linker.mirror.locate import _batch_containing
from linker.mirror.state import PartitionState

log = logging.getLogger("linker.mirror")

AUDIT_PARTITIONS_PER_ROUND = 16


class Auditing:
    async def _audit_loop(self) -> None:
        from linker.verify import compare_batches
        cursor = 0
        while not self._stopping.is_set():
            await asyncio.sleep(self.m.audit_interval_ms / 1000)
            pms = [pm for pm in self.partitions.values()
                   if pm.status.state is PartitionState.MIRRORING and pm.acked_end > 0]
            if not pms:
                continue
            batch = [pms[(cursor + i) % len(pms)] for i in range(min(AUDIT_PARTITIONS_PER_ROUND, len(pms)))]
            cursor = (cursor + len(batch)) % len(pms)
            for pm in batch:
                end = pm.acked_end
                try:
                    src_p, dst_p = await asyncio.gather(
                        self.source.fetch_once(pm.tp, end - 1, self.m.partition_max_bytes),
                        self.dest.fetch_once(self.names.mirror_tp(pm.tp), end - 1, self.m.partition_max_bytes))
                except (ClientError, PartitionError) as exc:
                    log.debug("audit of %s-%d skipped: %s", pm.tp[0], pm.tp[1], exc)
                    continue
                src_b = _batch_containing(src_p.records, end - 1) if not src_p.error_code else None
                dst_b = _batch_containing(dst_p.records, end - 1) if not dst_p.error_code else None
                if src_b is None or dst_b is None or dst_b.next_offset != end:
                    continue  # not readable yet (high watermark) or already moved on
                why = compare_batches(src_b, dst_b)
                if why is not None and pm.status.state is PartitionState.MIRRORING:
                    self._move(pm, PartitionState.FAILED, f"audit: destination stored the batch ending at "
                                                          f"{end - 1} differently: {why}", offset=dst_b.base_offset)
