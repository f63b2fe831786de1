"""``[group]``: scale-out. With this table, every `linker run` of the link joins one group on the
destination cluster and mirrors only the partitions the group assigns it (docs/scale-out.md).
Without it, a linker runs alone, as the single fenced owner of its link."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .reading import get, only_keys, positive


@dataclass(frozen=True)
class GroupSettings:
    group_id: str
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 2_000
    # How long a member writes after its last confirmed heartbeat was sent; shorter than the session.
    lease_ms: int = 6_000

    @property
    def rebalance_timeout_ms(self) -> int:
        """At least the session timeout: a member is never removed for a slow rejoin before its
        lease (renewed only by confirmed heartbeats) has ended."""
        return self.session_timeout_ms


def parse_group(t: dict[str, Any] | None, link_name: str) -> GroupSettings | None:
    """Validate ``[group]``; None without the table. Errors name ``group.<key>``."""
    if t is None:
        return None
    only_keys(t, "group", {"id", "session_timeout_ms", "heartbeat_interval_ms", "lease_ms"})
    group_id = get(t, "group", "id", str, f"kafka-linker-{link_name}")
    if not group_id:
        raise ConfigError("group.id: must not be empty")
    session = positive(t, "group", "session_timeout_ms", 10_000)
    hb = positive(t, "group", "heartbeat_interval_ms", max(1, session // 5))
    if hb * 3 > session:
        raise ConfigError(f"group.heartbeat_interval_ms: {hb} must be at most a third of "
                          f"group.session_timeout_ms ({session})")
    lease = positive(t, "group", "lease_ms", session - 2 * hb)
    if not hb < lease < session:
        raise ConfigError(f"group.lease_ms: {lease} must be above group.heartbeat_interval_ms ({hb}) and below "
                          f"group.session_timeout_ms ({session}): the gap is what produces in flight when the "
                          "lease ends have to land before the coordinator can give the partitions away")
    return GroupSettings(group_id, session, hb, lease)
