"""Kafka's own Java tools as a hostile client (issue 17): `linker run` mirrors a topic,
`linker proxy --config` fronts the destination, and every change an operator or attacker could
make to the mirror with kafka-topics, kafka-configs, kafka-acls, kafka-delete-records,
kafka-leader-election, kafka-reassign-partitions, kafka-console-producer,
kafka-producer-perf-test (transactional), kafka-transactions, kafka-features and a small Java
AdminClient program (java/HostileAdmin.java) is made through the proxy's bootstrap. Each
tool must fail naming the refusal, and the destination -- read directly, never through the
proxy or linker code -- must be unchanged, the mirror still exact (tests/checker.py).

The tools run once for the module, four JVMs at a time (each JVM start costs 1-2 s here);
the tests below judge their outputs and the destination afterwards."""
from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kafkabed import classpath
from kafkabed.cluster import java_binary
from kafkabed.javacodec import compile_helper, helper_classpath
from kafkabed.producers import produce
from tests.checker import EARLIEST, LATEST, RawCluster, check_mirror, wait_exact

from test_link_cli import Proc, free_port, link_file

T = "org.apache.kafka.tools."
PARTITIONS = 2
RECORDS = 30
PARALLEL = 4
#: The mark every hostile record carries, so the state topic can be searched for it.
MARK = "forged-by-a-java-tool"
POLICY = "PolicyViolationException"
MIRROR_REFUSAL = f"{POLICY}: the topic is a read-only mirror"
INTERNAL_REFUSAL = f"{POLICY}: the topic belongs to a link"
BROKER_REFUSAL = f"{POLICY}: broker configs apply to read-only mirrors"
#: Harmless if an attack did get through (the destination is shared by the session), yet visible.
TOPIC_RETENTION = "86400001"
BROKER_RETENTION = "604800001"


@dataclass
class Tool:
    """One attack: a Java main class with its arguments (and stdin)."""

    main: str
    args: list[str]
    stdin: str | None = None
    classpath_extra: str = ""
    rc: int | None = None
    output: str = ""
    seconds: float = 0.0

    def run(self) -> None:
        cp = f"{self.classpath_extra}:{classpath()}" if self.classpath_extra else classpath()
        started = time.monotonic()
        try:
            done = subprocess.run([java_binary(), "-Xmx192m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                                   "-Xshare:auto", "-cp", cp, self.main, *self.args],
                                  input=self.stdin, capture_output=True, text=True, timeout=90)
            self.rc, self.output = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as exc:
            self.rc, self.output = None, f"timed out after 90 s: {exc.stdout!r} {exc.stderr!r}"
        self.seconds = time.monotonic() - started

    def __str__(self) -> str:
        lines = [line for line in self.output.splitlines() if not line.lstrip().startswith("at ")]
        return f"{self.main} {' '.join(self.args)} -> rc {self.rc}\n" + "\n".join(lines[-25:])


@dataclass
class Snapshot:
    """What the attacks must not change, read from the destination directly."""

    topics: set[str]
    partitions: dict[str, list[int] | None]
    log_bounds: dict[int, tuple[int, int]]
    topic_configs: dict[str, tuple[str | None, str]]
    broker_configs: dict[str, tuple[str | None, str]]


@dataclass
class Attacked:
    mirror: str
    future: str
    state: str
    bootstrap: str
    before: Snapshot
    after: Snapshot
    tools: dict[str, Tool] = field(default_factory=dict)
    seconds: float = 0.0


def _configs(admin, kind, name: str) -> dict[str, tuple[str | None, str]]:
    from kafka.admin import ConfigResource
    got = admin.describe_configs([ConfigResource(kind, name)], config_filter="all")
    (entries,) = next(iter(got.values())).values()
    return {k: (v["value"], v["config_source"]) for k, v in entries.items()}


def _snapshot(destination, mirror: str, state: str, future: str, broker: str) -> Snapshot:
    from kafka.admin import ConfigResourceType, KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=destination.bootstrap)
    try:
        topics = set(admin.list_topics())
        topic_configs = _configs(admin, ConfigResourceType.TOPIC, mirror)
        broker_configs = _configs(admin, ConfigResourceType.BROKER, broker)
    finally:
        admin.close()
    with RawCluster(destination.bootstrap_for("INTERNAL")) as raw:
        partitions = {t: raw.partitions(t) for t in (mirror, state, future)}
        bounds = {p: (raw.list_offset(mirror, p, EARLIEST), raw.list_offset(mirror, p, LATEST))
                  for p in range(PARTITIONS)}
    return Snapshot(topics, partitions, bounds, topic_configs, broker_configs)


