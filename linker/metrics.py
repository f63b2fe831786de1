"""Prometheus text exposition (format 0.0.4) without a client library, plus a
tiny asyncio HTTP endpoint that serves it and the engine's partition states.

The engine is one asyncio process, so plain dicts are enough: no locks.
"""
from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from typing import Any

LabelKey = tuple[tuple[str, str], ...]


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _fmt(v: float) -> str:
    if isinstance(v, bool):
        v = int(v)
    if isinstance(v, int):
        return str(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v))


class Metric:
    def __init__(self, name: str, help_text: str, kind: str, labels: tuple[str, ...] | None = None) -> None:
        if kind not in ("gauge", "counter"):
            raise ValueError(f"metric kind {kind!r} is not gauge or counter")
        self.name, self.help, self.kind = name, help_text, kind
        #: the label names every sample carries (None: not declared, not checked)
        self.labels = labels
        self.values: dict[LabelKey, float] = {}

    def _key(self, labels: dict[str, Any]) -> LabelKey:
        if self.labels is not None and set(labels) != set(self.labels):
            raise ValueError(f"metric {self.name} takes labels {sorted(self.labels)}, got {sorted(labels)}")
        return tuple(sorted((k, str(v)) for k, v in labels.items()))

    def set(self, value: float, **labels: Any) -> None:
        self.values[self._key(labels)] = value

    def inc(self, amount: float = 1, **labels: Any) -> None:
        if amount < 0 and self.kind == "counter":
            raise ValueError(f"counter {self.name} cannot go down")
        k = self._key(labels)
        self.values[k] = self.values.get(k, 0) + amount

    def remove(self, **labels: Any) -> None:
        self.values.pop(self._key(labels), None)

    def get(self, **labels: Any) -> float | None:
        return self.values.get(self._key(labels))

    def render(self, const: LabelKey = ()) -> str:
        """The samples; ``const`` labels (a scale-out member's ``member``) go on every one."""
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        for key in sorted(self.values):
            shown = tuple(sorted(key + const)) if const else key
            if shown:
                lab = ",".join(f'{k}="{_escape(v)}"' for k, v in shown)
                lines.append(f"{self.name}{{{lab}}} {_fmt(self.values[key])}")
            else:
                lines.append(f"{self.name} {_fmt(self.values[key])}")
        return "\n".join(lines) + "\n"


class Registry:
    def __init__(self) -> None:
        self._metrics: dict[str, Metric] = {}
        #: labels every sample carries (``member`` for a scale-out member: N processes, one link)
        self.const_labels: dict[str, str] = {}

    def gauge(self, name: str, help_text: str, labels: tuple[str, ...] | None = None) -> Metric:
        if name.endswith("_total"):
            raise ValueError(f"gauge {name} must not end in _total (that suffix is for counters)")
        return self._add(name, help_text, "gauge", labels)

    def counter(self, name: str, help_text: str, labels: tuple[str, ...] | None = None) -> Metric:
        if not name.endswith("_total"):
            raise ValueError(f"counter {name} must end in _total")
        return self._add(name, help_text, "counter", labels)

    def _add(self, name: str, help_text: str, kind: str, labels: tuple[str, ...] | None) -> Metric:
        if name in self._metrics:
            raise ValueError(f"metric {name} registered twice")
        m = self._metrics[name] = Metric(name, help_text, kind, labels)
        return m

    @property
    def metrics(self) -> dict[str, Metric]:
        return dict(self._metrics)

    def render(self) -> str:
        const = tuple(sorted(self.const_labels.items()))
        return "".join(m.render(const) for m in self._metrics.values())


TP = ("topic", "partition")
NONE: tuple[str, ...] = ()


