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

A cluster that cannot be read within the timeout (default
``linker.reach.REACH_TIMEOUT_S``) does not end the command: the other side's
offsets and the state topic are still shown, the unreachable side is named,
and the exit code is ``EXIT_UNREACHABLE`` (4). With the source down, the
topics come from the link's literal names, the state topic and the matching
mirror topics on the destination. A literal topic missing on the source is
listed (SOURCE-MISSING rows for its mirror partitions), not dropped.
"""
from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from typing import Any

from linker.client import EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, LOG_END, Client
from linker.client import TopicPartition as TP
from linker.settings import LinkConfig
from linker.connect import both_clusters
from linker.naming import MirrorNames
from linker.reach import EXIT_UNREACHABLE, REACH_TIMEOUT_S, Deadline, Unreachable, read_both, topics_without_source
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
    from linker.settings import LifecycleSettings
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


async def collect(config: LinkConfig, doc: dict[str, Any] | None,
                  timeout: float = REACH_TIMEOUT_S) -> StatusReport:
    """What `linker status` shows; each cluster is read within ``timeout`` seconds, and one that
    cannot be read is named in ``unreachable`` while the other side's view is still collected."""
    async with both_clusters(config, "status") as (source, dest):
        return await _collect(config, doc, source, dest, timeout)


async def _collect(config: LinkConfig, doc: dict[str, Any] | None, source: Client, dest: Client,
                   timeout: float) -> StatusReport:
    names, selector = MirrorNames(config.topics.prefix), TopicSelector(config.topics)
    states: dict[TP, dict] = {(p["topic"], p["partition"]): p for p in (doc or {}).get("partitions", [])}
    s_time, d_time = Deadline("source", timeout), Deadline("destination", timeout)
    unreachable: dict[str, str] = {}

    async def read_source() -> tuple[list[str], list[str], dict[str, list[int]]]:
        src = await source.refresh_metadata()
        selected, missing = selector.select(t for t, i in src.topics.items() if not i.error_code)
        return selected, missing, {t: sorted(src.topics[t].partitions) for t in selected}

    async def read_dest() -> tuple[Any, Any]:
        return await dest.refresh_metadata(), await read_link_state(config, dest)

    s_view, d_view = await read_both(read_source(), read_dest(), s_time, d_time, unreachable)
    dst, link_state = d_view if d_view is not None else (None, None)
    recorded = link_state[0].topics if link_state else {}
    progress = link_state[0].progress if link_state else {}

    def dest_partitions(t: str) -> list[int]:
        info = dst.topics.get(names.mirror_topic(t)) if dst is not None else None
        return sorted(info.partitions) if info is not None and not info.error_code else []

    if s_view is not None:
        selected, missing, parts = s_view
    else:
        missing = []
        if dst is not None:
            selected = topics_without_source(selector, names, dst, recorded)
        else:   # both down: what the running linker reports, else the literal names
            selected = sorted({t for t, _ in states} | set(selector.literal_names))
        parts = {t: sorted({p for (x, p) in states if x == t} | set(dest_partitions(t))) for t in selected}
    tps = [(t, i) for t in selected for i in parts.get(t, [])]
    # A literal topic gone from the source: its mirror partitions stay visible.
    gone = [(t, i) for t in missing for i in sorted({p for (x, p) in states if x == t} | set(dest_partitions(t)))]

    s_start: dict[TP, int] = {}
    s_hw: dict[TP, int] = {}
    s_end: dict[TP, int] = {}
    d_end: dict[TP, int] = {}

    async def source_offsets() -> None:
        if "source" in unreachable or not tps:
            return
        try:
            a, b, c = await s_time.run(asyncio.gather(source.offsets(tps, EARLIEST_TIMESTAMP),
                                                      source.offsets(tps, LATEST_TIMESTAMP),
                                                      source.offsets(tps, LOG_END)))
            s_start.update(a)
            s_hw.update(b)
            s_end.update(c)
        except Unreachable as exc:
            unreachable[exc.side] = exc.reason

    async def dest_offsets() -> None:
        dst_tps = [tp for tp in tps + gone if tp[1] in dest_partitions(tp[0])]
        if dst is None or not dst_tps:
            return
        try:
            found = await d_time.run(dest.offsets([names.mirror_tp(tp) for tp in dst_tps], LOG_END))
            d_end.update(names.by_source(found, dst_tps))
        except Unreachable as exc:
            unreachable[exc.side] = exc.reason
    await asyncio.gather(source_offsets(), dest_offsets())

    running = bool(link_state and link_state[0].linker_running(link_state[1].state_poll_ms))
    topics = []
    for t in sorted(set(selected) | set(recorded)):
        r = recorded.get(t)
        topics.append(TopicLine(t, names.mirror_topic(t), r.state.value if r else "ACTIVE",
                                r.reason if r else "", r.by if r else "", r.at_ms if r else None))
    lifecycle = {tl.topic: tl.state for tl in topics} if dst is not None else {}
    # Scale-out: the group leader's last assignment says which member writes each partition.
    group = link_state[0].group if link_state else None
    rows = []
    now = time.time()
    for tp in tps + gone:
        st = states.get(tp, {})
        elsewhere = st.get("owned") is False   # scale-out: the member answering /status does not write it
        if elsewhere:
            st = {}
        de = d_end.get(tp)
        hw = s_hw.get(tp)
        lag = None if de is None or hw is None else max(0, hw - de)
        avg = float(st.get("avg_record_bytes") or 0.0)
        lag_s = None
        if st.get("last_mirrored_timestamp_ms") is not None and lag is not None:
            lag_s = 0.0 if lag == 0 else max(0.0, now - st["last_mirrored_timestamp_ms"] / 1000)
        if tp[0] in missing:
            state = "SOURCE-MISSING"
        elif st.get("state"):
            state = st["state"]
        elif elsewhere:
            state = "OTHER-MEMBER"
        elif de is not None:
            state = "NO-ENGINE"
        else:
            state = "NOT-CREATED" if dst is not None and "destination" not in unreachable else "NO-ENGINE"
        pr = progress.get(tp[0])
        rows.append(PartitionRow(
            tp[0], tp[1], state, st.get("fidelity", "unknown"), s_start.get(tp), hw, s_end.get(tp),
            de, lag, int(lag * avg) if lag is not None and avg else None,
            lag_s, " ".join(filter(None, [
                st.get("reason", "") or ("named in the link, missing on the source" if tp[0] in missing else "")
                or (f"waiting: {st['waiting']}" if st.get("waiting") else ""), _work(st.get("work"))])),
            lifecycle=lifecycle.get(tp[0], "ACTIVE" if dst is not None else ""),
            mirror_topic=names.mirror_topic(tp[0]),
            recorded_source_end=pr.source_ends.get(tp[1]) if pr is not None else None,
            member="" if lifecycle.get(tp[0]) == "STOPPED" else _member_cell(group, tp)))
    seen = [pr.at_ms for pr in progress.values()]
    return StatusReport(config.name, rows, topics, group_lines(doc), doc is not None, running,
                        link_state is not None, unreachable=unreachable, missing_on_source=list(missing),
                        recorded_at_ms=max(seen) if seen else None, waiting=((doc or {}).get("waiting") or {}),
                        access=list(((doc or {}).get("access") or {}).get("lines") or []),
                        progress=dict((doc or {}).get("progress") or {}),
                        prefix_checks=dict(((doc or {}).get("audit") or {}).get("prefix_checks") or {}))


