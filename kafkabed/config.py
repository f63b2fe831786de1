"""Render server.properties and logging configuration for one test-bed node."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .security import ADMIN, SASL_MECHANISMS, TlsFiles, Users

#: Client-facing listener kinds a cluster can expose (one port each per node).
PROTOCOLS = ("PLAINTEXT", "SASL_PLAINTEXT", "SSL", "SASL_SSL")
CONTROLLER = "CONTROLLER"
INTERNAL = "INTERNAL"
STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


@dataclass(frozen=True)
class NodeLayout:
    """Everything that differs between the nodes of one cluster."""

    node_id: int
    ports: Mapping[str, int]  # listener name -> port, including CONTROLLER and INTERNAL
    data_dir: Path


def test_bed_defaults(nodes: int) -> dict[str, str]:
    """Broker settings for a fast, small, local cluster (any can be overridden)."""
    rf = str(min(3, nodes))
    return {
        "num.partitions": "1",
        "default.replication.factor": rf,
        "offsets.topic.replication.factor": rf,
        "offsets.topic.num.partitions": "5",
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": str(min(2, nodes)),
        "transaction.state.log.num.partitions": "5",
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": str(min(2, nodes)),
        "group.initial.rebalance.delay.ms": "0",
        # Notice a killed broker quickly so leadership moves within seconds.
        "broker.heartbeat.interval.ms": "500",
        "broker.session.timeout.ms": "3000",
        # Two cores shared by several JVMs: few threads each.
        "num.network.threads": "2",
        "num.io.threads": "4",
        "background.threads": "2",
        "num.replica.fetchers": "1",
        "num.recovery.threads.per.data.dir": "1",
        "log.cleaner.threads": "1",
        "log.cleaner.backoff.ms": "1000",
        "log.cleaner.dedupe.buffer.size": str(8 * 1024 * 1024),
    }


def _jaas_plain(users: Users) -> str:
    creds = " ".join(f'user_{u}="{p}"' for u, p in users.passwords.items())
    return ('org.apache.kafka.common.security.plain.PlainLoginModule required '
            f'username="{ADMIN}" password="{users.password(ADMIN)}" {creds};')


def _jaas_scram(users: Users) -> str:
    return ('org.apache.kafka.common.security.scram.ScramLoginModule required '
            f'username="{ADMIN}" password="{users.password(ADMIN)}";')


def server_properties(
    node: NodeLayout,
    all_nodes: list[NodeLayout],
    client_listeners: tuple[str, ...],
    secure_internal: bool,
    authorizer: bool,
    users: Users,
    tls: TlsFiles | None,
    overrides: Mapping[str, str],
    extra_listeners: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The broker+controller configuration of `node` as an ordered dict; `extra_listeners`
    (name -> kind) are client listeners under names of their own (their ports in `node.ports`)."""
    internal_protocol = "SASL_PLAINTEXT" if secure_internal else "PLAINTEXT"
    protocol_map = {CONTROLLER: internal_protocol, INTERNAL: internal_protocol}
    protocol_map.update({name: name for name in client_listeners})
    protocol_map.update(extra_listeners or {})
    listeners = ",".join(f"{name}://127.0.0.1:{port}" for name, port in node.ports.items())
    advertised = ",".join(f"{name}://127.0.0.1:{port}" for name, port in node.ports.items()
                          if name != CONTROLLER)
    voters = ",".join(f"{n.node_id}@127.0.0.1:{n.ports[CONTROLLER]}" for n in all_nodes)
    props: dict[str, str] = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": voters,
        "controller.listener.names": CONTROLLER,
        "inter.broker.listener.name": INTERNAL,
        "listeners": listeners,
        "advertised.listeners": advertised,
        "listener.security.protocol.map": ",".join(f"{k}:{v}" for k, v in protocol_map.items()),
        "log.dirs": str(node.data_dir),
    }
    props.update(test_bed_defaults(len(all_nodes)))
    sasl_listeners = [n for n, proto in protocol_map.items() if proto.startswith("SASL_")]
    if sasl_listeners:
        props["sasl.enabled.mechanisms"] = ",".join(SASL_MECHANISMS)
        props["sasl.mechanism.inter.broker.protocol"] = "PLAIN"
        props["sasl.mechanism.controller.protocol"] = "PLAIN"
        for name in sasl_listeners:
            low = name.lower()
            props[f"listener.name.{low}.plain.sasl.jaas.config"] = _jaas_plain(users)
            if name == CONTROLLER:
                # SCRAM credentials live in the metadata log, which controllers
                # need before they can read it: controllers use PLAIN only.
                props[f"listener.name.{low}.sasl.enabled.mechanisms"] = "PLAIN"
                continue
            for mech in SASL_MECHANISMS[1:]:
                props[f"listener.name.{low}.{mech.lower()}.sasl.jaas.config"] = _jaas_scram(users)
    if tls is not None:
        if tls.keystore_password is not None:
            props["ssl.keystore.password"] = tls.keystore_password
        props.update({
            "ssl.keystore.type": tls.keystore_type,
            "ssl.keystore.location": str(tls.broker_keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(tls.ca_cert),
            "ssl.client.auth": "requested",
        })
    if authorizer:
        props.update({
            "authorizer.class.name": STANDARD_AUTHORIZER,
            "super.users": f"User:{ADMIN}",
            "allow.everyone.if.no.acl.found": "false",
        })
    props.update({k: str(v) for k, v in overrides.items()})
    return props


def render_properties(props: Mapping[str, str]) -> str:
    """Java properties text; values are written verbatim (no escaping needed for ours)."""
    lines = []
    for key, value in props.items():
        if "\n" in key or "\n" in value:
            raise ValueError(f"broker config {key!r} must be a single line")
        lines.append(f"{key}={value.replace(chr(92), chr(92) * 2)}")
    return "\n".join(lines) + "\n"


def log4j2_properties(log_file: Path) -> str:
    """Kafka 4.x: log4j2, everything into one file per node."""
    return f"""status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log_file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


def log4j1_properties(log_file: Path) -> str:
    """Kafka 3.x: log4j 1 (reload4j), everything into one file per node."""
    return f"""log4j.rootLogger=INFO, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File={log_file}
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
"""
