"""KafkaCluster: real Apache Kafka KRaft clusters (combined broker+controller nodes)."""
from __future__ import annotations

import base64
import itertools
import os
import signal
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from . import procs
from .config import (CONTROLLER, INTERNAL, PROTOCOLS, NodeLayout, log4j1_properties,
                     log4j2_properties, render_properties, server_properties)
from .fetch import kafka_jars
from .jvm import DEFAULT_HEAP, DEFAULT_JVM_OPTIONS, THROUGHPUT_JVM_OPTIONS, java_binary
from .ports import free_ports
from .probe import ProbeError, alter_configs, broker_view
from .runlogs import log_contains, run_dir, tail
from .security import ADMIN, SASL_MECHANISMS, TlsFiles, Users, make_tls
from .versions import PINNED, release

__all__ = ["Broker", "ClusterError", "KafkaCluster", "ListenerInfo", "started_clusters",
           # re-exported for callers that import them from here
           "DEFAULT_HEAP", "DEFAULT_JVM_OPTIONS", "THROUGHPUT_JVM_OPTIONS", "java_binary", "run_dir", "tail"]

_counter = itertools.count(1)
_started: list["KafkaCluster"] = []


def started_clusters() -> list["KafkaCluster"]:
    """Every cluster this process started (for reports: start-up times, log tails)."""
    return list(_started)


class ClusterError(RuntimeError):
    """A cluster could not be started or operated; the message carries log tails."""


def _cluster_id() -> str:
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if text[0] != "-":  # would look like an option on the StorageTool command line
            return text


@dataclass
class Broker:
    """One combined broker+controller node."""

    node_id: int
    directory: Path
    ports: dict[str, int]
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    history: list[str] = field(default_factory=list)

    host = "127.0.0.1"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def log_path(self) -> Path:
        return self.directory / "server.log"

    @property
    def stdout_path(self) -> Path:
        return self.directory / "stdout.log"

    def port(self, listener: str) -> int:
        return self.ports[listener]


@dataclass(frozen=True)
class ListenerInfo:
    """Raw facts for building any client: where to connect and how to authenticate."""

    name: str
    protocol: str
    bootstrap: str
    ca_cert: Path | None
    client_cert: Path | None
    client_key: Path | None
    users: Mapping[str, str]
    mechanisms: tuple[str, ...]