def _wait_guarded(path: Path, mirror: str, timeout: float = 30) -> None:
    """Until the proxy's guard knows the mirror (its control endpoint's status)."""
    from linker.app.control import control_request
    from linker.settings import load_config
    config = load_config(path)
    deadline = time.monotonic() + timeout
    while True:
        status = asyncio.run(control_request(config, {"command": "status"}, 5))
        if mirror in status.get("mirrors", []):
            return
        assert time.monotonic() < deadline, f"the proxy never guarded {mirror}: {status}"
        time.sleep(0.3)


def _attacks(bootstrap: str, mirror: str, state: str, future: str, broker: str, tmp: Path) -> dict[str, Tool]:
    records = tmp / "delete-records.json"
    records.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": mirror, "partition": p, "offset": -1} for p in range(PARTITIONS)]}))
    moves = tmp / "reassignment.json"
    moves.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": mirror, "partition": p, "replicas": [int(broker)]} for p in range(PARTITIONS)]}))
    admin_classes = compile_helper(helper_classpath(), Path(__file__).with_name("java") / "HostileAdmin.java",
                                   "HostileAdmin", "hostile-admin")
    b = ["--bootstrap-server", bootstrap]
    topics, configs = T + "TopicCommand", T + "ConfigCommand"
    producer, fast = T + "ConsoleProducer", ["--command-property", "max.block.ms=8000",
                                             "--command-property", "delivery.timeout.ms=10000",
                                             "--command-property", "request.timeout.ms=5000"]
    lines = "".join(f"{MARK}-{i}\n" for i in range(3))
    return {
        "delete-topic": Tool(topics, [*b, "--delete", "--topic", mirror]),
        "add-partitions": Tool(topics, [*b, "--alter", "--topic", mirror, "--partitions", "4"]),
        "create-mirror-name": Tool(topics, [*b, "--create", "--topic", mirror, "--partitions", "1"]),
        "create-state-name": Tool(topics, [*b, "--create", "--topic", state, "--partitions", "1"]),
        "create-future-mirror": Tool(topics, [*b, "--create", "--topic", future, "--partitions", "1"]),
        "topic-config": Tool(configs, [*b, "--alter", "--entity-type", "topics", "--entity-name", mirror,
                                       "--add-config", f"retention.ms={TOPIC_RETENTION}"]),
        "broker-default-config": Tool(configs, [*b, "--alter", "--entity-type", "brokers", "--entity-default",
                                                "--add-config", f"log.retention.ms={BROKER_RETENTION}"]),
        "broker-config": Tool(configs, [*b, "--alter", "--entity-type", "brokers", "--entity-name", broker,
                                        "--add-config", f"log.retention.ms={BROKER_RETENTION}"]),
        "remove-deny-acl": Tool(T + "AclCommand", [*b, "--remove", "--force", "--deny-principal", "User:*",
                                                   "--operation", "Write", "--topic", mirror]),
        "delete-records": Tool(T + "DeleteRecordsCommand", [*b, "--offset-json-file", str(records)]),
        "unclean-election": Tool(T + "LeaderElectionCommand", [*b, "--election-type", "unclean",
                                                               "--topic", mirror, "--partition", "0"]),
        "unclean-election-all": Tool(T + "LeaderElectionCommand", [*b, "--election-type", "unclean",
                                                                   "--all-topic-partitions"]),
        "reassign": Tool(T + "reassign.ReassignPartitionsCommand", [*b, "--execute",
                                                                    "--reassignment-json-file", str(moves)]),
        "produce-mirror": Tool(producer, [*b, "--topic", mirror, *fast], stdin=lines),
        "produce-state": Tool(producer, [*b, "--topic", state, *fast, "--command-property", "enable.idempotence=false",
                                         "--command-property", "acks=1"], stdin=lines),
        "produce-acks0": Tool(producer, [*b, "--topic", mirror, *fast, "--request-required-acks", "0"], stdin=lines),
        "produce-future": Tool(producer, [*b, "--topic", future, "--command-property", "max.block.ms=3000"],
                               stdin=f"{MARK}\n"),   # each record waits max.block.ms for the topic
        "produce-transactional": Tool(T + "ProducerPerformance", [
            *b, "--topic", mirror, "--num-records", "3", "--record-size", "16", "--throughput", "-1",
            "--transactional-id", f"{MARK}-{mirror}", "--transaction-duration-ms", "100",
            "--command-property", "delivery.timeout.ms=10000", "--command-property", "request.timeout.ms=5000"]),
        "abort-transaction": Tool(T + "TransactionsCommand", [
            *b, "abort", "--topic", mirror, "--partition", "0", "--producer-id", "1000", "--producer-epoch", "0",
            "--coordinator-epoch", "0"]),
        "force-terminate": Tool(T + "TransactionsCommand", [
            *b, "forceTerminateTransaction", "--transactionalId", f"{MARK}-{mirror}"]),
        "features": Tool(T + "FeatureCommand", [*b, "downgrade", "--feature", "transaction.version=1", "--dry-run"]),
        "admin-program": Tool("HostileAdmin", [bootstrap, mirror], classpath_extra=str(admin_classes)),
    }


