"""Periodic topic config sync, source -> mirror topic.

Copied: ``retention.ms``, ``retention.bytes``, ``cleanup.policy`` and
``max.message.bytes`` (at least the source's) - the mirror engine's
``COPIED_FROM_SOURCE``. Forced whatever the source says: CreateTime, both
timestamp bounds, ``compression.type=producer``, and for a compacted source its
``cleanup.policy`` (the mirror's cleaner removes compaction fillers). Never
touched: everything else. A copied key
named in ``lifecycle.keep_destination_configs`` keeps the destination's value;
forced keys cannot be kept (exactness depends on them).

After promote/failover (STOPPED: never mirrored again) the forced keys go back to the source's
values (``restore_forced``), so the promoted topic behaves as the source's did (compaction,
compression, timestamps). A mirror whose ``min.insync.replicas`` is below the source's is
warned about (once per topic and process): acks=all writes after a promote would be less durable.
"""
from __future__ import annotations

import logging
from typing import Callable

from linker.client import Admin, Client
from linker.settings import MirrorSettings
from linker.mirror.topics import config_drift, required_configs
from linker.naming import MirrorNames

log = logging.getLogger("linker.lifecycle")

FORCED = ("message.timestamp.type", "message.timestamp.before.max.ms", "message.timestamp.after.max.ms",
          "compression.type")


def config_changes(source_cfg: dict[str, str | None], dest_cfg: dict[str, str | None],
                   mirror: MirrorSettings, keep: tuple[str, ...]) -> dict[str, str]:
    """The settings to change on the mirror topic (pure)."""
    required = required_configs(source_cfg, mirror)
    forced = forced_keys(source_cfg)
    required = {k: v for k, v in required.items() if k in forced or k not in keep}
    return config_drift(required, dest_cfg)


def forced_keys(source_cfg: dict[str, str | None]) -> set[str]:
    """The keys mirroring sets whatever the source says (pure)."""
    forced = set(FORCED)
    if "compact" in (source_cfg.get("cleanup.policy") or ""):
        forced.add("cleanup.policy")    # the mirror's cleaner removes compaction fillers
    return forced


def restore_changes(source_cfg: dict[str, str | None], dest_cfg: dict[str, str | None]) -> dict[str, str]:
    """After STOPPED: the forced keys back to the source's values (pure; keys the source does
    not report, e.g. on an older Kafka, are left alone)."""
    return {k: v for k in sorted(forced_keys(source_cfg))
            if (v := source_cfg.get(k)) is not None and dest_cfg.get(k) != v}


def min_isr_gap(source_cfg: dict[str, str | None], dest_cfg: dict[str, str | None]) -> str | None:
    """A warning when the mirror's min.insync.replicas is below the source's, else None (pure)."""
    try:
        s, d = int(source_cfg.get("min.insync.replicas") or 1), int(dest_cfg.get("min.insync.replicas") or 1)
    except ValueError:
        return None
    if d >= s:
        return None
    return (f"min.insync.replicas is {d} on the mirror, {s} on the source: acks=all writes on the "
            f"destination are less durable than on the source")


async def restore_forced(source: Client, dest: Client, topics: list[str],
                         names: MirrorNames = MirrorNames()) -> dict[str, dict[str, str]]:
    """After STOPPED: set the keys mirroring forced back to the source's values (idempotent), warn
    about a lower min.insync.replicas; returns what was changed, by mirror topic name."""
    return await _apply(source, dest, topics, names, restore_changes, "promoted %s: configs mirroring forced "
                        "restored to the source's %s", None)


async def sync_configs(source: Client, dest: Client, topics: list[str], mirror: MirrorSettings,
                       keep: tuple[str, ...], names: MirrorNames = MirrorNames(),
                       warned: set[str] | None = None) -> dict[str, dict[str, str]]:
    """Apply config changes to the mirror topic of every source topic in ``topics``; a lower
    min.insync.replicas is warned about (once per topic noted in ``warned``); returns what was
    changed, by mirror topic name."""
    return await _apply(source, dest, topics, names, lambda s, d: config_changes(s, d, mirror, keep),
                        "config sync: %s <- %s", warned)


async def _apply(source: Client, dest: Client, topics: list[str], names: MirrorNames,
                 plan: Callable[[dict[str, str | None], dict[str, str | None]], dict[str, str]], what: str,
                 warned: set[str] | None) -> dict[str, dict[str, str]]:
    """Read both sides' configs, alter each mirror topic by ``plan``; warn about min.insync.replicas
    (every time when ``warned`` is None, else once per topic)."""
    if not topics:
        return {}
    src = await Admin(source).topic_configs(topics)
    dst = await Admin(dest).topic_configs([names.mirror_topic(t) for t in topics])
    changed = {}
    for t in topics:
        m = names.mirror_topic(t)
        s_cfg, d_cfg = src.get(t, {}), dst.get(m, {})
        if (gap := min_isr_gap(s_cfg, d_cfg)) and (warned is None or m not in warned):
            if warned is not None:
                warned.add(m)
            log.warning("mirror topic %s: %s", m, gap)
        ch = plan(s_cfg, d_cfg)
        if ch:
            log.info(what, m, ch)
            await Admin(dest).alter_topic_configs(m, ch)
            changed[m] = ch
    return changed
