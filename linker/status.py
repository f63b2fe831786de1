"""`linker status`: offsets and lag computed from both clusters, states read
from the running engine's /status endpoint when the link exposes one. Log
ends are the leaders' log end offsets (ListOffsets as the debugging replica);
lag is the source high watermark minus the destination log end.

The engine keeps partition states in memory for now, so a status without a
reachable engine shows the offsets and derives what it can: a destination
that is an exact prefix so far shows fidelity "unknown" (run `linker verify`).
"""
from __future__ import annotations

import asyncio
import json
import time
import urllib.request

from linker.config import LinkConfig
from linker.mirror.kafka_io import EARLIEST, LATEST, LOG_END, TP, ClusterIO
from linker.selection import TopicSelector
from linker.status_view import PartitionRow


def engine_states(config: LinkConfig, timeout: float = 2.0) -> dict[TP, dict] | None:
    """The running engine's partition states, or None if it cannot be reached."""
    if config.metrics.port is None:
        return None
    host = config.metrics.host if config.metrics.host not in ("0.0.0.0", "::") else "127.0.0.1"
    try:
        with urllib.request.urlopen(f"http://{host}:{config.metrics.port}/status", timeout=timeout) as r:
            doc = json.loads(r.read())
    except (OSError, ValueError):
        return None
    return {(p["topic"], p["partition"]): p for p in doc.get("partitions", [])}


async def collect(config: LinkConfig, states: dict[TP, dict] | None) -> list[PartitionRow]:
    source = ClusterIO(config.source, "source", f"{config.source.client_id}-status")
    dest = ClusterIO(config.destination, "destination", f"{config.destination.client_id}-status")
    try:
        src = await source.refresh()
        dst = await dest.refresh()
        selected, _ = TopicSelector(config.topics).select(t for t, i in src.topics.items() if not i.error_code)
        tps = [(t, i) for t in selected for i in sorted(src.topics[t].partitions)]
        dst_tps = [tp for tp in tps if tp[0] in dst.topics and tp[1] in dst.topics[tp[0]].partitions]
        s_start, s_hw, s_end = await asyncio.gather(source.list_offsets(tps, EARLIEST),
                                                    source.list_offsets(tps, LATEST),
                                                    source.list_offsets(tps, LOG_END))
        d_end = await dest.list_offsets(dst_tps, LOG_END) if dst_tps else {}
        rows = []
        now = time.time()
        for tp in tps:
            st = (states or {}).get(tp, {})
            de = d_end.get(tp)
            lag = None if de is None else max(0, s_hw[tp] - de)
            avg = float(st.get("avg_record_bytes") or 0.0)
            lag_s = None
            if st.get("last_mirrored_timestamp_ms") is not None and lag is not None:
                lag_s = 0.0 if lag == 0 else max(0.0, now - st["last_mirrored_timestamp_ms"] / 1000)
            state = st.get("state") or ("NO-ENGINE" if de is not None else "NOT-CREATED")
            rows.append(PartitionRow(
                tp[0], tp[1], state, st.get("fidelity", "unknown"), s_start[tp], s_hw[tp],
                s_end[tp],
                de, lag, int(lag * avg) if lag is not None and avg else None,
                lag_s, st.get("reason", "")))
        return rows
    finally:
        await source.close()
        await dest.close()