@pytest.fixture(scope="module")
def attacked(source, destination, tmp_path_factory) -> Iterator[Attacked]:
    tmp = tmp_path_factory.mktemp("hostile")
    tag = uuid.uuid4().hex[:8]
    mirror, future = f"hostile-mirror-{tag}", f"hostile-future-{tag}"
    source.create_topic(mirror, PARTITIONS)
    produce(source, mirror, RECORDS)
    name = f"hostile-{tag}"
    # `future` is named in the link but does not exist on the source yet
    path = link_file(tmp, name, source, destination, [mirror, future], "destination", free_port())
    state = f"__linker-{name}-state"
    run = Proc("run", "-c", str(path))
    proxy: Proc | None = None
    try:
        wait_exact(source, destination, [mirror], timeout=60, min_records=RECORDS)
        proxy = Proc("proxy", "-c", str(path))
        line = proxy.first_line()
        assert "fronting destination" in line, line
        bootstrap = line.split()[3]
        _wait_guarded(path, mirror)
        from kafka.admin import KafkaAdminClient
        admin = KafkaAdminClient(bootstrap_servers=destination.bootstrap)
        broker = str(admin.describe_cluster()["brokers"][0]["broker_id"])
        admin.close()
        before = _snapshot(destination, mirror, state, future, broker)
        tools = _attacks(bootstrap, mirror, state, future, broker, tmp)
        started = time.monotonic()
        with ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(Tool.run, tools.values()))
        seconds = time.monotonic() - started
        time.sleep(1)   # a transaction marker, were one written, lands after the tool's EndTxn
        after = _snapshot(destination, mirror, state, future, broker)
        yield Attacked(mirror, future, state, bootstrap, before, after, tools, seconds)
    finally:
        errors = [proxy.stop() if proxy else "", run.stop()]
        assert (proxy is None or proxy.p.returncode == 0) and run.p.returncode == 0, errors


def _refused(attacked: Attacked, name: str, *texts: str, failed: bool = True) -> None:
    tool = attacked.tools[name]
    for text in texts:
        assert text in tool.output, f"{name}: {text!r} not in the output of\n{tool}"
    if failed:
        assert tool.rc not in (0, None), f"{name} did not fail:\n{tool}"


def test_topic_changes_are_refused(attacked):
    """Delete, add partitions, create a topic by a mirror's, the state topic's or a future
    mirror's name (named in the link, not on the source yet): POLICY_VIOLATION, not
    TopicExistsException -- the broker never saw the request."""
    _refused(attacked, "delete-topic", MIRROR_REFUSAL)
    _refused(attacked, "add-partitions", MIRROR_REFUSAL)
    _refused(attacked, "create-mirror-name", MIRROR_REFUSAL)
    _refused(attacked, "create-state-name", INTERNAL_REFUSAL)
    _refused(attacked, "create-future-mirror", MIRROR_REFUSAL)


