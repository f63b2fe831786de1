"""What a mirror topic that already exists on the destination means for the link.

Blocking (``conflicts``): more partitions than the source (``plan_topics``' problem), a
missing topic with ``mirror.create_topics = false``, offsets beyond the source's high
watermark, or batches that differ from the source's (``compare_range``, within a byte
budget). Not blocking (``differs``): config keys the linker sets on its mirrors
(``required_configs``/``config_drift``: it changes them), fewer partitions (it adds
them), ``max.message.bytes`` below the source's or below the largest sampled batch (it
raises it when the destination refuses a batch as too large, given ALTER_CONFIGS).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from linker.client import Client, ClientError, TopicPartition
from linker.mirror.compare import compare_range
from linker.mirror.topics import TopicPlan, config_drift, required_configs
from linker.settings import MirrorSettings


@dataclass
class DestinationView:
    conflicts: list[str] = field(default_factory=list)
    differs: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)   # partitions whose existing prefix matches


def _int(v: str | None) -> int | None:
    return int(v) if v is not None and v.lstrip("-").isdigit() else None


def judge_configs(plan: TopicPlan | None, source_configs: dict[str, str | None],
                  dest_configs: dict[str, str | None], largest_batch: int, mirror: MirrorSettings,
                  out: DestinationView) -> None:
    if plan is not None and plan.problem:
        out.conflicts.append(plan.problem)
        return
    if plan is None or plan.create:
        return
    if plan.grow_from:
        out.differs.append(f"has {plan.grow_from} partitions: the linker adds the missing ones")
    drift = config_drift(required_configs(source_configs, mirror), dest_configs)
    mmb = _int(dest_configs.get("max.message.bytes"))
    drift.pop("max.message.bytes", None)
    if drift:
        out.differs.append("configs the linker sets: " + ", ".join(
            f"{k}={dest_configs.get(k)!s} -> {v}" for k, v in sorted(drift.items())))
    src_mmb = _int(source_configs.get("max.message.bytes"))
    if mmb is not None and largest_batch and mmb < largest_batch:
        out.differs.append(f"max.message.bytes {mmb} is below the largest sampled batch ({largest_batch} bytes): "
                           "the linker raises it when a batch is refused (needs ALTER_CONFIGS)")
    elif mmb is not None and src_mmb is not None and mmb < src_mmb:
        out.differs.append(f"max.message.bytes {mmb} is below the source's {src_mmb}: the linker raises it")


async def judge_prefix(source: Client, dest: Client, tp: TopicPartition, mirror_tp: TopicPartition,
                       s_start: int, s_hw: int, d_start: int, d_end: int, compacted: bool, budget: int,
                       out: DestinationView) -> None:
    """Compare what the destination partition already holds with the source (within ``budget``)."""
    name = f"{mirror_tp[0]}-{mirror_tp[1]}"
    if d_end <= d_start:
        return
    if d_end > s_hw:
        out.conflicts.append(f"{name} ends at {d_end}, beyond the source high watermark {s_hw}: "
                             "it holds other data")
        return
    start = max(s_start, d_start)
    if start >= d_end:
        out.differs.append(f"{name} holds offsets {d_start}..{d_end} only below the source log start {s_start}")
        return
    try:
        rep = await compare_range(source, dest, tp, mirror_tp, start, d_end, budget=budget, compacted=compacted)
    except (ClientError, RuntimeError) as exc:
        out.differs.append(f"{name}: existing data not compared: {exc}")
        return
    if rep.divergence is not None:
        out.conflicts.append(f"{name} holds other data: {rep.divergence}")
    else:
        out.adopted.append(f"{name} already holds offsets {d_start}..{d_end}; offsets {start}..{rep.checked_to} "
                           "compared, identical (the linker adopts them after its own prefix check)")
