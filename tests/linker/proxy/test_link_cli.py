"""`linker proxy --config` wired to a link (subprocesses, real brokers): the guard follows the
state topic; `linker promote` drives the proxy's cutover from the source to the destination."""
from __future__ import annotations

import asyncio
import collections
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import NotLeaderForPartitionError, PolicyViolationError

from linker.connect import connect
from linker.settings import load_config
from linker.lifecycle.records import TopicRecord, TopicState
from linker.lifecycle.state_store import StateStore
from linker.lifecycle.store_view import LinkState


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def link_file(tmp: Path, name: str, source: Any, destination: Any, topic: str | list[str], front: str,
              control: int, lifecycle: str = "", prefix: str = "") -> Path:
    path = tmp / "link.toml"
    names = ", ".join(f'"{t}"' for t in ([topic] if isinstance(topic, str) else topic))
    path.write_text(f'''name = "{name}"
[source]
bootstrap_servers = "{source.bootstrap}"
[destination]
bootstrap_servers = "{destination.bootstrap}"
[topics]
names = [{names}]
{f'prefix = "{prefix}"' if prefix else ""}
[mirror]
fetch_max_wait_ms = 100
[lifecycle]
state_poll_ms = 300
offset_sync_interval_ms = 1000
{lifecycle}
[proxy]
listen = "127.0.0.1:0"
front = "{front}"
control = "127.0.0.1:{control}"
group_drain_timeout_s = 10
''')
    return path


