import json

from linker.status_view import GroupLine, PartitionRow, StatusReport, TopicLine, render_json, render_report, render_table


def rows(mirror_prefix: str = ""):
    return [
        PartitionRow("t", 1, "BLOCKED", "exact", 0, 10, 10, 4, 6, 600, 2.5, "control batch at 4",
                     lifecycle="PAUSED", mirror_topic=mirror_prefix + "t"),
        PartitionRow("t", 0, "MIRRORING", "exact", 0, 10, 10, 10, 0, 0, 0.0,
                     lifecycle="PAUSED", mirror_topic=mirror_prefix + "t"),
    ]


def report(**kw):
    return StatusReport(
        "l", rows(kw.pop("prefix", "")),
        [TopicLine("t", "t", "PAUSED", "paused by command"), TopicLine("u", "u", "ACTIVE")],
        [GroupLine("g1", "group g1: synced 2 partitions at 10:00:00, sync lag 0", at=100.0, lag=0),
         GroupLine("g2", "group g2: skipped (1 active member(s) on the destination)", at=100.0,
                   skipped="1 active member(s) on the destination")],
        **kw)


def test_table_sorted_and_aligned():
    lines = render_table(rows()).splitlines()
    assert lines[0].split() == ["TOPIC", "PART", "LIFECYCLE", "STATE", "FIDELITY", "SRC_START", "SRC_HW",
                                "SRC_END", "DST_END", "LAG_REC", "LAG_BYTES", "LAG_S", "REASON"]
    assert lines[1].split()[:4] == ["t", "0", "PAUSED", "MIRRORING"]
    assert lines[2].split()[:4] == ["t", "1", "PAUSED", "BLOCKED"] and lines[2].endswith("control batch at 4")
    assert lines[1].index("MIRRORING") == lines[0].index("STATE")


def test_mirror_topic_column_only_with_a_prefix():
    assert "MIRROR_TOPIC" not in render_table(rows())
    lines = render_table(rows("src.")).splitlines()
    assert lines[0].split()[:3] == ["TOPIC", "MIRROR_TOPIC", "PART"]
    assert lines[1].split()[:3] == ["t", "src.t", "0"]


def test_report_lists_non_active_topics_and_group_sync_lines():
    text = render_report(report(engine_reachable=True, linker_running=True), now=130.0)
    assert "engine not reachable" not in text
    assert "  t: PAUSED (paused by command)" in text and "  u:" not in text
    assert "  group g1: synced 2 partitions at 10:00:00, sync lag 0, 30s ago" in text
    assert "  group g2: skipped (1 active member(s) on the destination)\n" in text
    offline = render_report(StatusReport("l", rows(), [TopicLine("t", "src.t", "STOPPED", "promoted", "linker")]))
    assert offline.startswith("engine not reachable")
    assert "  t -> src.t: STOPPED (promoted) by linker" in offline and "offset sync" not in offline


def test_json_round_trip():
    doc = json.loads(render_json(report(engine_reachable=False, state_topic_found=True)))
    assert doc["link"] == "l" and doc["engine_reachable"] is False and doc["state_topic_found"] is True
    assert [p["partition"] for p in doc["partitions"]] == [0, 1]
    assert doc["partitions"][1]["lag_seconds"] == 2.5 and doc["partitions"][1]["lifecycle"] == "PAUSED"
    assert doc["topics"]["t"] == {"mirror_topic": "t", "state": "PAUSED", "reason": "paused by command",
                                  "by": "", "at_ms": None}
    assert doc["groups"]["g2"]["skipped"].startswith("1 active") and doc["groups"]["g1"]["lag"] == 0


def test_catch_up_line_rate_eta_and_the_watch_summary():
    from linker.status_view import catchup_line, summary_line
    rep = report()
    rep.engine_reachable = True
    rep.progress = {"records_per_second": 41000.0, "bytes_per_second": 3358720.0, "eta_seconds": 12.4}
    lag = sum(r.lag_records or 0 for r in rep.rows)
    assert catchup_line(rep).startswith(f"catch-up: {lag} records")
    assert catchup_line(rep).endswith("; mirroring 41000 records/s (3358720 B/s); ETA 12s")
    rep.progress["eta_seconds"] = None
    assert catchup_line(rep).endswith("not catching up (lag not shrinking)")
    line = summary_line(rep, now=0)
    assert line.startswith("1970-01-01T00:00:00Z l: ") and line.endswith("\n") and "\n" not in line[:-1]
    rep.prefix_checks = {"pending": 3, "running": 2, "done": 1}
    assert "start-up prefix checks of adopted destination data: 2 running, 3 waiting, 1 done" in render_report(rep)
    doc = json.loads(render_json(rep))
    assert doc["catchup"]["lag_records"] == lag and doc["catchup"]["records_per_second"] == 41000.0
