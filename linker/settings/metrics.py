"""``[metrics]``: where `linker run` serves its metrics and status over HTTP."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .reading import get, host_port, only_keys


@dataclass(frozen=True)
class MetricsSettings:
    host: str = "127.0.0.1"
    port: int | None = None     # None: no metrics server


def parse_metrics(t: dict[str, Any]) -> MetricsSettings:
    """Validate ``[metrics]``; errors name ``metrics.<key>``."""
    only_keys(t, "metrics", {"listen"})
    listen = get(t, "metrics", "listen", str, None)
    if listen is None:
        return MetricsSettings()
    host, port = host_port(listen, "metrics.listen")
    return MetricsSettings(host or "127.0.0.1", port)