class Proc:
    """A `linker` subprocess, stopped by SIGTERM (killed if it does not exit). Its stderr is read
    all along by a thread (the last lines kept): a full pipe would block the process's logging,
    and with it the event loop, so a long-running linker would silently stop mirroring."""

    def __init__(self, *args: str) -> None:
        self.p = subprocess.Popen([sys.executable, "-m", "linker.app.cli", *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self._err: collections.deque[str] = collections.deque(maxlen=2000)
        self._reader = threading.Thread(target=lambda: self._err.extend(self.p.stderr), daemon=True)
        self._reader.start()

    def first_line(self, timeout: float = 60) -> str:
        box: list[str] = []
        t = threading.Thread(target=lambda: box.append(self.p.stdout.readline()), daemon=True)
        t.start()
        t.join(timeout)
        assert box and box[0], f"no output; stderr: {self.stop()[-2000:]}"
        return box[0].strip()

    def stop(self) -> str:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self._reader.join(10)
        return "".join(self._err)


@contextmanager
def run_and_proxy(path: Path) -> Iterator[str]:
    """`linker run` and `linker proxy` (fronting the source) for the link; yields the proxy's
    bootstrap address; both must exit 0 when stopped."""
    run = Proc("run", "-c", str(path))
    proxy = Proc("proxy", "-c", str(path))
    try:
        line = proxy.first_line()
        assert "fronting source" in line, line
        yield line.split()[3]
    finally:
        proxy_err = proxy.stop()
        run_err = run.stop()
    assert proxy.p.returncode == 0, proxy_err[-2000:]
    assert run.p.returncode == 0, run_err[-2000:]


def linker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "linker.app.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def write_state(path: Path, topic: str, state: TopicState) -> None:
    config = load_config(path)

    async def go() -> None:
        dest = connect(config.destination, "destination", "test-state")
        store = StateStore(dest, config.lifecycle.state_topic_for(config.name))
        try:
            await store.ensure()
            rec = TopicRecord(topic, state, "test")
            await store.write([(rec.key(), rec.value())])
        finally:
            await dest.close()
    asyncio.run(go())


def read_state(path: Path, topic: str) -> TopicState | None:
    config = load_config(path)

    async def go() -> TopicState | None:
        dest = connect(config.destination, "destination", "test-state")
        store = StateStore(dest, config.lifecycle.state_topic_for(config.name))
        try:
            rec = LinkState.from_records(await store.read_all()).topics.get(topic)
            return rec.state if rec else None
        finally:
            await dest.close()
    return asyncio.run(go())



def produce_mirrored(bootstrap: str, destination, topic: str, n: int) -> None:
    """``n`` records to partition 0 through the proxy, then until the mirror holds them."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=10_000)
    try:
        for i in range(n):
            producer.send(topic, f"v{i}".encode(), partition=0).get(15)
    finally:
        producer.close(5)
    wait_until(lambda: end_offsets(destination, topic).get(0) == n, "the mirror did not catch up")

def test_guard_follows_state_topic(source, destination, topic_name, tmp_path):
    """Fronting the destination: an ACTIVE mirror refuses produces (policy), STOPPED accepts them."""
    destination.create_topic(topic_name, partitions=1)
    path = link_file(tmp_path, f"pg-{topic_name[-8:]}", source, destination, topic_name, "destination", free_port())
    write_state(path, topic_name, TopicState.ACTIVE)
    proxy = Proc("proxy", "-c", str(path))
    try:
        line = proxy.first_line()
        assert "fronting destination" in line, line
        bootstrap = line.split()[3]
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=0, request_timeout_ms=10_000)
        try:
            with pytest.raises(PolicyViolationError):
                producer.send(topic_name, b"refused").get(15)
            write_state(path, topic_name, TopicState.STOPPED)
            deadline = time.monotonic() + 20
            while True:
                try:
                    md = producer.send(topic_name, b"accepted").get(15)
                    break
                except PolicyViolationError:
                    assert time.monotonic() < deadline, "still refused 20 s after STOPPED"
                    time.sleep(0.3)
            assert md.offset == 0
        finally:
            producer.close(5)
    finally:
        err = proxy.stop()
    assert proxy.p.returncode == 0, err[-2000:]


@pytest.mark.parametrize("prefix", ["", "eu."])
def test_promote_switches_proxy_clients(source, destination, topic_name, tmp_path, testbed_report, prefix):
    """linker run + linker proxy (fronting the source) + a producer and a consumer group through
    the proxy; `linker promote` (CLI) cuts over: every acknowledged record is on the destination
    once at its offset, the consumer saw each once in order, later writes land on the destination.
    With `topics.prefix` the clients keep the source's name throughout (the proxy renames), and
    the promote names the mirror by its destination name."""
    source.create_topic(topic_name, partitions=2)
    mirror = prefix + topic_name
    path = link_file(tmp_path, f"pc-{topic_name[-8:]}", source, destination, topic_name, "source", free_port(),
                     prefix=prefix)
    run = Proc("run", "-c", str(path))
    proxy = Proc("proxy", "-c", str(path))
    acked: dict[tuple[int, int], bytes] = {}
    seen: list[tuple[int, int, bytes]] = []
    stop = threading.Event()
    produced = threading.Event()   # the producer has stopped: `acked` is final
    errors: list[BaseException] = []
    try:
        line = proxy.first_line()
        assert "fronting source" in line, line
        bootstrap = line.split()[3]

        def produce_loop() -> None:
            producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=1000,
                                     retry_backoff_ms=100, max_in_flight_requests_per_connection=1,
                                     request_timeout_ms=20_000, linger_ms=5)
            try:
                i = 0
                while not stop.is_set():
                    value = f"v{i}".encode()
                    md = producer.send(topic_name, value, partition=i % 2).get(60)
                    acked[(md.partition, md.offset)] = value
                    i += 1
                    time.sleep(0.01)
            except BaseException as exc:
                errors.append(exc)
            finally:
                producer.close(5)

        def consume_loop() -> None:
            consumer = KafkaConsumer(topic_name, bootstrap_servers=bootstrap, group_id=f"g-{topic_name}",
                                     auto_offset_reset="earliest", enable_auto_commit=True,
                                     auto_commit_interval_ms=200, fetch_max_wait_ms=100)
            try:
                while not produced.is_set() or len(seen) < len(acked):
                    for tp, recs in consumer.poll(200).items():
                        seen.extend((r.partition, r.offset, r.value) for r in recs)
                    if produced.is_set() and time.monotonic() > stop_deadline[0]:
                        break
            except BaseException as exc:
                errors.append(exc)
            finally:
                consumer.close()

        stop_deadline = [float("inf")]
        threads = [threading.Thread(target=produce_loop, daemon=True), threading.Thread(target=consume_loop, daemon=True)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(acked) < 100 or not seen:
            assert time.monotonic() < deadline and not errors, (len(acked), len(seen), errors)
            time.sleep(0.2)
        while sum(end_offsets(destination, mirror).values()) == 0:   # the linker mirrors
            assert time.monotonic() < deadline + 30 and not errors, (len(acked), errors)
            time.sleep(0.2)
        out = linker("promote", "-c", str(path), mirror)
        assert out.returncode == 0, out.stderr
        named = f"{topic_name} (mirror {mirror})" if prefix else topic_name
        assert out.stdout.startswith(f"{named}: STOPPED final offsets"), out.stdout
        assert "clients switched to the destination" in out.stdout, out.stdout
        at_promote = len(acked)
        deadline = time.monotonic() + 30
        while len(acked) < at_promote + 50:
            assert time.monotonic() < deadline and not errors, (len(acked), errors)
            time.sleep(0.2)
        stop.set()
        threads[0].join(60)
        stop_deadline[0] = time.monotonic() + 30
        produced.set()
        threads[1].join(60)
        assert not errors, errors
    finally:
        stop.set()
        produced.set()
        proxy_err = proxy.stop()
        run_err = run.stop()
    assert proxy.p.returncode == 0, proxy_err[-2000:]
    assert run.p.returncode == 0, run_err[-2000:]
    testbed_report(f"acked {len(acked)} records, consumer saw {len(seen)}")

    # every acknowledged record is on the destination once, at the offset the producer was told
    ends: dict[int, int] = {}
    for (p, o) in acked:
        ends[p] = max(ends.get(p, 0), o + 1)
    dest = KafkaConsumer(bootstrap_servers=destination.bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(mirror, p) for p in (0, 1)]
        dest.assign(tps)
        dest.seek_to_beginning()
        on_dest: dict[tuple[int, int], bytes] = {}
        deadline = time.monotonic() + 30
        while any(dest.position(tp) < ends.get(tp.partition, 0) for tp in tps):
            assert time.monotonic() < deadline
            for recs in dest.poll(500).values():
                for r in recs:
                    assert (r.partition, r.offset) not in on_dest
                    on_dest[(r.partition, r.offset)] = r.value
        assert dest.end_offsets(tps) == {tp: ends.get(tp.partition, 0) for tp in tps}
    finally:
        dest.close()
    assert on_dest == acked
    # the source stopped at the final offsets: later writes went to the destination only
    src_ends = end_offsets(source, topic_name)
    assert sum(src_ends.values()) < len(acked)
    # the consumer saw each record once, in order per partition
    for p in (0, 1):
        offsets = [o for (q, o, _) in seen if q == p]
        assert offsets == list(range(len(offsets))), f"partition {p}: not each once in order"
    assert {(p, o): v for p, o, v in seen} == acked


def test_failed_promote_keeps_writes_held(source, destination, topic_name, tmp_path):
    """A promote that fails once PROMOTING is recorded (promote_timeout_ms = 1: the linker cannot
    finish in time) leaves the proxy holding writes, also after the linker records STOPPED, so
    none reaches the source; a second `linker promote` completes the cutover."""
    source.create_topic(topic_name, partitions=2)
    path = link_file(tmp_path, f"pf-{topic_name[-8:]}", source, destination, topic_name, "source", free_port(),
                     lifecycle="promote_timeout_ms = 1")
    with run_and_proxy(path) as bootstrap:
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=0, request_timeout_ms=10_000)
        try:
            for i in range(10):
                producer.send(topic_name, f"v{i}".encode(), partition=0).get(15)
            wait_until(lambda: end_offsets(destination, topic_name).get(0) == 10, "the mirror did not catch up")
            out = linker("promote", "-c", str(path), topic_name)
            assert out.returncode == 1, out.stdout
            assert "did not finish" in out.stderr, out.stderr
            with pytest.raises(NotLeaderForPartitionError):
                producer.send(topic_name, b"held", partition=0).get(15)
            wait_until(lambda: read_state(path, topic_name) is TopicState.STOPPED,   # the linker finishes
                       "the linker did not finish the promotion")
            time.sleep(1)   # a state poll of the proxy
            with pytest.raises(NotLeaderForPartitionError):
                producer.send(topic_name, b"still held", partition=0).get(15)
            assert end_offsets(source, topic_name) == {0: 10, 1: 0}
        finally:
            producer.close(5)
        out = linker("promote", "-c", str(path), topic_name)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(f"{topic_name}: STOPPED final offsets 0:10, 1:0 (promoted earlier)"), out.stdout
        assert "clients switched to the destination" in out.stdout, out.stdout
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=10_000)
        try:
            md = producer.send(topic_name, b"after", partition=0).get(30)
        finally:
            producer.close(5)
        assert md.offset == 10
        assert end_offsets(destination, topic_name) == {0: 11, 1: 0}
        assert end_offsets(source, topic_name) == {0: 10, 1: 0}


def test_promote_refuses_to_strand_other_topics(source, destination, topic_names, tmp_path):
    """The switch moves every client: a promote that would leave the proxy's clients on a topic
    the destination serves read-only (a mirror not promoted) or not at all is refused before
    anything is held; --force switches anyway."""
    a, b, only_source = topic_names("a"), topic_names("b"), topic_names("c")
    for t in (a, b, only_source):
        source.create_topic(t, partitions=2)
    path = link_file(tmp_path, f"ps-{a[-8:]}", source, destination, [a, b], "source", free_port())
    with run_and_proxy(path) as bootstrap:
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=0, request_timeout_ms=10_000)
        try:
            for t in (a, b, only_source):
                producer.send(t, b"x", partition=0).get(15)
            wait_until(lambda: end_offsets(destination, a).get(0) == end_offsets(destination, b).get(0) == 1,
                       "the mirror did not catch up")
            out = linker("promote", "-c", str(path), a)
            assert out.returncode == 1, out.stdout
            assert f"{b} (a read-only mirror until promoted)" in out.stderr, out.stderr
            assert f"{only_source} (not on the destination)" in out.stderr, out.stderr
            assert "Nothing was held or recorded" in out.stderr
            assert producer.send(a, b"not held", partition=0).get(15).offset == 1   # no hold left behind
            assert read_state(path, a) in (None, TopicState.ACTIVE)   # no command recorded
        finally:
            producer.close(5)
        out = linker("promote", "-c", str(path), "--force", a)
        assert out.returncode == 0, out.stderr
        assert "clients switched to the destination" in out.stdout, out.stdout
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=0, request_timeout_ms=10_000)
        try:
            assert producer.send(a, b"after", partition=0).get(30).offset == 2
            with pytest.raises(PolicyViolationError):     # what --force accepted for b's writers
                producer.send(b, b"refused", partition=0).get(15)
        finally:
            producer.close(5)


def test_failover_switches_proxy_clients(source, destination, topic_name, tmp_path):
    """A disaster-recovery drill behind the proxy: `linker failover` stops the mirror at once and
    the proxy moves its clients to the destination; the next write lands there, not on the source."""
    source.create_topic(topic_name, partitions=2)
    path = link_file(tmp_path, f"pd-{topic_name[-8:]}", source, destination, topic_name, "source", free_port())
    with run_and_proxy(path) as bootstrap:
        produce_mirrored(bootstrap, destination, topic_name, 10)
        out = linker("failover", "-c", str(path), topic_name)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(f"{topic_name}: STOPPED final offsets 0:10, 1:0"), out.stdout
        assert "proxy: clients switched to the destination (groups resume from the last offset sync)" \
            in out.stdout, out.stdout
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=10_000)
        try:
            assert producer.send(topic_name, b"after", partition=0).get(30).offset == 10
        finally:
            producer.close(5)
        assert end_offsets(destination, topic_name) == {0: 11, 1: 0}
        assert end_offsets(source, topic_name) == {0: 10, 1: 0}


def test_promote_force_needs_a_proxy(tmp_path):
    path = tmp_path / "link.toml"
    path.write_text('[source]\nbootstrap_servers = "s:1"\n[destination]\nbootstrap_servers = "d:2"\n'
                    '[topics]\nnames = ["t"]\n')
    out = linker("promote", "-c", str(path), "--force", "t", timeout=60)
    assert out.returncode == 2
    assert "--force applies only to a link with proxy.control" in out.stderr


def wait_until(done: Callable[[], bool], why: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, why
        time.sleep(0.2)


def end_offsets(cluster: Any, topic: str) -> dict[int, int]:
    """{} while the topic does not exist."""
    c = KafkaConsumer(bootstrap_servers=cluster.bootstrap)
    try:
        if not c.partitions_for_topic(topic):
            return {}
        tps = [TopicPartition(topic, p) for p in (0, 1)]
        return {tp.partition: o for tp, o in c.end_offsets(tps).items()}
    finally:
        c.close()


@pytest.mark.parametrize("table, message", [
    ({"front": "both"}, "proxy.front: 'both' is neither"),
    ({"epoch_generation": 64}, "proxy.epoch_generation: 64 is outside 0..63"),
    ({"listen": "nowhere"}, "proxy.listen: 'nowhere' is not host:port"),
    ({"control": "127.0.0.1:0"}, "proxy.control: needs a fixed port"),
    ({"port_base": 70000}, "proxy.port_base: 70000 is outside"),
    ({"broker_ports": {"x": 9000}}, "proxy.broker_ports.x:"),
    ({"tls_cert": "c.pem"}, "proxy.tls_key: tls_cert and tls_key go together"),
    ({"catch_up_timeout_s": 0}, "proxy.catch_up_timeout_s: must be > 0"),
    ({"txn_drain_timeout_s": -1}, "proxy.txn_drain_timeout_s: must be > 0"),
    ({"fetch_node_endpoints": "yes"}, "proxy.fetch_node_endpoints: expected bool"),
    ({"colour": 1}, "proxy.colour: unknown key"),
])
def test_proxy_table_errors_name_the_key(table: dict[str, Any], message: str) -> None:
    from linker.settings import ConfigError, parse_config
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        parse_config({"source": {"bootstrap_servers": ["a:1"]}, "destination": {"bootstrap_servers": ["b:1"]},
                      "topics": {"names": ["t"]}, "proxy": table})


def test_proxy_table_values() -> None:
    from linker.settings import parse_config
    from linker.app.proxy_settings import proxy_config
    config = parse_config({"source": {"bootstrap_servers": ["s:1"]}, "destination": {"bootstrap_servers": ["d:2"]},
                           "topics": {"names": ["t"]},
                           "proxy": {"listen": "0.0.0.0:9192", "advertise": "proxy.example", "front": "source",
                                     "broker_ports": {"1": 9201}, "port_base": 9300, "control": "127.0.0.1:9299"}})
    pc = proxy_config(config)
    assert (pc.upstream.name, pc.upstream.bootstrap) == ("source", "s:1")
    assert (pc.bind_host, pc.bootstrap_port, pc.host_for_clients) == ("0.0.0.0", 9192, "proxy.example")
    assert (pc.ports.port_for(1), pc.ports.port_for(2)) == (9201, 9302)
    assert config.proxy.control == ("127.0.0.1", 9299)
    assert parse_config({"source": {"bootstrap_servers": ["s:1"]}, "destination": {"bootstrap_servers": ["d:2"]},
                         "topics": {"names": ["t"]}}).proxy is None


def test_sync_mirrors_every_state_but_stopped_is_read_only() -> None:
    from linker.lifecycle.records import ProgressRecord
    from linker.lifecycle.store_view import LinkState
    from linker.proxy.guard import MirrorTopics
    from linker.app.state_following import sync_mirrors

    states = {f"t-{s.value.lower()}": s for s in TopicState}
    records = {TopicRecord(t, s).key(): TopicRecord(t, s).value() for t, s in states.items()}
    records[ProgressRecord("only-progress", {0: 5}).key()] = ProgressRecord("only-progress", {0: 5}).value()
    mirrors = MirrorTopics({"t-stopped": "L"})
    sync_mirrors(mirrors, LinkState.from_records(records), "L")
    assert mirrors.topics() == sorted([t for t, s in states.items() if s is not TopicState.STOPPED]
                                      + ["only-progress"])
    assert mirrors.mirror_link("t-active") == "L"
    records[TopicRecord("t-active", TopicState.STOPPED).key()] = TopicRecord("t-active", TopicState.STOPPED).value()
    sync_mirrors(mirrors, LinkState.from_records(records), "L")
    assert mirrors.mirror_link("t-active") is None


def test_promotion_begun_topics_are_held_only_while_the_source_is_fronted() -> None:
    from linker.settings import parse_config
    from kproto.errors import ErrorCode
    from linker.app.linked_proxy import LinkedProxy

    config = parse_config({"source": {"bootstrap_servers": ["s:1"]}, "destination": {"bootstrap_servers": ["d:2"]},
                           "topics": {"names": ["t"]}, "proxy": {"listen": "127.0.0.1:0", "front": "source"}})
    proxy = LinkedProxy(config)
    records = {}
    for t, s in {"t-active": TopicState.ACTIVE, "t-promoting": TopicState.PROMOTING,
                 "t-stopped": TopicState.STOPPED, "t-blocked": TopicState.BLOCKED}.items():
        records[TopicRecord(t, s).key()] = TopicRecord(t, s).value()
    proxy.apply_state(LinkState.from_records(records))
    assert sorted(proxy.server.holds) == ["t-promoting", "t-stopped"]
    refusal = proxy.server.refusal_of("t-stopped")
    assert refusal is not None and refusal.error_code == ErrorCode.NOT_LEADER_OR_FOLLOWER
    assert refusal.hold and "t-stopped" not in refusal.message      # clients never read the why (17.4)
    assert "`linker promote t-stopped`" in proxy.server.holds["t-stopped"]   # the proxy keeps it
    assert proxy.server.refusal_of("t-active") is None          # the source topic stays writable
    proxy.server.upstream = proxy.destination                    # after a switch
    proxy.apply_state(LinkState.from_records(records))
    assert proxy.server.holds == {}
    assert proxy.server.refusal_of("t-stopped") is None
    assert proxy.server.refusal_of("t-active") is not None       # a read-only mirror there


def test_the_fronted_cluster_comes_from_the_link_state() -> None:
    """The `proxy/front` record (the last switch) wins over the file; without one, the file's value,
    also when every topic is STOPPED (the switch itself has not been made: held until promote)."""
    from linker.app.state_following import front_of
    from linker.lifecycle.records import FrontRecord

    def state(*recs: Any) -> LinkState:
        return LinkState.from_records({r.key(): r.value() for r in recs})

    assert front_of(state(), "source")[0] == "source"
    assert front_of(state(TopicRecord("a", TopicState.ACTIVE)), "source")[0] == "source"
    assert front_of(state(TopicRecord("a", TopicState.STOPPED), TopicRecord("b", TopicState.PROMOTING)),
                    "source")[0] == "source"
    assert front_of(state(TopicRecord("a", TopicState.STOPPED)), "source")[0] == "source"
    assert front_of(state(TopicRecord("a", TopicState.STOPPED)), "destination")[0] == "destination"
    front, why = front_of(state(TopicRecord("a", TopicState.ACTIVE), FrontRecord("destination", ["a"])), "source")
    assert front == "destination" and "`linker promote a`" in why
    bad = LinkState.from_records({b"proxy/front": b'{"v": 1, "front": "elsewhere"}'})   # logged, ignored
    assert bad.front is None and front_of(bad, "source")[0] == "source"


def test_the_hold_rule_releases_only_what_never_began() -> None:
    """After a failed promote or failover through the proxy a topic stays held whenever the state
    topic shows its promotion began (PROMOTING, STOPPED) or cannot be read."""
    from linker.app.state_following import kept_after_failure

    state = LinkState.from_records({TopicRecord(t, s).key(): TopicRecord(t, s).value() for t, s in
                                    {"a": TopicState.PROMOTING, "b": TopicState.STOPPED,
                                     "c": TopicState.ACTIVE, "d": TopicState.FAILED}.items()})
    assert kept_after_failure(state, ["a", "b", "c", "d", "e"]) == {"a", "b"}
    assert kept_after_failure(None, ["c", "e"]) == {"c", "e"}


def test_a_restarted_proxy_fronts_the_destination_after_a_promote(source, destination, topic_name, tmp_path):
    """Promote through the proxy, then restart the proxy with the unchanged file (`front = "source"`):
    it fronts the destination (the link state records the switch), so a client through it reads and
    writes the destination, not the old source."""
    source.create_topic(topic_name, partitions=2)
    path = link_file(tmp_path, f"pr-{topic_name[-8:]}", source, destination, topic_name, "source", free_port())
    with run_and_proxy(path) as bootstrap:
        produce_mirrored(bootstrap, destination, topic_name, 5)
        out = linker("promote", "-c", str(path), topic_name)
        assert out.returncode == 0, out.stderr
        assert "clients switched to the destination" in out.stdout, out.stdout
    direct = KafkaProducer(bootstrap_servers=destination.bootstrap, acks="all")
    try:   # offset 5: only the destination has it
        assert direct.send(topic_name, b"on-destination", partition=0).get(15).offset == 5
    finally:
        direct.close(5)
    proxy = Proc("proxy", "-c", str(path))
    try:
        line = proxy.first_line()
        assert "fronting destination" in line, line
        bootstrap = line.split()[3]
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=0, request_timeout_ms=10_000)
        try:
            assert producer.send(topic_name, b"after restart", partition=0).get(30).offset == 6
        finally:
            producer.close(5)
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=10_000)
        try:
            tp = TopicPartition(topic_name, 0)
            consumer.assign([tp])
            consumer.seek(tp, 5)
            got = [m.value for m in consumer][:2]
        finally:
            consumer.close()
        assert got == [b"on-destination", b"after restart"]
    finally:
        err = proxy.stop()
    assert proxy.p.returncode == 0, err[-2000:]
    assert "proxy.front is 'source' in the link file, but the link state records the switch" in err, err[-2000:]
    assert end_offsets(source, topic_name) == {0: 5, 1: 0}
    assert end_offsets(destination, topic_name) == {0: 7, 1: 0}


def test_a_cutover_failing_before_promote_keeps_a_hold_the_state_topic_shows_begun(
        source, destination, topic_name, tmp_path):
    """The hold rule holds at every step: PROMOTING recorded for the topic (by an earlier promote)
    after the proxy's last state poll, and a cutover that then fails at catch-up (no linker runs, so
    the mirror never catches up) keeps the writes held; the error names the step and the partition."""
    source.create_topic(topic_name, partitions=2)
    destination.create_topic(topic_name, partitions=2)
    path = link_file(tmp_path, f"ph-{topic_name[-8:]}", source, destination, topic_name, "source", free_port())
    text = path.read_text().replace("state_poll_ms = 300", "state_poll_ms = 600000")
    path.write_text(text.replace("group_drain_timeout_s = 10", "group_drain_timeout_s = 1\ncatch_up_timeout_s = 2"))
    proxy = Proc("proxy", "-c", str(path))
    try:
        bootstrap = proxy.first_line().split()[3]
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=0, request_timeout_ms=10_000)
        try:
            producer.send(topic_name, b"v0", partition=0).get(15)
            write_state(path, topic_name, TopicState.PROMOTING)   # the proxy polls again in 10 min
            out = linker("promote", "-c", str(path), topic_name)
            assert out.returncode == 1, out.stdout
            assert "failed at step 'catch-up'" in out.stderr, out.stderr
            assert f"{topic_name}-0 at 0 of 1" in out.stderr, out.stderr
            with pytest.raises(NotLeaderForPartitionError):
                producer.send(topic_name, b"must not reach the source", partition=0).get(15)
        finally:
            producer.close(5)
        assert end_offsets(source, topic_name) == {0: 1, 1: 0}
    finally:
        err = proxy.stop()
    assert proxy.p.returncode == 0, err[-2000:]
