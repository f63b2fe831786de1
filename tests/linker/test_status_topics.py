"""`linker status` keeps a literal topic that was deleted on the source visible (issue 14, item 16)."""
from __future__ import annotations

import asyncio
import json
import time

from kafkabed.producers import produce
from linker.status import collect
from linker.status_view import render_json, render_report

from .mirror.helpers import caught_up, engine_for, link_config, run_until


def test_a_literal_topic_deleted_on_the_source_is_shown_as_missing(source, destination, topic_names):
    kept, deleted = topic_names("kept"), topic_names("gone")
    for t in (kept, deleted):
        source.create_topic(t, partitions=2)
        produce(source, t, 40)
    cfg = link_config(source, destination, names=[kept, deleted])
    asyncio.run(run_until(engine_for(cfg), caught_up(), 90))
    source.admin().delete_topics([deleted])
    deadline = time.monotonic() + 30
    while True:
        report = asyncio.run(collect(cfg, None))
        if report.missing_on_source:
            break
        assert time.monotonic() < deadline, "the deleted topic never went missing"
        time.sleep(0.5)
    assert report.missing_on_source == [deleted]
    gone = sorted((r.partition, r.state, r.dest_log_end, r.source_high_watermark)
                  for r in report.rows if r.topic == deleted)
    assert [g[:2] for g in gone] == [(0, "SOURCE-MISSING"), (1, "SOURCE-MISSING")]
    assert sum(g[2] for g in gone) == 40 and all(g[3] is None for g in gone)
    assert {r.state for r in report.rows if r.topic == kept} == {"NO-ENGINE"}
    text = render_report(report)
    assert f"topics named in the link but missing on the source (deleted?): {deleted}" in text
    assert json.loads(render_json(report))["missing_on_source"] == [deleted]
