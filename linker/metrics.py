"""Prometheus text exposition (format 0.0.4) without a client library, plus a
tiny asyncio HTTP endpoint that serves it and the engine's partition states.

The engine is one asyncio process, so plain dicts are enough: no locks.
"""
from __future__ import annotations

import asyncio
import json
import math
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
    def __init__(self, name: str, help_text: str, kind: str) -> None:
        if kind not in ("gauge", "counter"):
            raise ValueError(f"metric kind {kind!r} is not gauge or counter")
        self.name, self.help, self.kind = name, help_text, kind
        self.values: dict[LabelKey, float] = {}

    @staticmethod
    def _key(labels: dict[str, Any]) -> LabelKey:
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

    def render(self) -> str:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        for key in sorted(self.values):
            if key:
                lab = ",".join(f'{k}="{_escape(v)}"' for k, v in key)
                lines.append(f"{self.name}{{{lab}}} {_fmt(self.values[key])}")
            else:
                lines.append(f"{self.name} {_fmt(self.values[key])}")
        return "\n".join(lines) + "\n"


class Registry:
    def __init__(self) -> None:
        self._metrics: dict[str, Metric] = {}

    def gauge(self, name: str, help_text: str) -> Metric:
        return self._add(name, help_text, "gauge")

    def counter(self, name: str, help_text: str) -> Metric:
        if not name.endswith("_total"):
            raise ValueError(f"counter {name} must end in _total")
        return self._add(name, help_text, "counter")

    def _add(self, name: str, help_text: str, kind: str) -> Metric:
        if name in self._metrics:
            raise ValueError(f"metric {name} registered twice")
        m = self._metrics[name] = Metric(name, help_text, kind)
        return m

    def render(self) -> str:
        return "".join(m.render() for m in self._metrics.values())


class MirrorMetrics:
    """The metric set the issue asks for, in one place."""

    def __init__(self) -> None:
        r = self.registry = Registry()
        self.lag_records = r.gauge("linker_partition_lag_records", "Source high watermark minus destination log end.")
        self.lag_bytes = r.gauge("linker_partition_lag_bytes", "Estimated bytes not yet mirrored.")
        self.lag_seconds = r.gauge("linker_partition_lag_seconds", "Age of the newest mirrored record's timestamp when behind; 0 when caught up.")
        self.state = r.gauge("linker_partition_state", "1 for the partition's current state.")
        self.bytes_total = r.counter("linker_mirrored_bytes_total", "Batch bytes acknowledged by the destination.")
        self.batches_total = r.counter("linker_mirrored_batches_total", "Batches acknowledged by the destination.")
        self.records_total = r.counter("linker_mirrored_records_total", "Records acknowledged by the destination.")
        self.in_flight_bytes = r.gauge("linker_in_flight_bytes", "Fetched bytes not yet acknowledged by the destination.")
        self.errors_total = r.counter("linker_errors_total", "Kafka errors seen, by error name and API.")
        self.waiting = r.gauge("linker_waiting_for_cluster", "1 while the linker waits for what time heals "
                               "(a broker down, leaders not elected yet); 0 when both clusters answer.")
        self.wait_retries_total = r.counter("linker_wait_retries_total", "Attempts that found a cluster not ready yet.")
        self.partitions_waiting = r.gauge("linker_partitions_waiting", "Live partitions whose ends could not be read "
                                          "in the last lag round (no leader, broker down); the others go on.")
        self.waiting.set(0)
        self.filler_offsets_total = r.counter("linker_filler_offsets_total", "Filler offsets written to align leading gaps.")
        self.rebuilt_batches_total = r.counter("linker_rebuilt_batches_total", "Batches of a compacted topic the "
                                               "linker rebuilt (the source cleaner had removed records), acknowledged.")
        self.rebuilt_bytes_total = r.counter("linker_rebuilt_bytes_total", "Bytes of rebuilt batches, acknowledged.")
        self.compaction_fillers_total = r.counter("linker_compaction_fillers_total", "Filler records written at "
                                                  "offsets a source cleaner compacted away, acknowledged.")
        self.audit_partitions_total = r.counter("linker_audit_partitions_total", "Tail audits by result "
                                                "(ok, differs, skipped: not readable then).")
        self.audit_bytes_total = r.counter("linker_audit_bytes_total", "Record bytes the tail audit and the "
                                           "start-up prefix check fetched, both clusters together.")
        self.audit_oldest_age = r.gauge("linker_audit_oldest_age_seconds", "Time since the mirroring partition "
                                        "audited longest ago was audited (bound: mirror.audit_cycle_ms).")
        self.audit_partitions_per_minute = r.gauge("linker_audit_partitions_per_minute",
                                                   "Tail audits in the last minute.")
        self.prefix_checks_total = r.counter("linker_prefix_checks_total", "Start-up prefix checks of adopted "
                                             "destination data by result (ok, differs, incomplete).")

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
