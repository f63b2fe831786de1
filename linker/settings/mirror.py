"""``[mirror]``: the engine's knobs (acks, memory budget, fetch sizes, timers)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .errors import ConfigError
from .reading import get, only_keys, positive


@dataclass(frozen=True)
class MirrorSettings:
    acks: int = -1
    max_in_flight_bytes: int = 64 * 1024 * 1024
    fetch_max_wait_ms: int = 500
    fetch_max_bytes: int = 16 * 1024 * 1024
    partition_max_bytes: int = 1024 * 1024
    metadata_refresh_ms: int = 30_000
    stop_timeout_ms: int = 10_000
    timestamp_before_max_ms: int = 9_223_372_036_854_775_807
    timestamp_after_max_ms: int = 9_223_372_036_854_775_807
    filler_batch_records: int = 200_000
    filler_delete_every: int = 2_000_000
    audit_interval_ms: int = 15_000
    create_topics: bool = True
    replication_factor: int = -1
    verify_on_start: bool = True


_NOT_POSITIVE_INTS = {"acks", "create_topics", "replication_factor", "verify_on_start"}


def parse_mirror(t: dict[str, Any]) -> MirrorSettings:
    """Validate ``[mirror]``; errors name ``mirror.<key>``."""
    d = MirrorSettings()
    keys = {f.name for f in fields(MirrorSettings)}
    only_keys(t, "mirror", keys)
    acks = get(t, "mirror", "acks", (int, str), d.acks)
    if acks == "all":
        acks = -1
    if acks not in (-1, 1):
        raise ConfigError("mirror.acks: must be \"all\" (-1) or 1; acks=0 gives no offsets to verify")
    values: dict[str, Any] = {"acks": acks}
    for k in keys - _NOT_POSITIVE_INTS:
        values[k] = positive(t, "mirror", k, getattr(d, k))
    values["create_topics"] = get(t, "mirror", "create_topics", bool, d.create_topics)
    values["verify_on_start"] = get(t, "mirror", "verify_on_start", bool, d.verify_on_start)
    rf = get(t, "mirror", "replication_factor", int, d.replication_factor)
    if rf != -1 and rf < 1:
        raise ConfigError("mirror.replication_factor: -1 (broker default) or >= 1")
    values["replication_factor"] = rf
    if values["partition_max_bytes"] > values["fetch_max_bytes"]:
        raise ConfigError("mirror.partition_max_bytes: must not exceed mirror.fetch_max_bytes")
    if values["max_in_flight_bytes"] < values["partition_max_bytes"]:
        raise ConfigError("mirror.max_in_flight_bytes: must be at least mirror.partition_max_bytes")
    return MirrorSettings(**values)
