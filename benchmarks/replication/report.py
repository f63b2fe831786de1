"""Results out: one JSON file per workload, a Markdown table with the ratios, a PNG chart."""
from __future__ import annotations

import json
import os
import platform
import statistics
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil

from kafkabed import PINNED

from benchmarks.replication.runner import Result


def code_version() -> dict[str, Any]:
    """The commit measured, and whether kproto/ or linker/ differed from it (colleagues' work in progress)."""
    import subprocess
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "kproto", "linker"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.split("\n")
        return {"commit": head, "uncommitted_in_kproto_or_linker": [l[3:] for l in dirty if l.strip()]}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None}


def machine() -> dict[str, Any]:
    return {"cores": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "cpu": platform.processor() or platform.machine(), "python": platform.python_version(),
            "kafka": PINNED, "load_average_at_start": [round(x, 1) for x in os.getloadavg()]}


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


#: Figures summarised over rounds (median, min, max per workload and contender).
SUMMARISED = ("mb_per_s", "cpu_s_per_gb", "total_cpu_s_per_gb", "source_broker_cpu_s_per_gb",
              "dest_broker_cpu_s_per_gb", "machine_busy_cores", "peak_rss_mb", "offsets_per_s")


def _spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": round(statistics.median(values), 2), "min": min(values), "max": max(values),
            "n": len(values)}


