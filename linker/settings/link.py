"""The link file as a whole: read the TOML, validate every section, one `LinkConfig`.

A link file names the two clusters, the topics to mirror and a few engine
knobs. Every mistake is reported with the dotted key that holds it, because a
sidecar that starts with a half-understood config is worse than one that
refuses to start.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cluster import ClusterSettings, parse_cluster
from .errors import ConfigError
from .group import GroupSettings, parse_group
from .lifecycle import LifecycleSettings, parse_lifecycle
from .metrics import MetricsSettings, parse_metrics
from .mirror import MirrorSettings, check_produce_timeout, parse_mirror
from .proxy import ProxySettings, parse_proxy
from .reading import get, only_keys, table
from .topics import TopicSettings, parse_topics


@dataclass(frozen=True)
class LinkConfig:
    name: str
    source: ClusterSettings
    destination: ClusterSettings
    topics: TopicSettings
    mirror: MirrorSettings = field(default_factory=MirrorSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    lifecycle: LifecycleSettings = field(default_factory=LifecycleSettings)
    proxy: ProxySettings | None = None       # None without a [proxy] table
    group: GroupSettings | None = None       # scale-out; None without a [group] table: a linker alone


def load_config(path: str | os.PathLike[str]) -> LinkConfig:
    """Read and validate a link file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read link file {p}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"link file {p} is not valid TOML: {exc}") from None
    return parse_config(data)


def parse_config(data: dict[str, Any]) -> LinkConfig:
    """Validate an already-parsed TOML document."""
    only_keys(data, "", {"name", "source", "destination", "topics", "mirror", "metrics", "lifecycle", "proxy", "group"})
    name = get(data, "", "name", str, "link")
    if not name:
        raise ConfigError("name: must not be empty")
    config = LinkConfig(
        name=name,
        source=parse_cluster(table(data, "", "source", required=True), "source"),
        destination=parse_cluster(table(data, "", "destination", required=True), "destination"),
        topics=parse_topics(table(data, "", "topics", required=True)),
        mirror=parse_mirror(table(data, "", "mirror")),
        metrics=parse_metrics(table(data, "", "metrics")),
        lifecycle=parse_lifecycle(table(data, "", "lifecycle")),
        proxy=parse_proxy(table(data, "", "proxy") if "proxy" in data else None),
        group=parse_group(table(data, "", "group") if "group" in data else None, name),
    )
    check_produce_timeout(config.mirror, config.destination.request_timeout_ms)
    return config
