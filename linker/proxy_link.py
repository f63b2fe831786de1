"""`linker proxy --config link.toml`: the proxy wired to a link.

Two jobs on top of linker.proxy:

* the read-only guard follows the link's state topic: every mirror topic not
  STOPPED is refused writes while the destination is fronted;
* a loopback control endpoint through which `linker promote` runs the cutover
  *inside* the proxy when it fronts the source: hold writes, drain, catch up,
  promote (the ordinary state-topic command), copy group offsets, switch; and
  `linker failover` the same without catch-up or drain (the source may be gone).

Why promote calls the proxy rather than the proxy reacting to PROMOTING in the
state topic: the linker may finish a promotion (STOPPED at the source's end)
before a polling proxy has seen PROMOTING, and a write the proxy let through in
between would be on the source only. Holding writes *before* PROMOTING is
recorded closes that gap; see docs/proxy.md.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from linker.client import ClientConfig, KafkaClient
from linker.config import ClusterSettings, LinkConfig
from linker.lifecycle.commands import CommandError, Commands
from linker.lifecycle.records import TopicState
from linker.lifecycle.settings import LifecycleSettings
from linker.lifecycle.state_store import StateStore
from linker.lifecycle.store_view import LinkState
from linker.mirror.kafka_io import ClusterIO, client_config
from linker.proxy.config import ListenTls, PortMapping, ProxyConfig, UpstreamConfig
from linker.proxy.cutover import Cutover
from linker.proxy.guard import MirrorTopics
from linker.proxy.link_settings import ProxySettings
from linker.proxy.server import ProxyServer

log = logging.getLogger("linker.proxy")

MAX_CONTROL_REQUEST = 64 * 1024
#: A topic a client asked the metadata of within this window is in use (clients refresh their
#: topics' metadata every 5 minutes by default: metadata.max.age.ms).
TOPIC_IN_USE_WINDOW_S = 600.0
#: How long a failover waits for produces in flight to the source (a dead one answers none).
FAILOVER_DRAIN_S = 5.0


def upstream_of(cluster: ClusterSettings, name: str) -> UpstreamConfig:
    """The proxy's view of one side of the link (TLS toward brokers, admin credentials)."""
    security = client_config(cluster).security
    return UpstreamConfig(name=name, bootstrap=",".join(cluster.bootstrap_servers), tls=security.tls,
                          admin_security=security)


def proxy_config(config: LinkConfig) -> ProxyConfig:
    s: ProxySettings = config.proxy
    upstream = upstream_of(config.source if s.front == "source" else config.destination, s.front)
    return ProxyConfig(upstream=upstream, bind_host=s.listen_host, advertised_host=s.advertise,
                       bootstrap_port=s.listen_port, ports=PortMapping(dict(s.broker_ports), s.port_base),
                       listen_tls=ListenTls(s.tls_cert, s.tls_key) if s.tls_cert else None,
                       fetch_node_endpoints=s.fetch_node_endpoints)


def sync_mirrors(mirrors: MirrorTopics, state: LinkState, link: str) -> None:
    """Every topic the link knows (a state or progress record) is a read-only mirror until STOPPED."""
    for topic in set(state.topics) | set(state.progress):
        rec = state.topics.get(topic)
        if rec is not None and rec.state is TopicState.STOPPED:
            mirrors.promote(topic)
        else:
            mirrors.set_mirror(topic, link)


#: States in which the source must take no more writes for a topic: a promotion (or a
#: failover) began, so the destination may already be, or soon be, the writable copy.
PROMOTION_BEGUN = frozenset({TopicState.PROMOTING, TopicState.STOPPED})


def promotion_begun(state: LinkState, topics: list[str] | None = None) -> dict[str, TopicState]:
    """topic -> state, for the topics (default: all) whose promotion began."""
    return {t: r.state for t, r in state.topics.items()
            if r.state in PROMOTION_BEGUN and (topics is None or t in topics)}


