"""The preflight itself: read both clusters, sample every selected partition, judge.

Every call here reads: Metadata, ListOffsets, Fetch, DescribeConfigs, DescribeLogDirs,
DescribeCluster, DescribeAcls, ListGroups, FindCoordinator, DescribeGroups, ApiVersions.
Partitions are sampled one after another, so the fetch throughput measured is that of one
partition from this host.
"""
from __future__ import annotations

from kproto import ApiKey
from linker.client import EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, Admin, Client, ClientError
from linker.client.inspect import BrokerVersions, broker_versions, log_dir_sizes
from linker.connect import connect
from linker.lifecycle.acls import linker_principal
from linker.mirror.topics import is_compacted, plan_topics
from linker.naming import MirrorNames
from linker.preflight.access import check_destination, check_groups, check_source
from linker.preflight.conflicts import judge_configs, judge_prefix
from linker.preflight.report import PartitionPlan, PlanReport, TopicPlan
from linker.preflight.sample import SAMPLE_BYTES, sample_partition
from linker.reach import REACH_TIMEOUT_S, Deadline, Unreachable, read_both
from linker.selection import TopicSelector
from linker.settings import LifecycleSettings, LinkConfig

_SHOWN_APIS = (("Produce", ApiKey.PRODUCE), ("Fetch", ApiKey.FETCH), ("ListOffsets", ApiKey.LIST_OFFSETS),
               ("DescribeProducers", ApiKey.DESCRIBE_PRODUCERS))


def broker_line(b: BrokerVersions) -> str:
    apis = ", ".join(f"{name} v{b.max_version(key)}" if b.max_version(key) is not None else f"{name} none"
                     for name, key in _SHOWN_APIS)
    feats = ", ".join(f"{k}={v}" for k, v in sorted(b.finalized_features.items())) or "none reported"
    return f"{b.node_id} ({b.host}): {apis}; features {feats}"


async def plan_link(config: LinkConfig, sample_bytes: int = SAMPLE_BYTES,
                    timeout: float = REACH_TIMEOUT_S) -> PlanReport:
    source = connect(config.source, "source", f"{config.source.client_id}-plan")
    dest = connect(config.destination, "destination", f"{config.destination.client_id}-plan")
    try:
        return await _plan(config, source, dest, sample_bytes, timeout)
    finally:
        await source.close()
        await dest.close()


