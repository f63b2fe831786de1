"""Rounds in the replication benchmark's report: the order rotates, figures are
summarised as median (min-max) per workload and contender, and ratios are taken
between medians. Pure: no cluster."""
from __future__ import annotations

from benchmarks.replication import report
from benchmarks.replication.contenders.base import Contender
from benchmarks.replication.runner import Result, rotated


def _result(workload: str, contender: str, rnd: int, mb: float, cpu: float, status: str = "ok") -> Result:
    return Result(workload, contender, status, 10, 10, 1024, mb_per_s=mb, cpu_s_per_gb=cpu, round=rnd)


def test_each_round_starts_with_the_next_contender() -> None:
    a, b, c = Contender("a"), Contender("b"), Contender("c")
    orders = [[x.name for x in rotated([a, b, c], r)] for r in range(4)]
    assert orders == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["a", "b", "c"]]
    assert rotated([], 2) == []


def test_summary_takes_medians_of_finished_rounds_and_ratios_of_medians() -> None:
    results = [_result("8p", "linker", 0, 100.0, 1.0), _result("8p", "linker", 1, 300.0, 3.0),
               _result("8p", "linker", 2, 200.0, 2.0), _result("8p", "linker", 3, 999.0, 9.0, status="capped"),
               _result("8p", "mm2", 0, 50.0, 10.0), _result("8p", "mm2", 1, 40.0, 20.0),
               _result("8p", "mm2", 2, 60.0, 30.0)]
    summ = report.summary(results)["8p"]
    assert summ["linker"]["mb_per_s"] == {"median": 200.0, "min": 100.0, "max": 300.0, "n": 3}
    assert (summ["linker"]["rounds_ok"], summ["linker"]["rounds"]) == (3, 4)
    assert report.ratios(results)["8p"] == {"linker/mm2 MB/s": 4.0, "linker/mm2 CPU per GB": 0.1}
    table = report.markdown(results, {"machine": report.machine()})
    assert "| 8p | linker | 3/4 | 200 (100–300) |" in table