class LinkedProxy:
    """A ProxyServer whose guard and cutover follow one link."""

    def __init__(self, config: LinkConfig) -> None:
        if config.proxy is None:
            raise ValueError("the link file has no [proxy] table")
        if getattr(config.topics, "prefix", ""):
            raise ValueError("proxy: topics.prefix is set; the proxy cannot switch clients between "
                             "differently named topics")
        self.config = config
        self.settings: ProxySettings = config.proxy
        self.lifecycle: LifecycleSettings = config.lifecycle or LifecycleSettings()
        self.source = upstream_of(config.source, "source")
        self.destination = upstream_of(config.destination, "destination")
        self.mirrors = MirrorTopics()
        self.server = ProxyServer(proxy_config(config), self.mirrors, mirrors_on="destination")
        self._cutover_lock = asyncio.Lock()
        self._control: asyncio.Server | None = None
        self._store: StateStore | None = None
        self._state_held: set[str] = set()

    @property
    def fronts(self) -> str:
        return self.server.upstream.name

    async def serve(self, stop: asyncio.Event, ready: Any = None) -> None:
        dest = ClusterIO(self.config.destination, "destination", f"{self.config.destination.client_id}-proxy")
        store = StateStore(dest, self.lifecycle.state_topic_for(self.config.name),
                           self.config.mirror.replication_factor)
        self._store = store
        await self._follow_once(store)   # guard and holds in force before the first client
        async with self.server:
            if self.settings.control is not None:
                host, port = self.settings.control
                self._control = await asyncio.start_server(self._handle_control, host, port)
            watcher = asyncio.create_task(self._follow(store, stop))
            if ready is not None:
                ready(self)
            try:
                await stop.wait()
            finally:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
                if self._control is not None:
                    self._control.close()
                    await self._control.wait_closed()
                await dest.close()

    async def _follow_once(self, store: StateStore) -> None:
        await store.ensure()
        self.apply_state(LinkState.from_records(await store.read_all()))

    async def _follow(self, store: StateStore, stop: asyncio.Event) -> None:
        """Keep the guard in step with the state topic (one read per state poll)."""
        while not stop.is_set():
            await asyncio.sleep(self.lifecycle.state_poll_ms / 1000)
            try:
                self.apply_state(LinkState.from_records(await store.read_all()))
            except Exception as exc:  # keep the last known registry and holds; the guard stays closed
                log.warning("cannot read the link state topic: %s", exc)

    def apply_state(self, state: LinkState) -> None:
        """The read-only guard, and, while the source is fronted, a hold on every topic whose
        promotion began: a promote that failed half-way, or one a restarted linker finished,
        must not let writes reach the source again (`linker promote` completes the cutover)."""
        sync_mirrors(self.mirrors, state, self.config.name)
        begun = promotion_begun(state) if self.fronts == "source" else {}
        self.server.release_writes(self._state_held - begun.keys())
        for topic in begun.keys() - self._state_held:
            self.server.hold_writes([topic], f"topic {topic!r} is {begun[topic].value} on the destination "
                                             f"while the proxy fronts the source; writes are held until "
                                             f"`linker promote {topic}` completes the cutover")
            log.warning("topic %s is %s on the destination: writes through the proxy held until "
                        "`linker promote %s` completes the cutover", topic, begun[topic].value, topic)
        self._state_held = set(begun)

    async def _promotion_began(self, topics: list[str]) -> bool:
        """Whether a promotion (or failover) of any of `topics` began; True when the state
        topic cannot be read (keeping a hold is the safe side)."""
        assert self._store is not None
        try:
            return bool(promotion_begun(LinkState.from_records(await self._store.read_all()), topics))
        except Exception as exc:
            log.warning("cannot read the link state topic (%s): writes stay held", exc)
            return True

    async def stranded_topics(self, topics: list[str]) -> list[str]:
        """Topics the proxy's clients use, besides `topics`, that the destination cannot serve
        as the source does; each with why. The switch is cluster-wide, so their clients would
        meet refusals (a mirror not promoted) or UNKNOWN_TOPIC_OR_PARTITION (not there)."""
        used = [t for t in self.server.topics_used_within(TOPIC_IN_USE_WINDOW_S) if t not in topics]
        if not used:
            return []
        assert self._store is not None
        begun = promotion_begun(LinkState.from_records(await self._store.read_all()), used)
        used = [t for t in used if begun.get(t) is not TopicState.STOPPED]
        if not used:
            return []
        dst = KafkaClient(self.destination.bootstrap, ClientConfig(client_id="linker-proxy",
                                                                   security=self.destination.admin_config()))
        try:
            await dst.start()
            snapshot = await dst.refresh_metadata(used)
        finally:
            await dst.close()
        out = []
        for t in used:
            info = snapshot.topics.get(t)
            if self.mirrors.mirror_link(t) is not None:
                out.append(f"{t} (a read-only mirror until promoted)")
            elif info is None or info.error_code:
                out.append(f"{t} (not on the destination)")
        return out

    # -- control endpoint ----------------------------------------------------------------
    async def promote(self, topics: list[str], force: bool = False) -> dict[str, Any]:
        """Run `linker promote` from inside the proxy; the cutover when the source is fronted.
        Unless `force`, a cutover that would strand clients of other topics is refused before
        anything is held or recorded."""
        async with self._cutover_lock:
            if self.fronts == "source" and not force:
                stranded = await self.stranded_topics(topics)
                if stranded:
                    raise CommandError(
                        f"the proxy moves all its clients to the destination at once, and in the last "
                        f"{TOPIC_IN_USE_WINDOW_S / 60:g} min they used topics the destination cannot serve "
                        f"as the source does: {', '.join(stranded)}. Promote those in the same command, or "
                        f"give `linker promote --force` to switch anyway (their clients then get errors). "
                        f"Nothing was held or recorded")
            commands = Commands(self.config)
            results: list[Any] = []

            async def promote() -> None:
                results.extend(await commands.promote(topics))

            try:
                if self.fronts == "source":
                    report = await Cutover(self.server, self.source, self.destination, topics,
                                           promote=promote,
                                           keep_hold=lambda: self._promotion_began(topics),
                                           catch_up_timeout=self.settings.catch_up_timeout_s,
                                           group_drain_timeout=self.settings.group_drain_timeout_s).run()
                    self._switched()
                    extra = {"switched_to": "destination", "hold_seconds": round(report.hold_seconds, 3),
                             "groups_copied": sorted(report.groups_copied),
                             "groups_not_drained": report.groups_not_drained}
                else:
                    await promote()
                    extra = {}
            finally:
                await commands.close()
            return self._done(results, extra)

    def _switched(self) -> None:
        """The destination is fronted now: holds taken from the state topic for the source are void."""
        self.server.release_writes(self._state_held)
        self._state_held = set()

    def _done(self, results: list[Any], extra: dict[str, Any]) -> dict[str, Any]:
        """Promoted topics leave the guard at once (not at the next state poll); the control
        answer: the command's lines as the CLI prints them (the producer-id line once), where
        the proxy fronts now, and what the switch did."""
        for r in results:
            self.mirrors.promote(r.topic)
        lines = [r.line() for r in results] + [r.producer_ids for r in results[:1] if r.producer_ids]
        return {"ok": True, "lines": lines, "fronts": self.fronts, **extra}

    async def failover(self, topics: list[str]) -> dict[str, Any]:
        """Run `linker failover` from inside the proxy. Fronting the source, no catch-up and no
        group drain (the source may be gone): hold the topics' writes (bounded wait for
        produces in flight), failover (STOPPED at once), switch to the destination, release.
        Groups resume there from the lifecycle's last offset sync."""
        async with self._cutover_lock:
            commands = Commands(self.config)
            extra: dict[str, Any] = {}
            try:
                if self.fronts == "source":
                    epoch = self.server.hold_writes(topics, f"writes held for the failover of {', '.join(topics)}; retry")
                    try:
                        try:
                            await self.server.wait_produce_drained(epoch, timeout=FAILOVER_DRAIN_S)
                        except TimeoutError as exc:   # a dead source answers nothing: go on
                            log.warning("failover: %s", exc)
                        results = await commands.failover(topics)
                        await self.server.switch_upstream(self.destination)
                    except BaseException:
                        if not await self._promotion_began(topics):
                            self.server.release_writes(topics)
                        raise
                    self.server.release_writes(topics)
                    self._switched()
                    extra = {"switched_to": "destination"}
                else:
                    results = await commands.failover(topics)
            finally:
                await commands.close()
            return self._done(results, extra)

    async def _handle_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One JSON request line -> one JSON answer line; loopback only, no auth (see docs/proxy.md)."""
        try:
            line = await reader.readline()
            if len(line) > MAX_CONTROL_REQUEST:
                raise ValueError("control request too long")
            req = json.loads(line or b"{}")
            topics = req.get("topics")
            if not (isinstance(topics, list) and topics and all(isinstance(t, str) for t in topics)):
                topics = None
            if req.get("command") == "promote" and topics:
                answer = await self.promote(list(dict.fromkeys(topics)), force=req.get("force") is True)
            elif req.get("command") == "failover" and topics:
                answer = await self.failover(list(dict.fromkeys(topics)))
            elif req.get("command") == "status":
                answer = {"ok": True, "fronts": self.fronts, "mirrors": self.mirrors.topics()}
            else:
                answer = {"ok": False, "error": f"unknown control request {req!r}"}
        except Exception as exc:  # reported to `linker promote`, which exits 1 with it
            answer = {"ok": False, "error": str(exc), "fronts": self.fronts}
        writer.write(json.dumps(answer).encode() + b"\n")
        try:
            await writer.drain()
        finally:
            writer.close()


async def control_request(config: LinkConfig, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Send one request to the running `linker proxy` of this link."""
    host, port = config.proxy.control
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
    except (OSError, asyncio.TimeoutError) as exc:
        raise CommandError(f"the link's proxy control endpoint {host}:{port} is not reachable ({exc}); "
                           "start `linker proxy`, or remove proxy.control from the link file to run the "
                           "command without switching the proxy's clients") from None
    try:
        writer.write(json.dumps(request).encode() + b"\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
    finally:
        writer.close()
    if not line:
        raise CommandError("the proxy closed the control connection without an answer")
    return json.loads(line)


def run_proxy(config: LinkConfig) -> int:
    """The `linker proxy` command: serve until SIGTERM/SIGINT."""
    import signal
    import sys

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)

        def ready(p: LinkedProxy) -> None:
            control = "" if p.settings.control is None else f" control {p.settings.control[0]}:{p.settings.control[1]}"
            print(f"proxy listening on {p.server.bootstrap} fronting {p.fronts}{control}", flush=True)
        await LinkedProxy(config).serve(stop, ready)

    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        print(f"linker proxy: {exc}", file=sys.stderr)
        return 1
    return 0