class KafkaCluster:
    """A local KRaft cluster of 1..n nodes on free loopback ports.

    `listeners` are the client-facing kinds (any of PLAINTEXT, SASL_PLAINTEXT,
    SSL, SASL_SSL), one port each per node; the first is the default for
    `bootstrap` and the client-config helpers. Brokers talk to each other and
    to the controllers on their own listeners (SASL PLAIN as `admin` when SASL
    or an authorizer is in use), so client listeners can be anything.
    """

    def __init__(
        self,
        name: str = "kafka",
        nodes: int = 1,
        version: str = PINNED,
        listeners: str | Sequence[str] = "PLAINTEXT",
        authorizer: bool = False,
        broker_config: Mapping[str, Any] | None = None,
        heap: str = DEFAULT_HEAP,
        users: Mapping[str, str] | None = None,
        jvm_options: Sequence[str] = DEFAULT_JVM_OPTIONS,
        start_timeout: float = 120.0,
        tls_tool: str | None = None,
        advertised_port: Callable[[int, str, int], int] | None = None,
        extra_listeners: Mapping[str, str] | None = None,
    ) -> None:
        if nodes < 1:
            raise ValueError(f"a cluster needs at least one node, got nodes={nodes}")
        if isinstance(listeners, str):
            listeners = (listeners,)
        listeners = tuple(l.upper() for l in listeners)
        if not listeners:
            raise ValueError("a cluster needs at least one client listener")
        for l in listeners:
            if l not in PROTOCOLS:
                raise ValueError(f"unknown listener {l!r}; choose from {', '.join(PROTOCOLS)}")
        if len(set(listeners)) != len(listeners):
            raise ValueError(f"listener kinds must be distinct: {listeners}")
        extra = {name.upper(): kind.upper() for name, kind in (extra_listeners or {}).items()}
        for name, kind in extra.items():
            if kind not in PROTOCOLS:
                raise ValueError(f"extra listener {name!r}: unknown kind {kind!r}; choose from {', '.join(PROTOCOLS)}")
            if name in (*PROTOCOLS, CONTROLLER, INTERNAL) or not name.replace("_", "").isalnum():
                raise ValueError(f"extra listener name {name!r} must be a new name of letters, digits and _ "
                                 f"(not {', '.join((*PROTOCOLS, CONTROLLER, INTERNAL))})")
        self.release = release(version)
        self.name = name
        self.nodes = nodes
        self.version = version
        self.listeners = listeners
        # more client listeners under their own names (name -> kind), never the default one: a second
        # PLAINTEXT port can then be advertised elsewhere (advertised_port) while the first is not
        self.extra_listeners = extra
        self.authorizer = authorizer
        self.broker_config = {k: str(v) for k, v in (broker_config or {}).items()}
        self.heap = heap
        self.users = Users(dict(users)) if users is not None else Users()
        self.jvm_options = tuple(jvm_options)
        self.start_timeout = start_timeout
        self.tls_tool = tls_tool  # "openssl" or "keytool"; None: openssl if present
        # (node id, listener, bound port) -> port to advertise: puts a relay in front of brokers
        self.advertised_port = advertised_port
        self.secure_internal = authorizer or any(l.startswith("SASL_") for l in (*listeners, *extra.values()))
        self.tls: TlsFiles | None = None
        self.cluster_id = _cluster_id()
        self.directory = run_dir() / f"{name}-{next(_counter)}"
        self.brokers: list[Broker] = []
        self.startup_seconds: float | None = None
        self._in_service = False   # between a successful start() and stop(): heal() may restart nodes
        self._classpath: str | None = None
        self._admin: Any = None

    # ------------------------------------------------------------------ life cycle
    def __enter__(self) -> "KafkaCluster":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"KafkaCluster({self.name!r}, nodes={self.nodes}, {self.version}, {state}, {self.bootstrap_or_none()})"

    @property
    def running(self) -> bool:
        return any(b.alive for b in self.brokers)

    def start(self, attempts: int = 3) -> "KafkaCluster":
        """Format storage, start every node and wait until all are in metadata."""
        if self.running:
            raise ClusterError(f"cluster {self.name!r} is already running")
        t0 = time.monotonic()
        self._classpath = os.pathsep.join(str(p) for p in kafka_jars(self.version))
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.tls is None and any("SSL" in l for l in (*self.listeners, *self.extra_listeners.values())):
            self.tls = make_tls(self.directory / "tls", tool=self.tls_tool)
        try:
            self._start_nodes(attempts)
        except BaseException:  # including Ctrl-C half-way: no JVM may stay behind
            self._kill_all()
            raise
        self.startup_seconds = time.monotonic() - t0
        self._in_service = True
        if self not in _started:
            _started.append(self)
        return self

    def _start_nodes(self, attempts: int) -> None:
        for attempt in range(1, attempts + 1):
            self._layout()
            self._format_all()
            for b in self.brokers:
                self._spawn(b)
            try:
                self._wait_ready(self.brokers, self.start_timeout)
                break
            except ClusterError as e:
                collided = any(log_contains(p, "Address already in use")
                               for b in self.brokers for p in (b.log_path, b.stdout_path))
                self._kill_all()
                if not collided or attempt == attempts:
                    raise
                for b in self.brokers:  # a fresh layout with new ports and clean data
                    shutil.rmtree(b.directory, ignore_errors=True)

    def stop(self, keep_data: bool = False) -> None:
        """kill -9 every node (test data is disposable) and delete data, keeping logs."""
        self._in_service = False
        self._close_admin()
        self._kill_all()
        if not keep_data:
            for b in self.brokers:
                shutil.rmtree(b.data_dir, ignore_errors=True)

    # ------------------------------------------------------------------ one broker
    def broker(self, node_id: int) -> Broker:
        for b in self.brokers:
            if b.node_id == node_id:
                return b
        raise ValueError(f"cluster {self.name!r} has no node {node_id}; nodes are "
                         f"{[b.node_id for b in self.brokers]}")

    def kill(self, node_id: int) -> None:
        """kill -9 one node; its data stays for restart()."""
        b = self.broker(node_id)
        if b.proc is not None:
            procs.stop(b.proc, timeout=0)
        b.history.append(f"killed at {time.strftime('%H:%M:%S')}")

    def stop_broker(self, node_id: int, timeout: float = 30.0) -> None:
        """Graceful shutdown (SIGTERM, controlled shutdown), kill -9 after `timeout`."""
        b = self.broker(node_id)
        if b.proc is not None:
            procs.stop(b.proc, timeout=timeout)
        b.history.append(f"stopped at {time.strftime('%H:%M:%S')}")

    def start_broker(self, node_id: int, timeout: float | None = None) -> None:
        """Start a stopped node on its old ports and data; wait until it is back in metadata."""
        b = self.broker(node_id)
        if b.alive:
            raise ClusterError(f"node {node_id} of {self.name!r} is already running (pid {b.pid})")
        self._spawn(b)
        self._wait_ready([x for x in self.brokers if x.alive], timeout or self.start_timeout)

    def heal(self, timeout: float | None = None) -> list[int]:
        """Start every node that is down, all at once (one alone cannot register while the
        controller quorum lacks another), and thaw frozen ones; returns the nodes started.
        Shared clusters call it after each test so one test's unfinished fault cannot fail
        the tests after it."""
        for b in self.brokers:
            if b.alive:
                procs.kill(b.proc, signal.SIGCONT)  # a no-op unless a test froze it
        dead = [b for b in self.brokers if not b.alive]
        if not dead or not self._in_service:
            return []
        for b in dead:
            self._spawn(b)
        self._wait_ready(self.brokers, timeout or self.start_timeout)
        self._close_admin()   # made while nodes were down: its view of them is stale
        return [b.node_id for b in dead]

    def restart(self, node_id: int, timeout: float | None = None) -> None:
        """kill -9 (if running) then start the node again with the same data."""
        if self.broker(node_id).alive:
            self.kill(node_id)
        self.start_broker(node_id, timeout)

    # ------------------------------------------------------------------ addresses and clients
    def bootstrap_for(self, listener: str | None = None, alive_only: bool = True) -> str:
        name = self._listener_name(listener)
        brokers = [b for b in self.brokers if b.alive or not alive_only] or self.brokers
        return ",".join(f"{b.host}:{b.ports[name]}" for b in brokers)

    @property
    def bootstrap(self) -> str:
        """host:port list of the default (first) client listener of every running node."""
        return self.bootstrap_for(None)

    def bootstrap_or_none(self) -> str | None:
        return self.bootstrap if self.brokers else None

    def listener(self, listener: str | None = None) -> ListenerInfo:
        name = self._listener_name(listener)
        proto = self._protocol(name)
        tls = self.tls if "SSL" in proto else None
        return ListenerInfo(
            name=name, protocol=proto, bootstrap=self.bootstrap_for(name),
            ca_cert=tls.ca_cert if tls else None, client_cert=tls.client_cert if tls else None,
            client_key=tls.client_key if tls else None,
            users=dict(self.users.passwords) if proto.startswith("SASL_") else {},
            mechanisms=(SASL_MECHANISMS if name != INTERNAL else ("PLAIN",)) if proto.startswith("SASL_") else (),
        )

    def _protocol(self, name: str) -> str:
        """Security protocol of a listener name (INTERNAL is the brokers' own listener)."""
        if name == INTERNAL:
            return "SASL_PLAINTEXT" if self.secure_internal else "PLAINTEXT"
        return self.extra_listeners.get(name, name)

    def _listener_name(self, listener: str | None) -> str:
        if listener is None:
            return self.listeners[0]
        name = listener.upper()
        if name not in self.listeners and name not in self.extra_listeners and name != INTERNAL:
            raise ValueError(f"cluster {self.name!r} has no {name} listener; it has "
                             f"{', '.join((*self.listeners, *self.extra_listeners))}")
        return name

    def _sasl_choice(self, name: str, user: str | None, mechanism: str | None) -> tuple[str, str, str] | None:
        if not self._protocol(name).startswith("SASL_"):
            if user is not None or mechanism is not None:
                raise ValueError(f"listener {name} has no SASL; do not pass user/mechanism")
            return None
        user = user or ADMIN
        mechanism = (mechanism or "PLAIN").upper()
        if mechanism not in SASL_MECHANISMS:
            raise ValueError(f"unknown SASL mechanism {mechanism!r}; choose from {', '.join(SASL_MECHANISMS)}")
        return user, self.users.password(user), mechanism

    def kafka_python_config(self, listener: str | None = None, user: str | None = None,
                            mechanism: str | None = None, mtls: bool = False) -> dict[str, Any]:
        """Keyword arguments for kafka-python clients (KafkaProducer(**cfg))."""
        name = self._listener_name(listener)
        proto = self._protocol(name)
        cfg: dict[str, Any] = {"bootstrap_servers": self.bootstrap_for(name).split(","),
                               "security_protocol": proto}
        sasl = self._sasl_choice(name, user, mechanism)
        if sasl:
            cfg.update(sasl_mechanism=sasl[2], sasl_plain_username=sasl[0], sasl_plain_password=sasl[1])
        if "SSL" in proto and self.tls:
            cfg.update(ssl_cafile=str(self.tls.ca_cert), ssl_check_hostname=True)
            if mtls:
                cfg.update(ssl_certfile=str(self._client_pem()[0]), ssl_keyfile=str(self._client_pem()[1]))
        return cfg

    def confluent_config(self, listener: str | None = None, user: str | None = None,
                         mechanism: str | None = None, mtls: bool = False) -> dict[str, Any]:
        """A librdkafka config dict for confluent-kafka clients."""
        name = self._listener_name(listener)
        proto = self._protocol(name)
        cfg: dict[str, Any] = {"bootstrap.servers": self.bootstrap_for(name),
                               "security.protocol": proto.lower()}
        sasl = self._sasl_choice(name, user, mechanism)
        if sasl:
            cfg.update({"sasl.mechanisms": sasl[2], "sasl.username": sasl[0], "sasl.password": sasl[1]})
        if "SSL" in proto and self.tls:
            cfg["ssl.ca.location"] = str(self.tls.ca_cert)
            if mtls:
                cert, key = self._client_pem()
                cfg.update({"ssl.certificate.location": str(cert), "ssl.key.location": str(key)})
        return cfg

    def _client_pem(self) -> tuple[Path, Path]:
        if self.tls is None or self.tls.client_cert is None or self.tls.client_key is None:
            raise ClusterError("no client certificate for mutual TLS: it needs openssl at cluster start")
        return self.tls.client_cert, self.tls.client_key

    # ------------------------------------------------------------------ admin
    def admin(self) -> Any:
        """A kafka-python KafkaAdminClient as the super user on the brokers' own listener."""
        if self._admin is None:
            from kafka.admin import KafkaAdminClient
            self._admin = KafkaAdminClient(client_id=f"kafkabed-{self.name}",
                                           **self.kafka_python_config(INTERNAL))
        return self._admin

    def _close_admin(self) -> None:
        if self._admin is not None:
            try:
                self._admin.close()
            finally:
                self._admin = None

    def create_topic(self, name: str, partitions: int = 1, replication_factor: int | None = None,
                     configs: Mapping[str, Any] | None = None,
                     assignments: Mapping[int, list[int]] | None = None) -> str:
        """Create a topic and wait until every partition has a leader. `assignments` (partition
        -> replica node ids, the first preferred leader) replaces `partitions` and the factor."""
        from kafka.errors import KafkaConnectionError, NodeNotReadyError, TopicAlreadyExistsError, UnknownBrokerIdError
        spec: dict[str, Any] = {"configs": {k: str(v) for k, v in (configs or {}).items()}}
        if assignments:
            partitions = len(assignments)
            spec.update(num_partitions=-1, replication_factor=-1,
                        assignments={p: list(r) for p, r in assignments.items()})
        else:
            spec.update(num_partitions=partitions,
                        replication_factor=replication_factor if replication_factor is not None else min(3, self.nodes))
        for attempt in range(4):
            try:
                self.admin().create_topics({name: spec}, wait_for_metadata=True)
                break
            except TopicAlreadyExistsError:
                if attempt == 0:
                    raise
                break   # an earlier attempt created it before its answer was lost
            except (UnknownBrokerIdError, NodeNotReadyError, KafkaConnectionError):
                # the cached admin client's view of the brokers can be stale after a kill or
                # restart: start a fresh one
                self._close_admin()
                if attempt == 3:
                    raise
                time.sleep(0.5)
        # kafka-python returns once one broker knows the topic; brokers learn partitions
        # through the metadata log at their own pace, so wait until one answers in full.
        deadline = time.monotonic() + 30.0
        while True:
            try:
                leaders = self.partition_leaders(name)
            except Exception:  # kafka-python raises its own errors while metadata settles
                leaders = {}
            if len(leaders) == partitions and all(l >= 0 for l in leaders.values()):
                return name
            if time.monotonic() > deadline:
                raise ClusterError(f"topic {name!r}: partitions with leaders after 30s: {leaders}")
            time.sleep(0.1)

    def delete_topic(self, name: str) -> None:
        self.admin().delete_topics([name])

    def set_topic_config(self, topic: str, configs: Mapping[str, Any | None]) -> None:
        """Incrementally set (or, with value None, delete) topic configs."""
        self._alter("TOPIC", topic, configs)

    def set_broker_config(self, configs: Mapping[str, Any | None], node_id: int | None = None) -> None:
        """Set dynamic broker configs on one node, or the cluster-wide default if node_id is None."""
        self._alter("BROKER", "" if node_id is None else str(node_id), configs)

    def partition_leaders(self, topic: str) -> dict[int, int]:
        """partition -> leader node id, as the brokers' metadata says now."""
        (desc,) = self.admin().describe_topics([topic])
        return {p["partition_index"]: p["leader_id"] for p in desc["partitions"]}

    def _alter(self, kind: str, name: str, configs: Mapping[str, Any | None],
               timeout: float = 15.0) -> None:
        """Alter through the controller, then wait until the brokers apply it: in KRaft a
        change reaches brokers asynchronously, through the metadata log."""
        values = {k: None if v is None else str(v) for k, v in configs.items()}
        target = next((b for b in self.brokers if b.alive), None)
        if target is None:
            raise ClusterError(f"cluster {self.name!r} has no running node to alter configs on")
        try:
            alter_configs(target.host, target.ports[INTERNAL], kind, name, values, self._probe_auth())
        except ProbeError as e:
            raise ClusterError(str(e)) from None
        deadline = time.monotonic() + timeout
        while not self._configs_applied(kind, name, values):
            if time.monotonic() > deadline:
                raise ClusterError(f"{kind} {name!r} configs {values} not applied by the brokers "
                                   f"after {timeout:.0f}s")
            time.sleep(0.1)

    def _configs_applied(self, kind: str, name: str, values: Mapping[str, str | None]) -> bool:
        from kafka.admin import ConfigResource
        own_source = {"TOPIC": "DYNAMIC_TOPIC_CONFIG", "BROKER": "DYNAMIC_BROKER_CONFIG"}[kind]
        if kind == "BROKER" and name == "":
            own_source = "DYNAMIC_DEFAULT_BROKER_CONFIG"
            resources = [ConfigResource("BROKER", str(b.node_id)) for b in self.brokers if b.alive]
        else:
            resources = [ConfigResource(kind, name)]
        from kafka.errors import KafkaConnectionError, NodeNotReadyError, UnknownBrokerIdError
        try:
            result = self.admin().describe_configs(resources, config_filter="all")
        except (KafkaConnectionError, NodeNotReadyError, UnknownBrokerIdError):
            # the admin chose a node that was just killed (its metadata still lists it until the
            # controller fences it): asked again, it backs off from that node
            return False
        for per_name in result[kind.lower()].values():
            for key, value in values.items():
                entry = per_name.get(key)
                if entry is None or entry.get("is_sensitive"):
                    continue
                source = str(entry.get("config_source"))
                if value is None and source.endswith(own_source):
                    return False
                # a per-broker override legitimately masks a cluster-wide default
                if value is not None and entry.get("value") != value and not (
                        own_source == "DYNAMIC_DEFAULT_BROKER_CONFIG" and source.endswith("DYNAMIC_BROKER_CONFIG")):
                    return False
        return True

    # ------------------------------------------------------------------ logs
    @property
    def log_paths(self) -> list[Path]:
        return [p for b in self.brokers for p in (b.log_path, b.stdout_path)]

    def tail_logs(self, lines: int = 30) -> str:
        """The last lines of every node's server and stdout log, for failure reports."""
        out = []
        for b in self.brokers:
            for path in (b.log_path, b.stdout_path):
                text = tail(path, lines)
                if text:
                    out.append(f"--- {self.name} node {b.node_id}: {path} ---\n{text}")
        return "\n".join(out)

    # ------------------------------------------------------------------ internals
    def _layout(self) -> None:
        names = [CONTROLLER, INTERNAL, *self.listeners, *self.extra_listeners]
        self.brokers = []
        for node_id in range(1, self.nodes + 1):
            ports = dict(zip(names, free_ports(len(names))))
            self.brokers.append(Broker(node_id, self.directory / f"node-{node_id}", ports))
        layouts = [NodeLayout(b.node_id, b.ports, b.data_dir) for b in self.brokers]
        for b, layout in zip(self.brokers, layouts):
            b.directory.mkdir(parents=True, exist_ok=True)
            props = server_properties(layout, layouts, self.listeners, self.secure_internal,
                                      self.authorizer, self.users, self.tls, self.broker_config,
                                      extra_listeners=self.extra_listeners)
            if self.advertised_port is not None:
                props["advertised.listeners"] = ",".join(
                    f"{name}://{b.host}:{self.advertised_port(b.node_id, name, port)}"
                    for name, port in b.ports.items() if name != CONTROLLER)
            (b.directory / "server.properties").write_text(render_properties(props))
            if self.release.logging == "log4j2":
                (b.directory / "log4j2.properties").write_text(log4j2_properties(b.log_path))
            else:
                (b.directory / "log4j.properties").write_text(log4j1_properties(b.log_path))

    def _java(self, b: Broker, main: str, args: Sequence[str], heap: str) -> list[str]:
        if self.release.logging == "log4j2":
            logging = [f"-Dlog4j2.configurationFile={b.directory / 'log4j2.properties'}"]
        else:
            logging = [f"-Dlog4j.configuration=file:{b.directory / 'log4j.properties'}"]
        return [java_binary(), f"-Xmx{heap}", *self.jvm_options, *logging,
                f"-Dkafka.logs.dir={b.directory}", "-cp", self._classpath or "", main, *args]

    def _format_all(self) -> None:
        scram: list[str] = []
        if self.secure_internal:
            for user, password in self.users.passwords.items():
                for mech in SASL_MECHANISMS[1:]:
                    scram += ["--add-scram", f"{mech}=[name={user},password={password}]"]
        running = []
        for b in self.brokers:
            args = ["format", "-t", self.cluster_id, "-c", str(b.directory / "server.properties"), *scram]
            cmd = self._java(b, self.release.storage_main, args, "128m")
            running.append((b, procs.spawn(cmd, b.directory / "format.log")))
        try:
            for b, proc in running:
                try:
                    code = proc.wait(120)
                except subprocess.TimeoutExpired:
                    code = None
                if code != 0:
                    raise ClusterError(f"formatting storage of {self.name} node {b.node_id} failed "
                                       f"(exit {code}):\n{tail(b.directory / 'format.log')}")
        finally:
            for _, proc in running:
                procs.stop(proc)

    def _spawn(self, b: Broker) -> None:
        cmd = self._java(b, self.release.server_main, [str(b.directory / "server.properties")], self.heap)
        b.proc = procs.spawn(cmd, b.stdout_path)
        b.started_at = time.monotonic()
        b.history.append(f"started pid {b.proc.pid} at {time.strftime('%H:%M:%S')}")

    def _probe_auth(self) -> tuple[str, str] | None:
        return (ADMIN, self.users.password(ADMIN)) if self.secure_internal else None

    def _wait_ready(self, brokers: Iterable[Broker], timeout: float) -> None:
        """Each given node answers ApiVersions and sees all given nodes in Metadata."""
        brokers = list(brokers)
        want = sorted(b.node_id for b in brokers)
        deadline = time.monotonic() + timeout
        pending = set(want)
        last_error = ""
        while pending:
            for b in brokers:
                if b.node_id not in pending:
                    continue
                if not b.alive:
                    code = b.proc.poll() if b.proc else None
                    raise ClusterError(f"{self.name} node {b.node_id} exited with {code} during start-up:\n"
                                       f"{tail(b.stdout_path)}\n{tail(b.log_path)}")
                try:
                    seen = [x.node_id for x in broker_view(b.host, b.ports[INTERNAL], self._probe_auth())]
                except (OSError, RuntimeError) as e:
                    last_error = f"node {b.node_id}: {e}"
                    continue
                if all(n in seen for n in want):
                    pending.discard(b.node_id)
                else:
                    last_error = f"node {b.node_id} sees brokers {seen}, waiting for {want}"
            if not pending:
                return
            if time.monotonic() > deadline:
                raise ClusterError(f"{self.name}: nodes {sorted(pending)} not ready after {timeout:.0f}s "
                                   f"({last_error}):\n{self.tail_logs()}")
            time.sleep(0.2)

    def _kill_all(self) -> None:
        for b in self.brokers:
            if b.proc is not None:
                procs.stop(b.proc, timeout=0)