def test_config_changes_are_refused(attacked):
    _refused(attacked, "topic-config", MIRROR_REFUSAL)
    _refused(attacked, "broker-default-config", BROKER_REFUSAL)
    _refused(attacked, "broker-config", BROKER_REFUSAL)


def test_acl_changes_are_refused(attacked):
    """No authorizer on the destination: the broker would answer SECURITY_DISABLED, so a
    POLICY_VIOLATION shows the proxy refused the change before the broker saw it."""
    _refused(attacked, "remove-deny-acl", MIRROR_REFUSAL)
    tool = attacked.tools["admin-program"]
    assert f"create-deny-acl: org.apache.kafka.common.errors.{MIRROR_REFUSAL}" in tool.output, tool


def test_data_changes_are_refused(attacked):
    """Delete records, unclean elections, reassignment, a log-dir move, deletes by topic id."""
    _refused(attacked, "delete-records", *(f"partition: {attacked.mirror}-{p}\terror: "
                                           f"org.apache.kafka.common.errors.{POLICY}" for p in range(PARTITIONS)),
             failed=False)   # the tool reports per partition and exits 0
    _refused(attacked, "unclean-election", MIRROR_REFUSAL)
    _refused(attacked, "unclean-election-all", POLICY)
    _refused(attacked, "reassign", *(f"{attacked.mirror}-{p}: the topic is a read-only mirror"
                                     for p in range(PARTITIONS)))
    tool = attacked.tools["admin-program"]
    errors = "org.apache.kafka.common.errors."
    for line in (f"alter-replica-log-dirs: {errors}{POLICY}",   # the response has no message field
                 f"delete-topic-by-id: {errors}{MIRROR_REFUSAL}"):
        assert line in tool.output, tool
    # an id the proxy has not seen in a Metadata answer gets UNKNOWN_TOPIC_ID; the other tools
    # running beside this one may have shown it the id already
    assert (f"delete-topic-by-unseen-id: {errors}UnknownTopicIdException" in tool.output
            or f"delete-topic-by-unseen-id: {errors}{MIRROR_REFUSAL}" in tool.output), tool


def test_writes_are_refused(attacked):
    """Console producer (idempotent by default; plain with acks=1 to the state topic; acks=0),
    a transactional producer, and a produce that would auto-create a future mirror."""
    _refused(attacked, "produce-mirror", MIRROR_REFUSAL, failed=False)   # errors are logged, exit 0
    _refused(attacked, "produce-state", INTERNAL_REFUSAL, failed=False)
    _refused(attacked, "produce-transactional", MIRROR_REFUSAL)
    # auto-creation of the name is turned off: the topic never appears for the producer
    _refused(attacked, "produce-future", f"Topic {attacked.future} not present in metadata", failed=False)
    assert attacked.tools["produce-acks0"].rc == 0   # nothing to refuse visibly: dropped (checked below)


def test_transaction_and_feature_tools_are_refused(attacked):
    """Markers can only be written with WriteTxnMarkers, which the proxy does not advertise;
    the same for UpdateFeatures (cluster-wide transaction.version). forceTerminateTransaction
    is InitProducerId, allowed: it can abort only partitions a transaction added, and the guard
    keeps mirror partitions out of every transaction (checked on the destination below)."""
    _refused(attacked, "abort-transaction", "The node does not support WRITE_TXN_MARKERS")
    _refused(attacked, "features", "The node does not support UPDATE_FEATURES")


