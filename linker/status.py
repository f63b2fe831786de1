"""`linker status`: offsets and lag computed from both clusters, lifecycle states
read from the state topic, partition states and offset-sync lines from the
running linker's /status endpoint when the link exposes one. Log ends are the
leaders' log end offsets (ListOffsets as the debugging replica); lag is the
source high watermark minus the destination log end.

The state topic is the source of truth for lifecycle states (ACTIVE, PAUSED,
PROMOTING, STOPPED, ...), so it is read directly: the states show whether a
linker runs or not. It is never created here; a link without one is ACTIVE
everywhere. Partition states (MIRRORING, BLOCKED, ...) and offset-sync lines
live in the running linker only; without it a destination that is an exact
prefix so far shows fidelity "unknown" (run `linker verify`).
"""
from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from typing import Any

from linker.client import EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, LOG_END, Client
from linker.client import TopicPartition as TP
from linker.config import LinkConfig
from linker.connect import connect
from linker.naming import MirrorNames
from linker.selection import TopicSelector
from linker.status_view import GroupLine, PartitionRow, StatusReport, TopicLine


def engine_doc(config: LinkConfig, timeout: float = 2.0) -> dict[str, Any] | None:
    """The running linker's GET /status document, or None if it cannot be reached."""
    if config.metrics.port is None:
        return None
    host = config.metrics.host if config.metrics.host not in ("0.0.0.0", "::") else "127.0.0.1"
    try:
        with urllib.request.urlopen(f"http://{host}:{config.metrics.port}/status", timeout=timeout) as r:
            doc = json.loads(r.read())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


async def read_link_state(config: LinkConfig, dest: Client) -> tuple[Any, Any] | None:
    """(LinkState, LifecycleSettings) from the state topic, or None when the link has none yet."""
    from linker.lifecycle.settings import LifecycleSettings
    from linker.lifecycle.state_store import StateStore
    from linker.lifecycle.store_view import LinkState
    settings = config.lifecycle or LifecycleSettings()
    topic = settings.state_topic_for(config.name)
    info = dest.snapshot.topics.get(topic)
    if info is None or info.error_code:
        return None
    return LinkState.from_records(await StateStore(dest, topic).read_all()), settings


def group_lines(doc: dict[str, Any] | None) -> list[GroupLine]:
    """Per-group offset sync results from /status ``groups`` (only a running linker has them)."""
    out = []
    for group, g in sorted(((doc or {}).get("groups") or {}).items()):
        out.append(GroupLine(group, g.get("line", ""), g.get("at"), g.get("lag"), g.get("skipped", "")))
    return out


async def collect(config: LinkConfig, doc: dict[str, Any] | None) -> StatusReport:
    names = MirrorNames(config.topics.prefix)
    states: dict[TP, dict] = {(p["topic"], p["partition"]): p for p in (doc or {}).get("partitions", [])}
    source = connect(config.source, "source", f"{config.source.client_id}-status")
    dest = connect(config.destination, "destination", f"{config.destination.client_id}-status")
    try:
        src = await source.refresh_metadata()
        dst = await dest.refresh_metadata()
        selected, _ = TopicSelector(config.topics).select(t for t, i in src.topics.items() if not i.error_code)
        tps = [(t, i) for t in selected for i in sorted(src.topics[t].partitions)]
        dst_tps = [tp for tp in tps if names.mirror_topic(tp[0]) in dst.topics
                   and tp[1] in dst.topics[names.mirror_topic(tp[0])].partitions]
        s_start, s_hw, s_end = await asyncio.gather(source.offsets(tps, EARLIEST_TIMESTAMP),
                                                    source.offsets(tps, LATEST_TIMESTAMP),
                                                    source.offsets(tps, LOG_END))
        d_end = names.by_source(await dest.offsets([names.mirror_tp(tp) for tp in dst_tps], LOG_END),
                                dst_tps) if dst_tps else {}
        link_state = await read_link_state(config, dest)
        recorded = link_state[0].topics if link_state else {}
        running = bool(link_state and link_state[0].linker_running(link_state[1].state_poll_ms))
        topics = []
        for t in sorted(set(selected) | set(recorded)):
            r = recorded.get(t)
            topics.append(TopicLine(t, names.mirror_topic(t), r.state.value if r else "ACTIVE",
                                    r.reason if r else "", r.by if r else "", r.at_ms if r else None))
        lifecycle = {tl.topic: tl.state for tl in topics}
        rows = []
        now = time.time()
        for tp in tps:
            st = states.get(tp, {})
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
                lag_s, st.get("reason", ""), lifecycle=lifecycle.get(tp[0], "ACTIVE"),
                mirror_topic=names.mirror_topic(tp[0])))
        return StatusReport(config.name, rows, topics, group_lines(doc), doc is not None, running,
                            link_state is not None)
    finally:
        await source.close()
        await dest.close()


def status_text(config: LinkConfig, as_json: bool) -> str:
    """What `linker status` prints."""
    from linker.status_view import render_json, render_report
    doc = engine_doc(config)
    report = asyncio.run(collect(config, doc))
    return render_json(report) if as_json else render_report(report)