def _work(work: dict[str, Any] | None) -> str:
    """A partition's long piece of work (alignment) as the REASON cell: done/total, ETA."""
    if not work:
        return ""
    eta = work.get("eta_seconds")
    return (f"({work.get('done')}/{work.get('total')} {work.get('unit', '')} done"
            + ("" if eta is None else f", ETA {eta:.0f}s") + ")")


def status_output(config: LinkConfig, as_json: bool, timeout: float = REACH_TIMEOUT_S) -> tuple[str, int]:
    """What `linker status` prints, and its exit code (EXIT_UNREACHABLE when a cluster could not be read)."""
    from linker.status_view import render_json, render_report
    doc = engine_doc(config)
    report = asyncio.run(collect(config, doc, timeout))
    text = render_json(report) if as_json else render_report(report)
    return text, EXIT_UNREACHABLE if report.unreachable else 0


def watch(config: LinkConfig, interval: float, timeout: float, out: Any, tty: bool,
          rounds: int | None = None, as_json: bool = False) -> int:
    """`linker status --watch`: a terminal gets the table redrawn every ``interval`` seconds, a
    pipe gets one summary line per round (``summary_line``), or with ``as_json`` one JSON
    document per line. Ends on Ctrl-C (exit 0), or after ``rounds`` rounds; the exit code is
    the last round's."""
    from linker.status_view import render_json, render_report, summary_line
    code, done = 0, 0
    try:
        while rounds is None or done < rounds:
            began = time.monotonic()
            report = asyncio.run(collect(config, engine_doc(config), timeout))
            code = EXIT_UNREACHABLE if report.unreachable else 0
            if as_json:
                out.write(json.dumps(json.loads(render_json(report))) + "\n")
            elif tty:
                out.write("\x1b[H\x1b[2J" + time.strftime("%H:%M:%S ") + f"every {interval:g}s (Ctrl-C ends)\n"
                          + render_report(report))
            else:
                out.write(summary_line(report))
            out.flush()
            done += 1
            if rounds is not None and done >= rounds:
                break
            time.sleep(max(0.0, interval - (time.monotonic() - began)))
    except KeyboardInterrupt:
        pass
    return code


def status_text(config: LinkConfig, as_json: bool) -> str:
    """What `linker status` prints."""
    return status_output(config, as_json)[0]


def _member_cell(group: Any, tp: TP) -> str:
    """``<member> (<host>:<pid>)`` owning ``tp`` in the group's last assignment; "" without a group,
    "moving" for a partition the last generation gave to nobody (its owner was giving it up)."""
    if group is None:
        return ""
    member = group.owner_of(tp[0], tp[1])
    if member is None:
        return "moving"
    who = group.members.get(member, {})
    return f"{member[-12:]} ({who.get('host', '?')}:{who.get('pid', '?')})"