def test_destination_is_unchanged(attacked, source, destination, testbed_report):
    before, after = attacked.before, attacked.after
    assert attacked.future not in after.topics and after.partitions[attacked.future] is None
    assert after.partitions == before.partitions
    assert after.partitions[attacked.mirror] == list(range(PARTITIONS))
    assert after.log_bounds == before.log_bounds
    assert sum(end for _, end in after.log_bounds.values()) == RECORDS
    assert after.topic_configs == before.topic_configs
    assert after.topic_configs["retention.ms"][0] != TOPIC_RETENTION
    assert after.broker_configs == before.broker_configs
    assert after.broker_configs["log.retention.ms"][0] != BROKER_RETENTION
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(bootstrap_servers=destination.bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(attacked.state, p) for p in after.partitions[attacked.state] or []]
        assert tps, "no state topic"
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        seen: list[bytes] = []
        deadline = time.monotonic() + 20
        while any(consumer.position(tp) < ends[tp] for tp in tps) and time.monotonic() < deadline:
            for msgs in consumer.poll(500).values():
                seen += [(m.key or b"") + (m.value or b"") for m in msgs]
        assert all(consumer.position(tp) >= ends[tp] for tp in tps), "could not read the whole state topic"
    finally:
        consumer.close()
    assert not [r for r in seen if MARK.encode() in r], "a hostile record reached the state topic"
    result = check_mirror(source, destination, [attacked.mirror])
    assert result.exact, result
    # and the link still mirrors
    produce(source, attacked.mirror, 10)
    wait_exact(source, destination, [attacked.mirror], timeout=60, min_records=RECORDS + 10)
    slowest = sorted(attacked.tools.items(), key=lambda kv: -kv[1].seconds)[:3]
    testbed_report(f"hostile Java tools through the proxy: {len(attacked.tools)} runs in {attacked.seconds:.1f} s "
                   f"({PARALLEL} at a time, {sum(t.seconds for t in attacked.tools.values()):.0f} s in all; slowest "
                   + ", ".join(f"{n} {t.seconds:.1f} s" for n, t in slowest) + ")")


def test_acls_on_an_authorizer_cluster(authorizer_cluster, start_proxy, topic_name, tmp_path):
    """With an authorizer, as the super user through the proxy: removing the lifecycle's DENY
    WRITE (User:*) of a mirror, adding a DENY that would stop the linker, and a wildcard ALLOW
    are refused; the mirror's ACLs, read directly, are the DENY alone."""
    from kafka.admin import ACL, ACLFilter, ACLOperation, ACLPermissionType, ResourcePattern, ResourceType
    from linker.proxy import MirrorTopics, ProxyConfig

    from conftest import upstream_of

    c = authorizer_cluster
    c.create_topic(topic_name, partitions=1)
    admin = c.admin()
    deny = ACL(principal="User:*", host="*", operation=ACLOperation.WRITE, permission_type=ACLPermissionType.DENY,
               resource_pattern=ResourcePattern(ResourceType.TOPIC, topic_name))
    admin.create_acls([deny])
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(c, listener="SASL_PLAINTEXT")),
                        MirrorTopics({topic_name: "L"}))
    login = tmp_path / "admin.properties"
    login.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n"
                     "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                     f'username="admin" password="{c.users.password("admin")}";\n')
    b = ["--bootstrap-server", proxy.bootstrap, "--command-config", str(login)]
    acls = T + "AclCommand"
    tools = {
        "remove-deny": Tool(acls, [*b, "--remove", "--force", "--deny-principal", "User:*", "--operation", "Write",
                                   "--topic", topic_name]),
        "add-deny": Tool(acls, [*b, "--add", "--deny-principal", "User:linker", "--operation", "All",
                                "--topic", topic_name]),
        "allow-everything": Tool(acls, [*b, "--add", "--allow-principal", "User:*", "--operation", "All",
                                        "--topic", "*"]),
    }
    with ThreadPoolExecutor(len(tools)) as pool:
        list(pool.map(Tool.run, tools.values()))
    for name, tool in tools.items():
        assert POLICY in tool.output and tool.rc not in (0, None), f"{name}:\n{tool}"
    assert MIRROR_REFUSAL in tools["remove-deny"].output and MIRROR_REFUSAL in tools["add-deny"].output
    found, error = admin.describe_acls(ACLFilter(principal=None, host=None, operation=ACLOperation.ANY,
                                                 permission_type=ACLPermissionType.ANY,
                                                 resource_pattern=ResourcePattern(ResourceType.TOPIC, topic_name)))
    assert [(a.principal, a.operation, a.permission_type) for a in found] == \
        [("User:*", ACLOperation.WRITE, ACLPermissionType.DENY)], (found, error)
    wildcard, error = admin.describe_acls(ACLFilter(principal="User:*", host=None, operation=ACLOperation.ANY,
                                                    permission_type=ACLPermissionType.ALLOW,
                                                    resource_pattern=ResourcePattern(ResourceType.TOPIC, "*")))
    assert wildcard == [], (wildcard, error)
