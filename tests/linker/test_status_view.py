import json

from linker.status_view import PartitionRow, render_json, render_table


def rows():
    return [
        PartitionRow("t", 1, "BLOCKED", "exact", 0, 10, 10, 4, 6, 600, 2.5, "control batch at 4"),
        PartitionRow("t", 0, "MIRRORING", "exact", 0, 10, 10, 10, 0, 0, 0.0),
    ]


def test_table_sorted_and_aligned():
    lines = render_table(rows()).splitlines()
    assert lines[0].split() == ["TOPIC", "PART", "STATE", "FIDELITY", "SRC_START", "SRC_HW", "SRC_END",
                                "DST_END", "LAG_REC", "LAG_BYTES", "LAG_S", "REASON"]
    assert lines[1].split()[:3] == ["t", "0", "MIRRORING"]
    assert lines[2].split()[:3] == ["t", "1", "BLOCKED"] and lines[2].endswith("control batch at 4")
    assert lines[1].index("MIRRORING") == lines[0].index("STATE")


def test_json_round_trip():
    doc = json.loads(render_json("l", rows(), engine_reachable=False))
    assert doc["link"] == "l" and doc["engine_reachable"] is False
    assert [p["partition"] for p in doc["partitions"]] == [0, 1]
    assert doc["partitions"][1]["lag_seconds"] == 2.5