class MirrorMetrics:
    """The metric set the issue asks for, in one place, each with its label names (checked on
    every set/inc). Names follow Prometheus conventions: base units in the name (``_seconds``,
    ``_bytes``), ``_total`` on counters only (tests/linker/test_metric_names.py)."""

    def __init__(self) -> None:
        r = self.registry = Registry()
        g, c = r.gauge, r.counter
        self.lag_records = g("linker_partition_lag_records", "Source high watermark minus destination log end.", TP)
        self.lag_bytes = g("linker_partition_lag_bytes", "Estimated bytes not yet mirrored.", TP)
        self.lag_seconds = g("linker_partition_lag_seconds", "Age of the newest mirrored record's timestamp "
                             "when behind; 0 when caught up.", TP)
        self.state = g("linker_partition_state", "1 for the partition's current state.", (*TP, "state"))
        self.fidelity = g("linker_partition_fidelity", "1 for the partition's current fidelity (exact, "
                          "record-exact (compacted), offset-exact (transactional, ...), not-exact, "
                          "unknown).", (*TP, "fidelity"))
        self.bytes_total = c("linker_mirrored_bytes_total", "Batch bytes acknowledged by the destination.", NONE)
        self.batches_total = c("linker_mirrored_batches_total", "Batches acknowledged by the destination.", NONE)
        self.records_total = c("linker_mirrored_records_total", "Records acknowledged by the destination.", NONE)
        self.in_flight_bytes = g("linker_in_flight_bytes", "Fetched bytes not yet acknowledged by the destination.",
                                 NONE)
        self.errors_total = c("linker_errors_total", "Kafka errors seen, by error name and API.", ("api", "error"))
        self.waiting = g("linker_waiting_for_cluster", "1 while the linker waits for what time heals "
                         "(a broker down, leaders not elected yet); 0 when both clusters answer.", NONE)
        self.wait_retries_total = c("linker_wait_retries_total", "Attempts that found a cluster not ready yet.", NONE)
        self.partitions_waiting = g("linker_partitions_waiting", "Live partitions whose ends could not be read "
                                    "in the last lag round (no leader, broker down); the others go on.", NONE)
        self.waiting.set(0)
        self.filler_offsets_total = c("linker_filler_offsets_total", "Filler offsets written to align leading gaps.",
                                      NONE)
        self.rebuilt_batches_total = c("linker_rebuilt_batches_total", "Batches of a compacted topic the linker "
                                       "rebuilt (the source cleaner had removed records), acknowledged.", NONE)
        self.rebuilt_bytes_total = c("linker_rebuilt_bytes_total", "Bytes of rebuilt batches, acknowledged.", NONE)
        self.compaction_fillers_total = c("linker_compaction_fillers_total", "Filler records written at offsets a "
                                          "source cleaner compacted away, acknowledged.", NONE)
        self.audit_partitions_total = c("linker_audit_partitions_total", "Tail audits by result "
                                        "(ok, differs, skipped: not readable then).", ("result",))
        self.audit_bytes_total = c("linker_audit_bytes_total", "Record bytes the tail audit and the start-up "
                                   "prefix check fetched, both clusters together.", NONE)
        self.audit_oldest_age = g("linker_audit_oldest_age_seconds", "Time since the mirroring partition audited "
                                  "longest ago was audited (bound: mirror.audit_cycle_ms).", NONE)
        self.audit_partitions_recent = g("linker_audit_partitions_recent", "Tail audits in the last 60 seconds.",
                                         NONE)
        self.prefix_checks_total = c("linker_prefix_checks_total", "Start-up prefix checks of adopted destination "
                                     "data by result (ok, differs, incomplete).", ("result",))
        self.start_time = g("linker_process_start_time_seconds", "Start time of the linker process since the Unix "
                            "epoch (a change is a restart).", NONE)
        self.start_time.set(round(time.time(), 3))
        self.link_lag_records = g("linker_link_lag_records", "Records behind, all live partitions together.", NONE)
        self.link_lag_bytes = g("linker_link_lag_bytes", "Estimated bytes behind, all live partitions together.",
                                NONE)
        self.group_owned = g("linker_group_partitions_owned", "Scale-out: partitions this member of the link's "
                             "group owns now.", NONE)
        self.group_generation = g("linker_group_generation", "Scale-out: the group generation of the last "
                                  "assignment.", NONE)
        self.group_leader = g("linker_group_leader", "Scale-out: 1 while this member leads the group (and does "
                              "the link's singleton jobs).", NONE)
        self.group_rebalances_total = c("linker_group_rebalances_total", "Scale-out: assignments received.", NONE)
        self.group_lease_ended_total = c("linker_group_lease_ended_total", "Scale-out: times this member's lease "
                                         "ended before a heartbeat confirmed it (it stopped producing at once).", NONE)
        self.catchup_eta_seconds = g("linker_catchup_eta_seconds", "Seconds to zero lag at the pace the lag shrank "
                                     "over the last minute; 0 caught up; absent when not shrinking.", NONE)

    def render(self) -> str:
        return self.registry.render()


class MetricsServer:
    """Serves GET /metrics (Prometheus) and GET /status (engine states, JSON)."""

    def __init__(self, metrics: MirrorMetrics, status: Callable[[], Any], host: str, port: int) -> None:
        self._metrics, self._status, self._host, self._port = metrics, status, host, port
        self._server: asyncio.AbstractServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self._host, self._port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = line.decode("latin-1").split()
            path = parts[1] if len(parts) >= 2 else ""
            if path == "/metrics":
                body, ctype, code = self._metrics.render().encode(), "text/plain; version=0.0.4", "200 OK"
            elif path == "/status":
                body, ctype, code = json.dumps(self._status()).encode(), "application/json", "200 OK"
            else:
                body, ctype, code = b"not found\n", "text/plain", "404 Not Found"
            writer.write(f"HTTP/1.0 {code}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                         "Connection: close\r\n\r\n".encode() + body)
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
