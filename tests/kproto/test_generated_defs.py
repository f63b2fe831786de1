"""The committed definitions and error table are what the generators produce
from the pinned kafka-clients jar (fetched by kafkabed), so nobody edits them
by hand and a re-pin shows up as a diff."""
from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest

import kafkabed

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def jars() -> list[Path]:
    return kafkabed.kafka_jars()


def clients_jar(jars: list[Path]) -> Path:
    found = [j for j in jars if j.name == f"kafka-clients-{kafkabed.PINNED}.jar"]
    assert found, "kafka-clients jar missing from the pinned broker jars"
    return found[0]


def test_definitions_match_the_generator(jars: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "defs"
    subprocess.run([sys.executable, str(ROOT / "tools" / "gen_kproto_defs.py"), str(clients_jar(jars)), str(out)],
                   check=True, capture_output=True)
    committed = ROOT / "kproto" / "defs"
    names = sorted(p.name for p in out.glob("*.py"))
    assert names == sorted(p.name for p in committed.glob("*.py"))
    _match, mismatch, errors = filecmp.cmpfiles(out, committed, names, shallow=False)
    assert not mismatch and not errors
    assert filecmp.cmp(tmp_path / "api_keys.py", ROOT / "kproto" / "api_keys.py", shallow=False)


def test_error_table_matches_the_generator(jars: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "errors.py"
    cp = os.pathsep.join(str(j) for j in jars)
    subprocess.run([sys.executable, str(ROOT / "tools" / "gen_kproto_errors.py"), cp, str(out)],
                   check=True, capture_output=True)
    assert out.read_text() == (ROOT / "kproto" / "errors.py").read_text()
