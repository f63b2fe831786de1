"""The proxy's listeners, its view of the fronted cluster, and the upstream switch.

One bootstrap listener, plus one listener per upstream broker, opened the
first time a response names that broker and closed once the broker has been
absent from metadata for `forget_broker_after` seconds. Every address a client
learns is one of these listeners, so clients keep a single bootstrap address
across broker changes and across a switch of the fronted cluster.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from linker.client import Admin, Client, ClientConfig
from linker.client.metadata import ClusterSnapshot
from linker.client.tls import cached_ssl_context

from .config import ProxyConfig, UpstreamConfig
from kproto import ApiKey
from kproto.errors import ErrorCode

from .filters_chain import Chain
from .guard import HOLD_REFUSAL, INTERNAL_REFUSAL, MIRROR_REFUSAL, MirrorRegistry, Refusal
from .rewrite import FETCH_ENDPOINTS_FROM
from .routing import VIRTUAL_NODE_OFFSET, Split
from .session import ClientSession, _UpstreamSide

log = logging.getLogger("linker.proxy")

SWEEP_INTERVAL = 1.0
#: Names clients used (topics, groups) are forgotten after this long unused, and at most
#: this many are kept (the oldest go first): the proxy's memory does not grow with what
#: clients send (issue 17.3). The promote's stranded-topic window is 10 min.
NAME_RETENTION_S = 3600.0
MAX_NAMES = 10_000
#: partitions whose own leader epoch is remembered (a fallback of the epoch shift)
MAX_LEADER_EPOCHS = 100_000
#: Members remembered per group (a classic member gets a new id at every rejoin).
MAX_MEMBERS_PER_GROUP = 1_000
#: Refused connections are logged at most once per this many seconds (with a count).
REFUSAL_LOG_INTERVAL = 1.0
#: While split (routing.py), each cluster's metadata is read this often for merged answers.
VIEW_REFRESH_S = 1.0
#: Refusal text of a write to a topic now served by the other cluster (retriable: the client
#: refreshes metadata and finds the topic's leader there).
#: Coordinators found for clients of a split proxy are looked up again after this many views.
COORDINATOR_REFRESH_ROUNDS = 30
#: Idempotent producer ids kept ready for clients that ask the other cluster's broker.
PID_POOL = 8
MOVED_REFUSAL = "the topic is served by another broker now; refresh metadata"


def _remember(seen: dict[Any, float], names: Iterable[Any], now: float) -> None:
    """Mark `names` used now, keeping at most MAX_NAMES (the least recently used go)."""
    for name in names:
        seen.pop(name, None)      # re-insert: the dict stays ordered by last use
        seen[name] = now
    while len(seen) > MAX_NAMES:
        del seen[next(iter(seen))]


def _prune(seen: dict[str, Any], before: float) -> None:
    """Drop names last used before `before` (the dict is ordered by last use)."""
    while seen:
        name = next(iter(seen))
        if seen[name] >= before:
            return
        del seen[name]


class _Listener:
    """A bound socket and the asyncio server accepting on it."""

    def __init__(self, sock: socket.socket, task: asyncio.Task[asyncio.Server]) -> None:
        self.sock = sock
        self.port: int = sock.getsockname()[1]
        self.task = task
        self.absent_since: float | None = None

    async def close(self) -> None:
        try:
            server = await self.task
        except (asyncio.CancelledError, OSError):
            self.sock.close()
            return
        server.close()
        await server.wait_closed()


class ProxyServer:
    """A Kafka wire-protocol proxy in front of one cluster at a time."""

    def __init__(self, config: ProxyConfig, mirrors: MirrorRegistry | None = None,
                 mirrors_on: str | None = None) -> None:
        """`mirrors` describes topics of the upstream named `mirrors_on` (default: the one
        fronted at start, normally the destination); it is consulted only while that
        cluster is fronted."""
        self.config = config
        self.upstream: UpstreamConfig = config.upstream
        self.mirrors = mirrors
        self.mirrors_on = mirrors_on or config.upstream.name
        self.sessions: set[ClientSession] = set()
        #: sessions whose client left while produce requests were in flight (session.LINGER_S)
        self.lingering: set[ClientSession] = set()
        self.chain = Chain()                     # the request filters, by api key
        self.groups_seen: dict[str, float] = {}    # group -> when last used (ordered by that)
        self.topics_in_use: dict[str, float] = {}   # topic -> when a client last asked its metadata
        #: cluster name -> producer ids it handed to clients (most recent last, at most MAX_NAMES)
        self.producer_ids: dict[str, dict[int, float]] = {}
        #: the fronted cluster answered a client that never began SASL: its listener has no
        #: SASL, so such clients are not "before authentication" (see ClientSession)
        self.answers_without_sasl = False
        self._per_address: dict[str, int] = {}      # client address -> connections open
        self._refused_since_log = 0
        self._refusal_logged = 0.0
        self._members: dict[str, dict[str, int]] = {}      # group -> member id -> generation
        self._moved_members: dict[str, dict[str, int]] = {}  # the same, as of the last switch
        self._consumer_members: dict[str, set[str]] = {}     # KIP-848: group -> member ids
        self._moved_consumer_members: dict[str, set[str]] = {}   # the same, as of the last switch
        self.holds: dict[str, str] = {}          # topic -> why writes are held
        #: per-topic routing after a per-topic cutover (routing.py); None: one cluster fronted
        self.split: Split | None = None
        self._views: dict[str, ClusterSnapshot] = {}     # cluster name -> its metadata, while split
        self._viewer: asyncio.Task[None] | None = None
        #: (cluster name, key type, key) -> the coordinator's node id as clients see it, while split
        self._coordinators: dict[tuple[str, int, str], int] = {}
        self._looking_up: set[tuple[str, int, str]] = set()
        #: idempotent producer ids allocated by the default cluster for clients of the other one
        self._pid_pool: list[tuple[int, int]] = []
        self._pid_refill: asyncio.Task[None] | None = None
        #: producer id -> (transactional id, topics its open transaction added), from answered
        #: AddPartitionsToTxn requests; dropped at its answered EndTxn (at most MAX_NAMES)
        self.open_txns: dict[int, tuple[str, set[str]]] = {}
        #: producer ids whose transaction was open on held topics when a cutover held them: they may
        #: finish it (the cutover waits for their markers); see TxnHoldFilter
        self.txn_draining: set[int] = set()
        #: producer ids refused a held partition during the hold: their other transactional
        #: requests are held too, until the hold ends
        self.txn_held: set[int] = set()
        self.produce_epoch = 0                   # bumped by every hold; see wait_produce_drained
        self._addresses: dict[int, tuple[str, int]] = {}   # node id -> upstream (host, port)
        self._topic_names: dict[Any, str] = {}
        #: (topic, partition) -> the fronted cluster's own leader epoch, from Metadata answers
        #: (only while its epochs are shifted: epochs.py)
        self._leader_epochs: dict[tuple[str, int], int] = {}
        self._listeners: dict[int, _Listener] = {}
        self._bootstrap: _Listener | None = None
        self._ssl_server: ssl.SSLContext | None = None
        self._admins: dict[str, tuple[UpstreamConfig, Client]] = {}   # cluster name -> the proxy's own client
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = False
        #: api key -> highest version advertised to clients, beyond kproto's own limits
        self.version_caps: dict[int, int] = {} if config.fetch_node_endpoints else {
            int(ApiKey.FETCH): FETCH_ENDPOINTS_FROM - 1}

    # -- life cycle ------------------------------------------------------------------------
    async def start(self) -> "ProxyServer":
        tls = self.config.listen_tls
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            try:
                context.load_cert_chain(tls.cert_file, tls.key_file, password=tls.key_password)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"cannot load the proxy's TLS certificate {tls.cert_file!r}: {exc}") from None
            self._ssl_server = context
        self._bootstrap = self._listen(self.config.bootstrap_port, None)
        await self._bootstrap.task
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())
        log.info("proxy for %s listening on %s:%d", self.upstream.name, self.config.bind_host,
                 self._bootstrap.port)
        return self

    async def close(self) -> None:
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._viewer is not None:
            self._viewer.cancel()
        for session in list(self.sessions):
            session.close()
        for session in list(self.lingering):
            session._broken("the proxy is closing")
        listeners = [l for l in (self._bootstrap, *self._listeners.values()) if l is not None]
        self._listeners.clear()
        for listener in listeners:
            await listener.close()
        await self._close_admin()

    async def __aenter__(self) -> "ProxyServer":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def bootstrap(self) -> str:
        """host:port clients use as their only bootstrap address."""
        if self._bootstrap is None:
            raise RuntimeError("the proxy is not started")
        return f"{self.config.host_for_clients}:{self._bootstrap.port}"

    def broker_ports(self) -> dict[int, int]:
        """node id -> the local port that serves it."""
        return {node: l.port for node, l in self._listeners.items()}

    # -- listeners ------------------------------------------------------------------------
    def _listen(self, port: int, node_id: int | None) -> _Listener:
        """Bind now (so the port is known at once); accept from a task."""
        sock = socket.create_server((self.config.bind_host, port), backlog=512, reuse_port=False)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        task = loop.create_task(loop.create_server(lambda: ClientSession(self, node_id), sock=sock,
                                                   ssl=self._ssl_server))
        return _Listener(sock, task)

    def address_of(self, node_id: int, host: str, port: int) -> tuple[str, int]:
        """Record where broker `node_id` really is; return the address clients should use."""
        self._addresses[node_id] = (host, port)
        listener = self._listeners.get(node_id)
        if listener is None:
            ports = self.config.ports
            port = ports.port_for(node_id) if node_id < VIRTUAL_NODE_OFFSET else ports.fixed.get(node_id, 0)
            listener = self._listen(port, node_id)
            self._listeners[node_id] = listener
            log.info("broker %d (%s:%d) is served on port %d", node_id, host, port, listener.port)
        listener.absent_since = None
        return self.config.host_for_clients, listener.port

    def note_metadata(self, body: Any) -> None:
        """Learn topic ids and which brokers left (a Metadata response lists them all)."""
        for t in body.topics:
            if t.name and getattr(t, "topic_id", None) is not None:
                self._topic_names[t.topic_id] = t.name
        present = {b.node_id for b in body.brokers}
        if not present:
            return
        now = time.monotonic()
        for node, listener in self._listeners.items():
            if node not in present and listener.absent_since is None:
                listener.absent_since = now

    def note_leader_epochs(self, epochs: Mapping[tuple[str, int], int]) -> None:
        if len(self._leader_epochs) + len(epochs) > MAX_LEADER_EPOCHS:
            self._leader_epochs.clear()   # only a fallback (epochs.lower_request): start over
        self._leader_epochs.update(epochs)

    def leader_epoch_of(self, topic: str, partition: int) -> int | None:
        return self._leader_epochs.get((topic, partition))

    async def _sweep(self) -> None:
        """Close slow or idle clients and listeners of brokers long gone."""
        cfg = self.config
        while not self._closed:
            await asyncio.sleep(SWEEP_INTERVAL)
            now = time.monotonic()
            for s in list(self.sessions):
                if s.partial_since is not None and now - s.partial_since > cfg.partial_frame_timeout:
                    s.close(f"a request frame stayed incomplete for more than {cfg.partial_frame_timeout:g}s")
                elif not s.pending and now - s.last_activity > cfg.idle_timeout:
                    s.close(f"idle for more than {cfg.idle_timeout:g}s")
            _prune(self.topics_in_use, now - NAME_RETENTION_S)
            _prune(self.groups_seen, now - NAME_RETENTION_S)
            for members in (self._members, self._moved_members, self._consumer_members,
                            self._moved_consumer_members):
                for group in [g for g in members if g not in self.groups_seen]:
                    del members[group]
            for node, listener in list(self._listeners.items()):
                if listener.absent_since is not None and now - listener.absent_since > cfg.forget_broker_after:
                    log.info("broker %d left the cluster: closing its listener on port %d", node, listener.port)
                    del self._listeners[node]
                    self._addresses.pop(node, None)
                    await listener.close()

    # -- connection limits -----------------------------------------------------------------
    def admit(self, session: ClientSession, address: str) -> bool:
        """Count a new client connection; False (and a log line) when a limit is reached."""
        cfg = self.config
        open_here = self._per_address.get(address, 0)
        if len(self.sessions) >= cfg.max_connections:
            why = f"{len(self.sessions)} client connections open (proxy max_connections)"
        elif open_here >= cfg.max_connections_per_address:
            why = f"{open_here} connections open from {address} (proxy max_connections_per_address)"
        else:
            self._per_address[address] = open_here + 1
            session.address = address
            self.sessions.add(session)
            return True
        self._refused_since_log += 1
        now = time.monotonic()
        if now - self._refusal_logged >= REFUSAL_LOG_INTERVAL:
            log.warning("refused a connection from %s: %s (%d refused since the last such line)",
                        session.peer, why, self._refused_since_log)
            self._refused_since_log, self._refusal_logged = 0, now
        return False

    def release(self, session: ClientSession) -> None:
        self.sessions.discard(session)
        left = self._per_address.get(session.address, 0) - 1
        if left > 0:
            self._per_address[session.address] = left
        else:
            self._per_address.pop(session.address, None)

    # -- upstream connections ------------------------------------------------------------
    def cluster_of_node(self, node_id: int | None) -> UpstreamConfig:
        """The cluster a listener leads to: a virtual node id (routing.py) is the other cluster's."""
        split = self.split
        if split is not None and node_id is not None and node_id >= VIRTUAL_NODE_OFFSET:
            return split.other
        return self.upstream

    async def open_upstream(self, session: ClientSession, node_id: int | None) -> _UpstreamSide:
        upstream = self.cluster_of_node(node_id)
        session.cluster = upstream
        if node_id is None:
            candidates = upstream.addresses
        else:
            address = self._addresses.get(node_id) or await self._resolve(node_id)
            candidates = [address]
        loop = asyncio.get_running_loop()
        context = cached_ssl_context(upstream.tls) if upstream.tls is not None else None
        last: Exception | None = None
        for host, port in candidates:
            try:
                _, protocol = await asyncio.wait_for(loop.create_connection(
                    lambda: _UpstreamSide(session, self.config.max_response_size), host, port,
                    ssl=context, server_hostname=host if context is not None else None),
                    self.config.connect_timeout)
                return protocol
            except (OSError, asyncio.TimeoutError, ssl.SSLError) as exc:
                last = exc
        raise ConnectionError(f"{upstream.name}: no broker reachable at "
                              f"{', '.join(f'{h}:{p}' for h, p in candidates)} ({last})")

    async def _resolve(self, node_id: int) -> tuple[str, int]:
        """The upstream address of a broker no response has named yet (proxy restart, switch)."""
        cluster = self.cluster_of_node(node_id)
        shift = VIRTUAL_NODE_OFFSET if cluster is not self.upstream else 0
        admin = await self.admin(cluster)
        snapshot = await admin.refresh_metadata()
        for b in snapshot.brokers.values():
            self._addresses[b.node_id + shift] = (b.host, b.port)
        if node_id not in self._addresses:
            raise ConnectionError(f"{cluster.name} has no broker {node_id - shift} "
                                  f"(brokers: {sorted(snapshot.brokers)})")
        return self._addresses[node_id]

    async def admin(self, upstream: UpstreamConfig | None = None) -> Client:
        """The proxy's own client for `upstream` (default: the fronted cluster)."""
        upstream = upstream or self.upstream
        known = self._admins.get(upstream.name)
        if known is not None and known[0] == upstream:
            return known[1]
        if known is not None:
            await known[1].close()
        client = Client(upstream.bootstrap, ClientConfig(client_id="linker-proxy",
                                                         security=upstream.admin_config()))
        await client.start()
        self._admins[upstream.name] = (upstream, client)
        return client

    async def _close_admin(self) -> None:
        admins, self._admins = self._admins, {}
        for _, client in admins.values():
            await client.close()

    # -- guarding --------------------------------------------------------------------------
    def _mirrors_here(self, cluster: UpstreamConfig | None = None) -> bool:
        return self.mirrors is not None and (cluster or self.upstream).name == self.mirrors_on

    def renames(self) -> bool:
        """Some connection may lead to a cluster whose topic names carry a prefix."""
        split = self.split
        return bool(self.upstream.topic_prefix) or (split is not None and bool(split.other.topic_prefix))

    def guard_active(self) -> bool:
        return (bool(self.holds) or self.split is not None
                or (self._mirrors_here() and self.mirrors.has_mirrors()))  # type: ignore[union-attr]

    def refusal_of(self, topic: str, cluster: UpstreamConfig | None = None) -> Refusal | None:
        """Why a write to `topic` on `cluster` (default: the fronted one) is refused, if it is."""
        # the texts name nothing the client did not send (issue 17.4); `holds` keeps the why for us
        if topic in self.holds:
            return Refusal(ErrorCode.NOT_LEADER_OR_FOLLOWER, HOLD_REFUSAL, hold=True)   # retriable: clients retry
        return self.mirror_refusal_of(topic, cluster)

    def refusals_on(self, cluster: UpstreamConfig) -> "Callable[[str], Refusal | None]":
        return lambda topic: self.refusal_of(topic, cluster)

    def mirror_refusal_of(self, topic: str, cluster: UpstreamConfig | None = None) -> Refusal | None:
        """The refusals of mirrors and link topics alone (no cutover hold); while split, a topic
        the other cluster serves (retriable: the client finds its leader there)."""
        cluster = cluster or self.upstream
        split = self.split
        if split is not None and split.serves(topic).name != cluster.name:
            return Refusal(ErrorCode.NOT_LEADER_OR_FOLLOWER, MOVED_REFUSAL, hold=True)
        if self.mirrors is not None and cluster.name == self.mirrors_on:
            if self.mirrors.mirror_link(topic) is not None:
                return Refusal(ErrorCode.POLICY_VIOLATION, MIRROR_REFUSAL)             # refused for good
            if self.mirrors.internal_link(topic) is not None:
                return Refusal(ErrorCode.POLICY_VIOLATION, INTERNAL_REFUSAL)
        return None

    def protected_names(self, cluster: UpstreamConfig | None = None) -> list[str]:
        """Mirror and internal topics of the fronted cluster (for wildcard ACLs, broker configs)."""
        if not self._mirrors_here(cluster):
            return []
        names = getattr(self.mirrors, "topics", None)
        internal = getattr(self.mirrors, "internal_topics", None)
        found = (list(names()) if names else []) + (list(internal()) if internal else [])
        return found or (["?"] if self.mirrors.has_mirrors() else [])  # type: ignore[union-attr]

    def topic_name_of(self, topic_id: Any) -> str | None:
        return self._topic_names.get(topic_id)

    def note_topics(self, topics: Iterable[str]) -> None:
        _remember(self.topics_in_use, topics, time.monotonic())

    def topics_used_within(self, seconds: float) -> list[str]:
        """Topics clients named in a Metadata request in the last `seconds`: the ones they use
        (producers and consumers ask for their own topics; an all-topics request names none)."""
        since = time.monotonic() - seconds
        return sorted(t for t, at in self.topics_in_use.items() if at >= since)

    def note_producer_id(self, cluster: str, producer_id: int) -> None:
        _remember(self.producer_ids.setdefault(cluster, {}), (producer_id,), time.monotonic())

    def producer_ids_from(self, cluster: str) -> list[int]:
        """Ids `cluster` handed to clients of this proxy: once they are moved, they write elsewhere
        with them (kept, not pruned by age: an idempotent producer asks once and may live for days)."""
        return sorted(self.producer_ids.get(cluster, ()))

    def note_groups(self, groups: Iterable[str]) -> None:
        _remember(self.groups_seen, groups, time.monotonic())

    def note_member(self, group: str, member_id: str, generation: int) -> None:
        """A classic-protocol member (KIP-848 members, known from their heartbeats, are kept
        apart: their epochs restart at a rejoin, so an epoch cannot tell old from new)."""
        if member_id and generation >= 0 and member_id not in self._consumer_members.get(group, ()):
            self.note_groups((group,))
            members = self._members.setdefault(group, {})
            members.pop(member_id, None)
            members[member_id] = generation
            if len(members) > MAX_MEMBERS_PER_GROUP:
                del members[next(iter(members))]

    def note_consumer_member(self, group: str, member_id: str) -> None:
        if member_id:
            self.note_groups((group,))
            members = self._consumer_members.setdefault(group, set())
            if len(members) < MAX_MEMBERS_PER_GROUP:
                members.add(member_id)

    def is_moved_consumer_member(self, group: str, member_id: str) -> bool:
        """A KIP-848 member (its id is its own for life, epochs change) from before the last
        switch that has not rejoined since."""
        return member_id in self._moved_consumer_members.get(group, ())

    def forget_moved_consumer_member(self, group: str, member_id: str) -> None:
        self._moved_consumer_members.get(group, set()).discard(member_id)

    def is_moved_member(self, group: str, member_id: str, generation: int) -> bool:
        """True for a member (and generation) of a group on the cluster fronted before the
        last switch: the current cluster has never heard of it."""
        return generation >= 0 and self._moved_members.get(group, {}).get(member_id) == generation

    # -- cutover primitives (see cutover.py for the sequence) -----------------------------
    def hold_writes(self, topics: Iterable[str], why: str) -> int:
        """Refuse produces to `topics` with a retriable error from now on; returns the epoch
        that wait_produce_drained() waits past."""
        for t in topics:
            self.holds[t] = why
        self.produce_epoch += 1
        return self.produce_epoch

    def release_writes(self, topics: Iterable[str]) -> None:
        for t in topics:
            self.holds.pop(t, None)
        if not self.holds:
            self.txn_draining.clear()
            self.txn_held.clear()

    def note_txn_partitions(self, producer_id: int, transactional_id: str, topics: Iterable[str]) -> None:
        """A transaction added partitions of `topics` (the coordinator said so)."""
        _, known = self.open_txns.pop(producer_id, ("", set()))
        if len(known) < MAX_MEMBERS_PER_GROUP:
            known.update(topics)
        self.open_txns[producer_id] = (transactional_id, known)
        while len(self.open_txns) > MAX_NAMES:
            del self.open_txns[next(iter(self.open_txns))]

    def note_txn_ended(self, producer_id: int) -> None:
        """The coordinator accepted the transaction's EndTxn: its markers follow."""
        self.open_txns.pop(producer_id, None)
        self.txn_draining.discard(producer_id)

    def txns_touching(self, topics: Iterable[str]) -> dict[int, str]:
        """Producer id -> transactional id of the open transactions that added one of `topics`."""
        wanted = set(topics)
        return {pid: txn for pid, (txn, added) in self.open_txns.items() if added & wanted}

    async def wait_produce_drained(self, epoch: int, timeout: float = 30.0, trickle_grace: float = 0.5) -> None:
        """Wait until the broker can no longer append a produce forwarded before `epoch`: each
        was answered; acks=0 ones are followed by a probe that was answered; those of clients
        that left are answered on their lingering connection (session.LINGER_S). A produce
        still arriving from its client after `trickle_grace` has its client closed (the broker
        never gets all of it; the client retries and meets the hold), so one slow client does
        not fail the cutover."""
        start = time.monotonic()
        deadline = start + timeout
        while True:
            waiting: list[str] = []
            late = time.monotonic() - start > trickle_grace
            for s in (*self.sessions, *self.lingering):
                if late and s.streaming_produce_before(epoch):
                    s.close("a produce request was still arriving when writes were held; retry")
                s.probe(epoch)
                if any(e < epoch for e in s.produce_epochs_in_flight):
                    waiting.append(s.peer)
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"produce requests forwarded before the hold still unanswered "
                                   f"after {timeout:g}s (clients {', '.join(sorted(waiting)[:10])})")
            await asyncio.sleep(0.01)

    async def switch_upstream(self, upstream: UpstreamConfig) -> None:
        """Front another cluster: forget the old brokers' addresses and close every client
        connection, so each client reconnects (same addresses) to the new cluster.

        The new cluster's brokers are read first; then, with no await in between, the
        switch is made and every connection to the old cluster closed. A connection still
        open after its members were marked as moved would have their requests judged as
        the new cluster's while they still reach the old one (an offset commit sent there
        as a standalone commit gets UNKNOWN_MEMBER_ID, a heartbeat is fenced there)."""
        addresses: dict[int, tuple[str, int]] = {}
        try:
            snapshot = await (await self.admin(upstream)).refresh_metadata()
            addresses = {b.node_id: (b.host, b.port) for b in snapshot.brokers.values()}
        except Exception as exc:  # addresses are also learnt lazily on first use
            log.warning("could not read %s metadata while switching: %s", upstream.name, exc)
        old = self.upstream
        self.upstream = upstream
        self._unsplit()
        self._moved_members, self._members = self._members, {}
        self._moved_consumer_members, self._consumer_members = self._consumer_members, {}
        self._addresses.clear()
        self._addresses.update(addresses)
        self._topic_names.clear()
        self._leader_epochs.clear()
        self.open_txns.clear()     # transactions of the old cluster's coordinators
        self.answers_without_sasl = False
        sessions = list(self.sessions)
        for s in sessions:
            s.close()
        log.info("proxy switched from %s to %s; %d client connection(s) closed to reconnect",
                 old.name, upstream.name, len(sessions))

    # -- per-topic routing (routing.py) ----------------------------------------------------
    async def route_topics(self, other: UpstreamConfig, topics: Iterable[str], groups: Iterable[str]) -> None:
        """Serve `topics` from `other` (the destination) from now on while every other topic stays
        on the fronted cluster; `groups` are coordinated by `other` from now on. Like a switch,
        every client connection is closed so clients reconnect and read the merged metadata."""
        split = self.split
        if split is not None and split.other.name != other.name:
            raise ValueError(f"the proxy already routes topics to {split.other.name}, not {other.name}")
        views = {c.name: await (await self.admin(c)).refresh_metadata() for c in (self.upstream, other)}
        for name, view in views.items():
            high = [n for n in view.brokers if n >= VIRTUAL_NODE_OFFSET]
            if high:
                raise ValueError(f"{name} has broker ids {high} at or above {VIRTUAL_NODE_OFFSET}: per-topic "
                                 "routing shows the destination's brokers with ids offset by that much")
        if split is None:
            split = self.split = Split(self.upstream, other, set())
        topics, groups = set(topics), set(groups)
        split.promoted |= topics
        split.moved_groups |= groups
        self._views.update(views)
        for g in groups:   # their members are unknown to the other cluster's coordinator
            self._moved_members[g] = self._members.pop(g, {})
            self._moved_consumer_members[g] = self._consumer_members.pop(g, set())
        self._coordinators.clear()
        if self._viewer is None or self._viewer.done():
            self._viewer = asyncio.get_running_loop().create_task(self._refresh_views())
        sessions = list(self.sessions)
        for s in sessions:
            s.close()
        log.info("proxy routes %s to %s (groups %s); %d client connection(s) closed to reconnect",
                 ", ".join(sorted(topics)), other.name, ", ".join(sorted(groups)) or "none", len(sessions))

    def _unsplit(self) -> None:
        self.split = None
        self._pid_pool.clear()
        self._views.clear()
        self._coordinators.clear()
        if self._viewer is not None:
            self._viewer.cancel()
            self._viewer = None

    async def _refresh_views(self) -> None:
        """Both clusters' metadata, for merged answers (routing.merge_metadata)."""
        rounds = 0
        while self.split is not None and not self._closed:
            await asyncio.sleep(VIEW_REFRESH_S)
            rounds += 1
            if rounds % COORDINATOR_REFRESH_ROUNDS == 0:
                self._coordinators.clear()   # looked up again at the next need (a coordinator may move)
            split = self.split
            if split is None:
                return
            for cluster in (split.default, split.other):
                try:
                    self._views[cluster.name] = await (await self.admin(cluster)).refresh_metadata()

                except Exception as exc:   # keep the last view; clients retry on its errors
                    log.warning("could not read %s metadata for routing: %s", cluster.name, exc)

    def views(self) -> dict[str, ClusterSnapshot]:
        return self._views

    def coordinator_seen(self, cluster: UpstreamConfig, key: str, key_type: int = 0) -> int | None:
        """The node id (as clients see it) of the coordinator of `key` (a group, or a transactional
        id for key type 1) on `cluster`, if known; else it is looked up in the background (the
        client is told to retry meanwhile). Cached until the views are refreshed."""
        entry = (cluster.name, key_type, key)
        node = self._coordinators.get(entry)
        if node is None and entry not in self._looking_up and len(self._looking_up) < MAX_MEMBERS_PER_GROUP:
            self._looking_up.add(entry)
            asyncio.get_running_loop().create_task(self._look_up(cluster, entry))
        return node

    async def _look_up(self, cluster: UpstreamConfig, entry: tuple[str, int, str]) -> None:
        try:
            node = await Admin(await self.admin(cluster)).find_coordinator(entry[2], entry[1])
            shift = self.split.shift_of(cluster) if self.split is not None else 0
            if len(self._coordinators) >= MAX_NAMES:
                self._coordinators.clear()
            self._coordinators[entry] = node + shift
        except Exception as exc:
            log.info("coordinator of %r on %s not found yet: %s", entry[2], cluster.name, exc)
        finally:
            self._looking_up.discard(entry)

    def source_producer_id(self) -> tuple[int, int] | None:
        """An idempotent producer id (and epoch) of the default cluster for a client that asked a
        broker of the other one, or None while the pool is refilled (routing.py: ids of both
        clusters' allocations would collide on the partitions they share)."""
        if len(self._pid_pool) < PID_POOL // 2 and (self._pid_refill is None or self._pid_refill.done()):
            self._pid_refill = asyncio.get_running_loop().create_task(self._refill_pids())
        return self._pid_pool.pop(0) if self._pid_pool else None

    async def _refill_pids(self) -> None:
        split = self.split
        if split is None:
            return
        try:
            admin = Admin(await self.admin(split.default))
            while len(self._pid_pool) < PID_POOL and self.split is split:
                got = await admin.init_producer_id()
                self._pid_pool.append((got.producer_id, got.producer_epoch))
        except Exception as exc:
            log.warning("could not get producer ids from %s for clients of %s: %s", split.default.name,
                        split.other.name, exc)

    def broker_address(self, node_id: int) -> tuple[str, int] | None:
        """The real address of a broker (virtual ids included) from the views."""
        split = self.split
        if split is None:
            return self._addresses.get(node_id)
        cluster = self.cluster_of_node(node_id)
        view = self._views.get(cluster.name)
        b = view.brokers.get(node_id - split.shift_of(cluster)) if view is not None else None
        return (b.host, b.port) if b is not None else self._addresses.get(node_id)
