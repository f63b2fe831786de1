"""Shared pytest fixtures: real Apache Kafka clusters started by kafkabed.

Clusters are session-scoped and started lazily: a test pays only for the
clusters it asks for. Every test gets unique topic names. On a failing test
the tail of the broker logs of the clusters it used is attached to the report,
and the terminal summary lists each cluster's start-up time.
"""
from __future__ import annotations

import re
import uuid
from typing import Iterator

import pytest

from kafkabed import MIGRATION_SOURCE, PREVIOUS_4X, KafkaCluster, procs, run_dir, started_clusters

_failed_to_start: list[KafkaCluster] = []
_notes: list[str] = []


def _cluster(request: pytest.FixtureRequest, **kwargs) -> Iterator[KafkaCluster]:
    cluster = KafkaCluster(**kwargs)
    _failed_to_start.append(cluster)  # until it has started
    try:
        cluster.start()
        _failed_to_start.remove(cluster)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def source(request: pytest.FixtureRequest) -> Iterator[KafkaCluster]:
    """1-node PLAINTEXT Kafka (pinned version): the mirror's source."""
    yield from _cluster(request, name="source")


@pytest.fixture(scope="session")
def destination(request: pytest.FixtureRequest) -> Iterator[KafkaCluster]:
    """1-node PLAINTEXT Kafka (pinned version): the mirror's destination."""
    yield from _cluster(request, name="destination")


@pytest.fixture(scope="session")
def secure_cluster(request: pytest.FixtureRequest) -> Iterator[KafkaCluster]:
    """1 node with PLAINTEXT, SASL_PLAINTEXT, SSL and SASL_SSL listeners; users admin/alice/bob
    can use PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512; no authorizer."""
    yield from _cluster(request, name="secure", listeners=("PLAINTEXT", "SASL_PLAINTEXT", "SSL", "SASL_SSL"))


@pytest.fixture(scope="session")
def authorizer_cluster(request: pytest.FixtureRequest) -> Iterator[KafkaCluster]:
    """1 node, SASL_PLAINTEXT and SASL_SSL, StandardAuthorizer with super user 'admin'."""
    yield from _cluster(request, name="authz", listeners=("SASL_PLAINTEXT", "SASL_SSL"), authorizer=True)


@pytest.fixture(scope="session")
def cluster3(request: pytest.FixtureRequest) -> Iterator[KafkaCluster]:
    """3-node PLAINTEXT cluster (replication factor 3 by default) for failure tests.
    Tests that kill a node must restart it before they end."""
    yield from _cluster(request, name="three", nodes=3)


@pytest.fixture(scope="session")
def source39(request: pytest.FixtureRequest) -> Iterator[KafkaCluster]:
    """1-node PLAINTEXT Kafka 3.9.x: the migration-source case."""
    yield from _cluster(request, name="source39", version=MIGRATION_SOURCE)


@pytest.fixture(scope="session")
def destination39(request: pytest.FixtureRequest) -> Iterator[KafkaCluster]:
    """1-node PLAINTEXT Kafka 3.9.x as a destination (a 4.x source mirrored into 3.9)."""
    yield from _cluster(request, name="destination39", version=MIGRATION_SOURCE)


@pytest.fixture(scope="session")
def cluster41(request: pytest.FixtureRequest) -> Iterator[KafkaCluster]:
    """1-node PLAINTEXT Kafka 4.1.x: the older 4.x release, as a source or a destination."""
    yield from _cluster(request, name="kafka41", version=PREVIOUS_4X)


@pytest.fixture
def topic_name(request: pytest.FixtureRequest) -> str:
    """A topic name unique to this test (and to this run)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name).strip("-")[:150]
    return f"{base}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def topic_names(request: pytest.FixtureRequest):
    """A factory of further unique topic names: topic_names('suffix')."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name).strip("-")[:120]

    def make(suffix: str = "t") -> str:
        return f"{base}-{suffix}-{uuid.uuid4().hex[:8]}"
    return make


@pytest.fixture
def testbed_report():
    """report(line): a measured figure to show in the terminal summary of every run."""
    return _notes.append


@pytest.fixture(autouse=True)
def _healed_clusters() -> Iterator[None]:
    """After each test, the shared clusters get back any node it left down or frozen (a test
    that failed half-way through a fault), so the failure stays its own; said in the summary."""
    yield
    for cluster in started_clusters():
        started = cluster.heal()
        if started:
            _notes.append(f"healed after a test: {cluster.name} nodes {started} were down")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        funcargs = getattr(item, "funcargs", {}) or {}  # every fixture of the test, direct or not
        used = {id(v): v for v in funcargs.values() if isinstance(v, KafkaCluster)}
        for cluster in used.values():
            logs = cluster.tail_logs(40)
            if logs:
                report.sections.append((f"broker logs: {cluster.name} ({cluster.directory})", logs))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    clusters = started_clusters() + _failed_to_start
    if not clusters and not _notes:
        return
    tr = terminalreporter
    tr.section("kafkabed clusters")
    for c in clusters:
        took = f"{c.startup_seconds:.1f}s" if c.startup_seconds is not None else "did not start"
        tr.write_line(f"{c.name:12} Kafka {c.version}, {c.nodes} node(s), {'+'.join(c.listeners)}"
                      f"{', authorizer' if c.authorizer else ''}: start-up {took}")
    for line in _notes:
        tr.write_line(line)
    left = procs.processes_mentioning(str(run_dir()))
    tr.write_line(f"JVMs of this run still alive: {left or 'none'}")
    tr.write_line(f"broker logs kept in {run_dir()}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    procs.kill_all()  # belt and braces: nothing outlives the run, even after an interrupt
