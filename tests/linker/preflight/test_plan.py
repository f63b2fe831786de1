"""`linker plan` against real brokers: the fidelity of a plain, a compacted (cleaned) and a
transactional topic, destination conflicts, exit codes, and that nothing is written."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kafkabed.producers import create_compacted_topic, produce
from tests.linker.mirror.test_mirror_compacted import _produce_until_cleaned


def write_link(path: Path, source, destination, topics: list[str], extra: str = "") -> Path:
    path.write_text("\n".join([
        'name = "plan-test"',
        "[source]", f"bootstrap_servers = {json.dumps(source.bootstrap.split(','))}",
        "[destination]", f"bootstrap_servers = {json.dumps(destination.bootstrap.split(','))}",
        "[topics]", f"names = {json.dumps(topics)}", extra]) + "\n")
    return path


def plan(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "linker.app.cli", "plan", "--config", str(cfg), *args],
                          capture_output=True, text=True, timeout=120)


def test_plan_names_fidelity_of_plain_compacted_and_transactional_topics(source, destination, topic_names, tmp_path):
    plain, compacted, txn = topic_names("plain"), topic_names("compacted"), topic_names("txn")
    source.create_topic(plain, partitions=2)
    produce(source, plain, 400, compression="lz4")
    create_compacted_topic(source, compacted)
    _produce_until_cleaned(source, compacted)
    source.create_topic(txn, partitions=1)
    produce(source, txn, 5, transaction="commit")
    before = set(destination.admin().list_topics())

    cfg = write_link(tmp_path / "link.toml", source, destination, [plain, compacted, txn])
    r = plan(cfg)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr        # the transactional topic is replayed (issue 16)
    assert f"topic {plain}: 2 partitions, 400 records" in r.stdout
    doc = json.loads(plan(cfg, "--json").stdout)
    by = {t["topic"]: t for t in doc["topics"]}
    assert by[plain]["fidelity"] == "exact" and by[plain]["sample"]["codecs"] == {"lz4": by[plain]["sample"]["batches"]}
    assert by[plain]["records"] == 400 and by[plain]["bytes"] > 0
    assert by[compacted]["fidelity"] == "record-exact (compacted)" and by[compacted]["cleaner_rewrote_history"]
    assert by[txn]["fidelity"] == "offset-exact (transactional, headers re-stamped)", by[txn]
    assert by[txn]["sample"]["transactional"] >= 1 and by[txn]["sample"]["control"] == 1
    assert doc["exit_code"] == 0 and doc["eta_seconds"] is not None and doc["throughput_bytes_per_second"] > 0
    assert doc["access"]["missing"] == []
    assert any("features" in line for line in doc["brokers"]["source"])
    # Read-only: no mirror topic, no state topic was created.
    assert set(destination.admin().list_topics()) == before

    ready = write_link(tmp_path / "ready.toml", source, destination, [plain, compacted])
    r = plan(ready)
    assert r.returncode == 0, r.stdout
    assert "result: ready" in r.stdout


def test_plan_reports_destination_conflicts(source, destination, topic_names, tmp_path):
    other, wider, same = topic_names("other"), topic_names("wider"), topic_names("same")
    for t in (other, wider, same):
        source.create_topic(t, partitions=1)
        produce(source, t, 20)
    destination.create_topic(other, partitions=1)
    produce(destination, other, 20)                        # other records at the same offsets
    destination.create_topic(wider, partitions=3)
    destination.create_topic(same, partitions=1, configs={"max.message.bytes": 2000, "retention.ms": 1000000})
    cfg = write_link(tmp_path / "link.toml", source, destination, [other, wider, same])
    r = plan(cfg, "--json")
    doc = json.loads(r.stdout)
    by = {t["topic"]: t for t in doc["topics"]}
    assert r.returncode == 3
    assert any("holds other data" in c for c in by[other]["destination"]["conflicts"])
    assert by[wider]["destination"]["conflicts"] == ["destination topic has 3 partitions, source has 1"]
    assert by[same]["destination"]["conflicts"] == []
    assert any("retention.ms" in d for d in by[same]["destination"]["differs"])


def _allow(cluster, topic: str, *ops) -> None:
    from kafka.admin import ACL, ACLPermissionType, ResourcePattern, ResourceType
    cluster.admin().create_acls([ACL(principal="User:alice", host="*", operation=op,
                                     permission_type=ACLPermissionType.ALLOW,
                                     resource_pattern=ResourcePattern(ResourceType.TOPIC, topic)) for op in ops])


def _commit(cluster, group: str, tp: tuple[str, int], offset: int) -> None:
    from linker.client import Admin, Client, run

    async def go() -> None:
        async with Client(cluster.bootstrap) as client:
            await Admin(client).offset_commit(group, {tp: offset})
    run(go())


def _sasl(cluster, user: str) -> str:
    info = cluster.listener("SASL_PLAINTEXT")
    return "\n".join([f"bootstrap_servers = {json.dumps(info.bootstrap.split(','))}",
                      'security_protocol = "SASL_PLAINTEXT"', "[{side}.sasl]", 'mechanism = "SCRAM-SHA-256"',
                      f'username = "{user}"', f'password = "{info.users[user]}"'])


def test_plan_names_the_rights_a_restricted_principal_lacks(authorizer_cluster, source, destination, topic_names,
                                                            tmp_path):
    from kafka.admin import ACLOperation
    az = authorizer_cluster
    readable, mirror = topic_names("readable"), topic_names("mirror")
    az.create_topic(readable, partitions=1)
    produce(az, readable, 10, listener="SASL_PLAINTEXT", user="admin")
    _allow(az, readable, ACLOperation.DESCRIBE)                 # no READ, no DESCRIBE_CONFIGS
    cfg = tmp_path / "src.toml"
    cfg.write_text("\n".join([
        'name = "plan-src"', "[source]", _sasl(az, "alice").format(side="source"),
        "[destination]", f"bootstrap_servers = {json.dumps(destination.bootstrap.split(','))}",
        "[topics]", f"names = {json.dumps([readable])}"]) + "\n")
    r = plan(cfg)
    print(r.stdout)
    assert r.returncode == 3, r.stdout + r.stderr
    assert f"missing permission: source: topic {readable}: READ, DESCRIBE_CONFIGS" in r.stdout
    assert "partition 0 not sampled" in r.stdout and "TOPIC_AUTHORIZATION_FAILED" in r.stdout
    assert "fidelity: unknown (not sampled)" in r.stdout

    # The destination side: the mirror exists, alice may only describe and read it; a consumer
    # group of the source (offset sync) that alice may not use on the destination.
    source.create_topic(mirror, partitions=1)
    produce(source, mirror, 5)
    group = f"{mirror}-group"
    _commit(source, group, (mirror, 0), 3)
    az.create_topic(mirror, partitions=1)
    _allow(az, mirror, ACLOperation.DESCRIBE, ACLOperation.READ)
    cfg = tmp_path / "dst.toml"
    cfg.write_text("\n".join([
        'name = "plan-dst"', "[source]", f"bootstrap_servers = {json.dumps(source.bootstrap.split(','))}",
        "[destination]", _sasl(az, "alice").format(side="destination"),
        "[topics]", f"names = {json.dumps([mirror])}", "[lifecycle]", "manage_acls = true"]) + "\n")
    r = plan(cfg, "--json")
    doc = json.loads(r.stdout)
    assert r.returncode == 3
    missing = doc["access"]["missing"]
    assert f"destination: topic {mirror}: WRITE, DESCRIBE_CONFIGS, ALTER_CONFIGS" in missing
    assert any(m.startswith("destination: cluster DESCRIBE, ALTER") for m in missing)
    assert f"destination: group {group}: DESCRIBE, READ (offset sync commits its offsets)" in missing
    # The state topic does not exist and alice may not read ACLs: said, not guessed.
    assert any("__linker-plan-dst-state" in n for n in doc["access"]["not_checked"])


def test_plan_names_an_unreachable_cluster_and_exits_4(source, topic_name, tmp_path):
    import socket
    source.create_topic(topic_name, partitions=1)
    with socket.socket() as s:   # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    cfg = tmp_path / "link.toml"
    cfg.write_text("\n".join([
        'name = "plan-down"', "[source]", f"bootstrap_servers = {json.dumps(source.bootstrap.split(','))}",
        "[destination]", f'bootstrap_servers = ["{dead}"]', "[topics]", f"names = {json.dumps([topic_name])}"]) + "\n")
    r = plan(cfg, "--timeout", "3")
    assert r.returncode == 4, r.stdout + r.stderr
    assert "DESTINATION UNREACHABLE" in r.stdout and "result: UNKNOWN" in r.stdout


def test_plan_refuses_a_bad_sample_size(source, destination, topic_name, tmp_path):
    cfg = write_link(tmp_path / "link.toml", source, destination, [topic_name])
    r = plan(cfg, "--sample-bytes", "12")
    assert r.returncode == 2 and "between 1024 and 67108864 bytes" in r.stderr