async def _plan(config: LinkConfig, source: Client, dest: Client, sample_bytes: int,
                timeout: float) -> PlanReport:
    report = PlanReport(config.name, sample_bytes)
    names, selector = MirrorNames(config.topics.prefix), TopicSelector(config.topics)
    s_snap, d_snap = await read_both(source.refresh_metadata(), dest.refresh_metadata(),
                                     Deadline("source", timeout), Deadline("destination", timeout), report.unreachable)
    if s_snap is None or d_snap is None:
        return report
    selected, missing = selector.select(t for t, i in s_snap.topics.items() if not i.error_code)
    report.problems += [f"topic {m} is named in the link but missing on the source (or not described to "
                        "the linker's principal)" for m in missing]
    if not selected and not missing:
        report.problems.append("the link selects no topic on the source (topics.names/include/exclude match nothing)")
    for side, client in (("source", source), ("destination", dest)):
        try:
            report.brokers[side] = [broker_line(b) for b in await broker_versions(client)]
        except ClientError as exc:
            report.brokers[side] = [f"ApiVersions not read: {exc}"]

    lifecycle = config.lifecycle or LifecycleSettings()
    try:
        await check_source(source, selected, lifecycle.sync_acls, report.access)
    except ClientError as exc:
        report.access.not_checked.append(f"source: topic operations (Metadata): {exc}")
    mirrors = {t: names.mirror_topic(t) for t in selected}
    state_topic = lifecycle.state_topic_for(config.name)
    try:
        d_snap = await dest.refresh_metadata([*mirrors.values(), state_topic])
    except ClientError as exc:
        report.unreachable["destination"] = f"metadata of the mirror topics: {exc}"
        return report
    exists = {m for m in [*mirrors.values(), state_topic] if m in d_snap.topics and not d_snap.topics[m].error_code}
    try:
        await check_destination(dest, sorted(exists), sorted({*mirrors.values(), state_topic} - exists),
                                linker_principal(config.destination.sasl),
                                lifecycle.manage_acls or lifecycle.sync_acls, report.access)
    except ClientError as exc:
        report.access.not_checked.append(f"destination: topic operations (Metadata): {exc}")
    await check_groups(source, dest, lifecycle.group_selected, report.access)
    if not selected:
        return report

    try:
        s_configs = await Admin(source).topic_configs(selected)
    except ClientError:   # named by the access check (DESCRIBE_CONFIGS)
        s_configs = {}
    existing_mirrors = [m for m in mirrors.values() if m in exists]
    try:
        d_configs = await Admin(dest).topic_configs(existing_mirrors)
    except ClientError:
        d_configs = {}
    tps = [(t, p) for t in selected for p in sorted(s_snap.topics[t].partitions)]
    try:
        starts = await source.offsets(tps, EARLIEST_TIMESTAMP)
        hws = await source.offsets(tps, LATEST_TIMESTAMP)
    except ClientError as exc:
        report.unreachable["source"] = f"offsets not readable: {exc}"
        return report
    try:
        sizes, bytes_source = await log_dir_sizes(source, tps), "log dirs"
    except ClientError:
        sizes, bytes_source = {}, "estimated"

    d_counts = {t: len(d_snap.topics[m].partitions) for t, m in mirrors.items() if m in exists}
    mplans = {p.topic: p for p in plan_topics({t: len(s_snap.topics[t].partitions) for t in selected},
                                              d_counts, s_configs, {t: d_configs.get(m, {}) for t, m in mirrors.items()},
                                              config.mirror)}
    for t in selected:
        policy = (s_configs.get(t, {}).get("cleanup.policy") or "unknown")
        tp_plan = TopicPlan(t, mirrors[t], policy, bytes_source=bytes_source, mirror_exists=mirrors[t] in exists)
        compacted = is_compacted(s_configs.get(t, {}))
        for p in sorted(s_snap.topics[t].partitions):
            tp = (t, p)
            tp_plan.partitions.append(PartitionPlan(p, starts[tp], hws[tp], sizes.get(tp)))
            try:
                tp_plan.sample.add(await sample_partition(source, tp, starts[tp], hws[tp], compacted, sample_bytes))
            except ClientError as exc:   # READ missing: named by the access check
                tp_plan.notes.append(f"partition {p} not sampled: {exc}")
        judge_configs(mplans.get(t), s_configs.get(t, {}), d_configs.get(mirrors[t], {}),
                      tp_plan.sample.largest_batch, config.mirror, tp_plan.destination)
        if tp_plan.mirror_exists and not tp_plan.destination.conflicts:
            await _judge_existing(source, dest, tp_plan, compacted, sample_bytes)
        report.topics.append(tp_plan)
    return report


async def _judge_existing(source: Client, dest: Client, plan: TopicPlan, compacted: bool, budget: int) -> None:
    snap = dest.snapshot.topics[plan.mirror_topic]
    parts = [p for p in plan.partitions if p.partition in snap.partitions]
    m_tps = [(plan.mirror_topic, p.partition) for p in parts]
    try:
        d_start = await dest.offsets(m_tps, EARLIEST_TIMESTAMP)
        d_end = await dest.offsets(m_tps, LATEST_TIMESTAMP)
    except ClientError as exc:
        plan.destination.differs.append(f"existing data not read: {exc}")
        return
    for p, mtp in zip(parts, m_tps):
        await judge_prefix(source, dest, (plan.topic, p.partition), mtp, p.log_start, p.high_watermark,
                           d_start[mtp], d_end[mtp], compacted, budget, plan.destination)


def plan_output(config: LinkConfig, as_json: bool, sample_bytes: int = SAMPLE_BYTES,
                timeout: float = REACH_TIMEOUT_S) -> tuple[str, int]:
    """What `linker plan` prints, and its exit code."""
    import asyncio

    from linker.preflight.report import render_json, render_text
    try:
        report = asyncio.run(plan_link(config, sample_bytes, timeout))
    except Unreachable as exc:
        report = PlanReport(config.name, sample_bytes, unreachable={exc.side: exc.reason})
    return (render_json(report) if as_json else render_text(report)), report.exit_code()
