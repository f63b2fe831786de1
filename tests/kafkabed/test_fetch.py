"""Fetching jars: the cache layout, idempotence, concurrency and clear errors."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import kafkabed.fetch as fetchmod
from kafkabed.versions import MATRIX, MIGRATION_SOURCE, PINNED, PREVIOUS_4X, RELEASES, release


def test_pinned_versions_are_known_and_complete():
    assert MATRIX == (PINNED, PREVIOUS_4X, MIGRATION_SOURCE) == ("4.4.0", "4.1.1", "3.9.1")
    assert set(MATRIX) == set(RELEASES)
    for version in MATRIX:
        coords = release(version).artifacts
        assert f"org.apache.kafka:kafka_2.13:{version}" in coords
        assert f"org.apache.kafka:kafka-clients:{version}" in coords
    with pytest.raises(ValueError, match="unknown Kafka version '2.8.0'"):
        release("2.8.0")


def test_pom_lists_each_coordinate():
    pom = fetchmod._pom(["a.b:c-d:1.2", "e:f:3"])
    assert "<groupId>a.b</groupId><artifactId>c-d</artifactId><version>1.2</version>" in pom
    assert "<groupId>e</groupId><artifactId>f</artifactId><version>3</version>" in pom


def test_cache_root_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("KAFKABED_CACHE", str(tmp_path))
    assert fetchmod.cache_root() == tmp_path
    monkeypatch.delenv("KAFKABED_CACHE")
    assert fetchmod.cache_root() == Path.home() / ".cache" / "kafkabed"


@pytest.mark.parametrize("bad", ["kafka-clients", "a:b", "a:b:c:d", "a:b:1 --evil"])
def test_bad_coordinates_are_named(bad):
    with pytest.raises(ValueError, match="Maven coordinate"):
        fetchmod.fetch_artifacts("x", [bad])


def test_bad_set_names_are_refused():
    with pytest.raises(ValueError, match="artifact set name"):
        fetchmod.fetch_artifacts("../escape", ["a:b:1"])
    with pytest.raises(ValueError, match="at least one"):
        fetchmod.fetch_artifacts("empty", [])


def test_pinned_fetch_is_idempotent_and_complete():
    jars = fetchmod.kafka_jars(PINNED)
    names = {j.name for j in jars}
    for needed in (f"kafka_2.13-{PINNED}.jar", f"kafka-clients-{PINNED}.jar", f"kafka-tools-{PINNED}.jar"):
        assert needed in names
    assert any(n.startswith("log4j-core-") for n in names), "brokers need a logging backend"
    t0 = time.monotonic()
    again = fetchmod.kafka_jars(PINNED)
    assert again == jars and time.monotonic() - t0 < 1.0, "a second fetch only reads the cache"
    assert fetchmod.classpath(PINNED).split(":") == [str(j) for j in jars]


def test_concurrent_fetch_of_extra_artifacts(monkeypatch, tmp_path):
    """Two fetchers at once (separate lock descriptions, as two processes would have) both get
    the complete set; Maven ran once, the second waited on the lock and found the marker."""
    monkeypatch.setenv("KAFKABED_CACHE", str(tmp_path))
    calls: list[int] = []
    real_run = fetchmod.subprocess.run

    def counting_run(*a, **kw):
        calls.append(1)
        return real_run(*a, **kw)
    monkeypatch.setattr(fetchmod.subprocess, "run", counting_run)
    coords = [f"org.apache.kafka:kafka-clients:{PINNED}"]
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(fetchmod.fetch_artifacts("clients", coords)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results[0] == results[1]
    assert f"kafka-clients-{PINNED}.jar" in results[0]
    assert len(calls) == 1
    assert (tmp_path / "extra" / "clients" / ".complete").exists()
    assert not [p for p in tmp_path.joinpath("extra").iterdir() if p.name.startswith(".clients-")], \
        "the temporary work directory is removed"


def test_maven_failure_is_reported(monkeypatch, tmp_path):
    monkeypatch.setenv("KAFKABED_CACHE", str(tmp_path))
    with pytest.raises(fetchmod.FetchError, match="no.such.group:nothing-here:0.0.1"):
        fetchmod.fetch_artifacts("missing", ["no.such.group:nothing-here:0.0.1"])
    assert not (tmp_path / "extra" / "missing" / ".complete").exists()


def test_fetch_without_a_version_gets_the_whole_matrix(capsys):
    """`python -m kafkabed fetch` (what `make kafka` runs) caches every matrix version."""
    from kafkabed.__main__ import main

    assert list(fetchmod.fetch_all()) == list(MATRIX)
    assert main(["fetch"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"Kafka {v}" for v in MATRIX]