def summary(results: list[Result]) -> dict[str, dict[str, dict[str, Any]]]:
    """{workload: {contender: {figure: {median, min, max, n}}}} over the rounds that finished
    ("ok"); latency workloads also summarise p50_ms and p99_ms."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in results:
        out.setdefault(r.workload, {}).setdefault(r.contender, {})
    for w, by_c in out.items():
        for c in by_c:
            runs = [r for r in results if r.workload == w and r.contender == c and r.status == "ok"]
            figs: dict[str, Any] = {}
            for name in SUMMARISED:
                got = _spread([getattr(r, name) for r in runs if getattr(r, name) is not None])
                if got:
                    figs[name] = got
            for name in ("p50_ms", "p99_ms"):
                got = _spread([r.latency[name] for r in runs if r.latency and r.latency.get(name) is not None])
                if got:
                    figs[name] = got
            figs["rounds"] = len([r for r in results if r.workload == w and r.contender == c])
            figs["rounds_ok"] = len(runs)
            by_c[c] = figs
    return out


def _median(summ: dict[str, Any], contender: str, figure: str) -> float | None:
    got = summ.get(contender, {}).get(figure)
    return got["median"] if got else None


def ratios(results: list[Result], summ_all: dict[str, dict[str, dict[str, Any]]] | None = None
           ) -> dict[str, dict[str, float | None]]:
    """Per workload, ratios of medians over the rounds: linker MB/s over each other
    contender's, and linker CPU/GB over MM2's (``summ_all``: ``summary(results)`` if already made)."""
    out: dict[str, dict[str, float | None]] = {}
    for w, summ in (summ_all if summ_all is not None else summary(results)).items():
        if "linker" not in summ:
            continue
        row: dict[str, float | None] = {}
        for other in ("mm2", "naive", "ceiling"):
            if other in summ:
                row[f"linker/{other} MB/s"] = ratio(_median(summ, "linker", "mb_per_s"),
                                                    _median(summ, other, "mb_per_s"))
        if "mm2" in summ:
            row["linker/mm2 CPU per GB"] = ratio(_median(summ, "linker", "cpu_s_per_gb"),
                                                 _median(summ, "mm2", "cpu_s_per_gb"))
        out[w] = row
    return out


def write_json(results: list[Result], out_dir: Path, date: str, meta: dict[str, Any]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    summ = summary(results)
    rat = ratios(results, summ)
    for w in dict.fromkeys(r.workload for r in results):
        p = out_dir / f"{date}-{w}.json"
        p.write_text(json.dumps({"workload": w, **meta, "ratios": rat.get(w, {}), "summary": summ.get(w, {}),
                                 "results": [asdict(r) for r in results if r.workload == w]}, indent=2) + "\n")
        paths.append(p)
    return paths


def _f(v: Any) -> str:
    return "–" if v is None else f"{v:g}" if isinstance(v, float) else str(v)


def markdown(results: list[Result], meta: dict[str, Any]) -> str:
    m = meta["machine"]
    lines = [f"Kafka {m['kafka']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}; "
             f"load average at start {m['load_average_at_start']}. MB = 10^6 bytes of record values "
             "(before compression); CPU s/GB over the same window.", "",
             "| workload | round | contender | MB/s | records/s | CPU s/GB | peak RSS MB | src broker CPU s/GB "
             "| dst broker CPU s/GB | all CPU s/GB | cores busy | start s | p50 ms | p99 ms | status |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        lat = r.latency or {}
        status = r.status if r.status in ("ok", "capped") else r.status.split("\n")[0][:60]
        lines.append(f"| {r.workload} | {r.round} | {r.contender} | {_f(r.mb_per_s)} | {_f(r.records_per_s)} | "
                     f"{_f(r.cpu_s_per_gb)} | {_f(r.peak_rss_mb)} | {_f(r.source_broker_cpu_s_per_gb)} | "
                     f"{_f(r.dest_broker_cpu_s_per_gb)} | {_f(r.total_cpu_s_per_gb)} | {_f(r.machine_busy_cores)} | "
                     f"{_f(r.startup_s)} | {_f(lat.get('p50_ms'))} | "
                     f"{_f(lat.get('p99_ms'))} | {status} |")
    comp = [r for r in results if r.source_offsets is not None]
    if comp:
        lines += ["", "Compacted workloads: the source was cleaned before the contenders ran. A contender "
                  "that keeps offsets (linker) writes every source offset, fillers at the holes; the others "
                  "write only the retained records. records/s, MB/s and CPU s/GB count retained source "
                  "records; offsets/s counts source offsets covered; `written` is the records the contender "
                  "wrote to the destination.", "",
                  "| workload | contender | source offsets | retained | written | fillers | offsets/s | "
                  "retained records/s | MB/s | moving s | start s | status |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for r in comp:
            status = r.status if r.status in ("ok", "capped") else r.status.split("\n")[0][:60]
            lines.append(f"| {r.workload} | {r.contender} | {_f(r.source_offsets)} | {_f(r.source_retained)} | "
                         f"{_f(r.records_dest)} | {_f(r.fillers)} | {_f(r.offsets_per_s)} | "
                         f"{_f(r.records_per_s)} | {_f(r.mb_per_s)} | {_f(r.moving_s)} | {_f(r.startup_s)} | "
                         f"{status} |")
    summ = summary(results)
    lines += _summary_lines(summ)
    rat = ratios(results, summ)
    if rat:
        cols = ["linker/mm2 MB/s", "linker/naive MB/s", "linker/ceiling MB/s", "linker/mm2 CPU per GB"]
        lines += ["", "Ratios of medians over the rounds:", "",
                  "| workload | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
        for w, row in rat.items():
            lines.append(f"| {w} | " + " | ".join(_f(row.get(c)) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def _cell(figs: dict[str, Any], name: str) -> str:
    got = figs.get(name)
    if not got:
        return "–"
    if got["n"] == 1:
        return _f(got["median"])
    return f"{_f(got['median'])} ({_f(got['min'])}–{_f(got['max'])})"


def _summary_lines(summ: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    cols = [("mb_per_s", "MB/s"), ("cpu_s_per_gb", "CPU s/GB"), ("total_cpu_s_per_gb", "all CPU s/GB"),
            ("machine_busy_cores", "cores busy"), ("peak_rss_mb", "peak RSS MB"), ("p50_ms", "p50 ms"),
            ("p99_ms", "p99 ms")]
    lines = ["", "Medians over the rounds that finished, (min–max); all CPU = contender + both brokers:", "",
             "| workload | contender | rounds ok | " + " | ".join(c[1] for c in cols) + " |",
             "|---|---|---:|" + "---:|" * len(cols)]
    for w, by_c in summ.items():
        for c, figs in by_c.items():
            lines.append(f"| {w} | {c} | {figs['rounds_ok']}/{figs['rounds']} | "
                         + " | ".join(_cell(figs, n) for n, _ in cols) + " |")
    return lines


def chart(results: list[Result], path: Path) -> None:
    """Throughput and CPU per GB, grouped by workload, one bar per contender."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summ = summary(results)
    workloads = [w for w in summ if any("mb_per_s" in f for f in summ[w].values())]
    contenders = list(dict.fromkeys(c for w in workloads for c in summ[w]))
    fig, axes = plt.subplots(2, 1, figsize=(max(8, 1.6 * len(workloads)), 8))
    width = 0.8 / max(1, len(contenders))
    for ax, attr, label in ((axes[0], "mb_per_s", "MB/s (record values), median"),
                            (axes[1], "cpu_s_per_gb", "replicator CPU s per GB, median")):
        for i, c in enumerate(contenders):
            xs = [j + i * width for j in range(len(workloads))]
            ys = [_median(summ[w], c, attr) or 0 for w in workloads]
            ax.bar(xs, ys, width, label=c)
        ax.set_xticks([j + width * (len(contenders) - 1) / 2 for j in range(len(workloads))], workloads)
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend()
    axes[0].set_title("Replication throughput and CPU per GB by contender")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
