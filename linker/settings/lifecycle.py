"""``[lifecycle]``: the state topic, offset/config/ACL sync and promotion timing."""
from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from .errors import ConfigError
from .reading import TOPIC_NAME, only_keys, regexes


@dataclass(frozen=True)
class LifecycleSettings:
    state_topic: str | None = None          # default: __linker-<link name>-state
    state_poll_ms: int = 1000               # how often a running linker reads commands
    offset_sync_interval_ms: int = 10_000
    groups_include: tuple[str, ...] = (".*",)   # consumer groups whose offsets are copied (regex, full match)
    groups_exclude: tuple[str, ...] = ()
    config_sync_interval_ms: int = 30_000
    keep_destination_configs: tuple[str, ...] = ()   # destination overrides the user set on purpose
    promote_timeout_ms: int = 300_000
    manage_acls: bool = False               # DENY WRITE User:* on mirror topics until STOPPED
    sync_acls: bool = False                 # copy source ACLs of mirror topics and selected groups
    acl_principals_exclude: tuple[str, ...] = ()

    def state_topic_for(self, link_name: str) -> str:
        return self.state_topic or f"__linker-{link_name}-state"

    def group_selected(self, group: str) -> bool:
        if any(re.fullmatch(p, group) for p in self.groups_exclude):
            return False
        return any(re.fullmatch(p, group) for p in self.groups_include)


def parse_lifecycle(t: dict[str, Any]) -> LifecycleSettings:
    """Validate the ``[lifecycle]`` table; errors name ``lifecycle.<key>``."""
    if not isinstance(t, dict):
        raise ConfigError("lifecycle: must be a table")
    only_keys(t, "lifecycle", {f.name for f in fields(LifecycleSettings)})
    d = LifecycleSettings()
    values: dict[str, Any] = {}
    for k in ("state_poll_ms", "offset_sync_interval_ms", "config_sync_interval_ms", "promote_timeout_ms"):
        v = t.get(k, getattr(d, k))
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise ConfigError(f"lifecycle.{k}: must be a positive integer, got {v!r}")
        values[k] = v
    st = t.get("state_topic")
    if st is not None and (not isinstance(st, str) or not TOPIC_NAME.fullmatch(st)):
        raise ConfigError(f"lifecycle.state_topic: {st!r} is not a legal Kafka topic name")
    values["state_topic"] = st
    for k in ("manage_acls", "sync_acls"):
        v = t.get(k, False)
        if not isinstance(v, bool):
            raise ConfigError(f"lifecycle.{k}: must be true or false, got {v!r}")
        values[k] = v
    for k in ("groups_include", "groups_exclude", "keep_destination_configs", "acl_principals_exclude"):
        v = t.get(k, list(getattr(d, k)))
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise ConfigError(f"lifecycle.{k}: must be a list of non-empty strings")
        if k != "keep_destination_configs":
            regexes(v, f"lifecycle.{k}")
        values[k] = tuple(v)
    return LifecycleSettings(**values)