def command_via_proxy(config: LinkConfig, command: str, topics: list[str], force: bool = False) -> int:
    """`linker promote|failover` when the link file has proxy.control: the proxy runs it and
    moves its clients."""
    import sys
    timeout = (config.lifecycle or LifecycleSettings()).promote_timeout_ms / 1000 + \
        config.proxy.catch_up_timeout_s + config.proxy.group_drain_timeout_s + 60
    request: dict[str, Any] = {"command": command, "topics": topics}
    if command == "promote":
        request["force"] = force
    try:
        answer = asyncio.run(control_request(config, request, timeout))
    except (CommandError, OSError, asyncio.TimeoutError, ValueError) as exc:
        sys.stderr.write(f"linker {command}: {exc}\n")
        return 1
    if not answer.get("ok"):
        sys.stderr.write(f"linker {command}: {answer.get('error')} (proxy fronts {answer.get('fronts')})\n")
        return 1
    for line in answer["lines"]:
        sys.stdout.write(line + "\n")
    if "hold_seconds" in answer:
        sys.stdout.write(f"proxy: clients switched to the destination (writes held {answer['hold_seconds']}s; "
                         f"group offsets copied: {', '.join(answer['groups_copied']) or 'none'})\n")
    elif "switched_to" in answer:
        sys.stdout.write("proxy: clients switched to the destination (groups resume from the last offset sync)\n")
    return 0
