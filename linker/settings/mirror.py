"""``[mirror]``: the engine's knobs (acks, memory budget, fetch sizes, timers).

Durability is not a knob: the engine produces with acks=all only, since with
acks=1 a destination leader failover can drop batches the linker already
counted as mirrored. Timestamp bounds default to Long.MAX - 1: 3.6-3.9 brokers
read Long.MAX as "unset" and fall back to ``message.timestamp.difference.max.ms``.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .errors import ConfigError
from .reading import get, only_keys, positive

LONG_MAX = 9_223_372_036_854_775_807
#: The produce timeout may use at most this share of the destination request timeout.
PRODUCE_TIMEOUT_SHARE = 0.5
#: More produce connections per broker than this buys nothing but broker-side state.
MAX_PRODUCE_LANES = 8


@dataclass(frozen=True)
class MirrorSettings:
    acks: int = -1
    max_in_flight_bytes: int = 64 * 1024 * 1024
    fetch_max_wait_ms: int = 500
    fetch_max_bytes: int = 16 * 1024 * 1024
    partition_max_bytes: int = 1024 * 1024
    metadata_refresh_ms: int = 30_000
    stop_timeout_ms: int = 10_000
    timestamp_before_max_ms: int = LONG_MAX - 1
    timestamp_after_max_ms: int = LONG_MAX - 1
    #: Produce request ``timeout_ms`` (broker side); must stay well below the destination's
    #: ``request_timeout_ms``, or a slow broker makes the client drop the whole connection.
    produce_timeout_ms: int = 10_000
    #: ``min.insync.replicas`` of created mirror topics; -1: min(2, their replication factor).
    min_insync_replicas: int = -1
    #: ``unclean.leader.election.enable`` of created mirror topics.
    unclean_leader_election_enable: bool = False
    filler_batch_records: int = 200_000
    filler_delete_every: int = 2_000_000
    #: The tail audit's tick, and the bound within which it audits every mirroring partition.
    audit_interval_ms: int = 5_000
    audit_cycle_ms: int = 600_000
    create_topics: bool = True
    replication_factor: int = -1
    verify_on_start: bool = True
    #: Produce connections per destination broker, partitions pinned to one each (a broker works
    #: on one request per connection at a time): 2 moved 10-45 % more bytes than 1 on two cores
    #: at about 25 % more linker CPU per GB (docs/benchmarks.md).
    produce_lanes: int = 2
    #: at most how often `linker run` logs the catch-up line (records and bytes behind, rate, ETA)
    progress_log_interval_ms: int = 30_000


_NOT_POSITIVE_INTS = {"acks", "create_topics", "replication_factor", "verify_on_start",
                      "min_insync_replicas", "unclean_leader_election_enable"}


def parse_mirror(t: dict[str, Any]) -> MirrorSettings:
    """Validate ``[mirror]``; errors name ``mirror.<key>``."""
    d = MirrorSettings()
    keys = {f.name for f in fields(MirrorSettings)}
    only_keys(t, "mirror", keys)
    acks = get(t, "mirror", "acks", (int, str), d.acks)
    if acks == "all":
        acks = -1
    if acks != -1:
        raise ConfigError(f"mirror.acks: {acks!r} refused: only \"all\" (-1) is supported; with acks=1 a "
                          "destination leader failover can lose batches already counted as mirrored, "
                          "acks=0 gives no offsets to verify")
    values: dict[str, Any] = {"acks": acks}
    for k in keys - _NOT_POSITIVE_INTS:
        values[k] = positive(t, "mirror", k, getattr(d, k))
    values["create_topics"] = get(t, "mirror", "create_topics", bool, d.create_topics)
    values["verify_on_start"] = get(t, "mirror", "verify_on_start", bool, d.verify_on_start)
    rf = get(t, "mirror", "replication_factor", int, d.replication_factor)
    if rf != -1 and rf < 1:
        raise ConfigError("mirror.replication_factor: -1 (broker default) or >= 1")
    values["replication_factor"] = rf
    isr = get(t, "mirror", "min_insync_replicas", int, d.min_insync_replicas)
    if isr != -1 and isr < 1:
        raise ConfigError("mirror.min_insync_replicas: -1 (min(2, replication factor)) or >= 1")
    if rf != -1 and isr > rf:
        raise ConfigError(f"mirror.min_insync_replicas: {isr} exceeds mirror.replication_factor {rf}: "
                          "every produce would fail with NOT_ENOUGH_REPLICAS")
    values["min_insync_replicas"] = isr
    values["unclean_leader_election_enable"] = get(t, "mirror", "unclean_leader_election_enable", bool,
                                                   d.unclean_leader_election_enable)
    if values["produce_lanes"] > MAX_PRODUCE_LANES:
        raise ConfigError(f"mirror.produce_lanes: {values['produce_lanes']} is more than {MAX_PRODUCE_LANES} "
                          "connections per destination broker")
    if values["partition_max_bytes"] > values["fetch_max_bytes"]:
        raise ConfigError("mirror.partition_max_bytes: must not exceed mirror.fetch_max_bytes")
    if values["max_in_flight_bytes"] < values["partition_max_bytes"]:
        raise ConfigError("mirror.max_in_flight_bytes: must be at least mirror.partition_max_bytes")
    return MirrorSettings(**values)


def check_produce_timeout(mirror: MirrorSettings, request_timeout_ms: int) -> None:
    """The produce timeout must stay well below the destination's request timeout.

    When the client's own timeout fires first it closes the connection, failing
    every request pipelined on it (a resync of every partition it carried)."""
    limit = int(request_timeout_ms * PRODUCE_TIMEOUT_SHARE)
    if mirror.produce_timeout_ms > limit:
        raise ConfigError(f"mirror.produce_timeout_ms: {mirror.produce_timeout_ms} must be at most half of "
                          f"destination.request_timeout_ms ({request_timeout_ms}), i.e. <= {limit}")
