"""Periodic topic config sync, source -> mirror topic.

Copied: ``retention.ms``, ``retention.bytes``, ``cleanup.policy`` and
``max.message.bytes`` (at least the source's) - the mirror engine's
``COPIED_FROM_SOURCE``. Forced whatever the source says: CreateTime, both
timestamp bounds, ``compression.type=producer``, and for a compacted source its
``cleanup.policy`` (the mirror's cleaner removes compaction fillers). Never
touched: everything else. A copied key
named in ``lifecycle.keep_destination_configs`` keeps the destination's value;
forced keys cannot be kept (exactness depends on them).
"""
from __future__ import annotations

import logging

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
    forced = set(FORCED)
    if "compact" in (source_cfg.get("cleanup.policy") or ""):
        forced.add("cleanup.policy")
    required = {k: v for k, v in required.items() if k in forced or k not in keep}
    return config_drift(required, dest_cfg)


async def sync_configs(source: Client, dest: Client, topics: list[str], mirror: MirrorSettings,
                       keep: tuple[str, ...], names: MirrorNames = MirrorNames()) -> dict[str, dict[str, str]]:
    """Apply config changes to the mirror topic of every source topic in ``topics``;
    returns what was changed, by mirror topic name."""
    if not topics:
        return {}
    src = await Admin(source).topic_configs(topics)
    dst = await Admin(dest).topic_configs([names.mirror_topic(t) for t in topics])
    changed = {}
    for t in topics:
        m = names.mirror_topic(t)
        ch = config_changes(src.get(t, {}), dst.get(m, {}), mirror, keep)
        if ch:
            log.info("config sync: %s <- %s %s", m, t, ch)
            await Admin(dest).alter_topic_configs(m, ch)
            changed[m] = ch
    return changed
