"""The CLI wiring: `linker run` (subprocess) applies `linker pause/resume/promote` (subprocesses);
a bad command exits 1 with a reason."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

from kafkabed.producers import produce


def linker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "linker.app.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_cli_commands_against_running_linker(source, destination, topic_name, tmp_path):
    source.create_topic(topic_name, partitions=2)
    produce(source, topic_name, 30)
    link = tmp_path / "link.toml"
    link.write_text(f'''name = "cli-{topic_name[-8:]}"
[source]
bootstrap_servers = "{source.bootstrap}"
[destination]
bootstrap_servers = "{destination.bootstrap}"
[topics]
names = ["{topic_name}"]
[mirror]
fetch_max_wait_ms = 100
[lifecycle]
state_poll_ms = 300
offset_sync_interval_ms = 1000
''')
    run = subprocess.Popen([sys.executable, "-m", "linker.app.cli", "run", "-c", str(link)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        bad = linker("pause", "-c", str(link), "no-such-topic-here")
        assert bad.returncode == 1 and "not a mirror topic on the destination: no-such-topic-here" in bad.stderr
        deadline = time.monotonic() + 60
        while True:   # until the running linker has created the mirror topic
            out = linker("pause", "-c", str(link), topic_name)
            if out.returncode == 0:
                break
            assert time.monotonic() < deadline, out.stderr
            time.sleep(0.5)
        assert out.stdout.strip() == f"{topic_name}: PAUSED"
        assert linker("resume", "-c", str(link), topic_name).returncode == 0
        out = linker("promote", "-c", str(link), topic_name)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(f"{topic_name}: STOPPED final offsets 0:")
        first, *rest = out.stdout.splitlines()
        ends = dict(x.split(":") for x in first.split("final offsets ")[1].strip().split(", "))
        assert sum(int(v) for v in ends.values()) == 30
        assert [line.split(":")[0] for line in rest] == ["producer ids"], out.stdout   # the burn, reported once
        out = linker("resume", "-c", str(link), topic_name)
        assert out.returncode == 1 and "STOPPED" in out.stderr
    finally:
        run.send_signal(signal.SIGTERM)
        try:
            _, err = run.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            run.kill()
            raise
    assert run.returncode == 0, err[-2000:]
    assert "promoted" in err


def test_linker_killed_during_promote(source, destination, topic_name, tmp_path, testbed_report):
    """kill -9 of `linker run` during a promotion while the source keeps moving. Either the
    promotion had finished (STOPPED: the destination never grows past the recorded offsets
    although the source does) or the topic is still PROMOTING and the restarted linker
    finishes it at the source's final end. Never anything in between."""
    import threading

    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    from linker.settings import load_config
    from linker.lifecycle.records import TopicState

    from .helpers import state_of
    from .test_lifecycle_commands import dest_end
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, 20)
    link = tmp_path / "link.toml"
    link.write_text(f'''name = "kill-{topic_name[-8:]}"
[source]
bootstrap_servers = "{source.bootstrap}"
[destination]
bootstrap_servers = "{destination.bootstrap}"
[topics]
names = ["{topic_name}"]
[mirror]
fetch_max_wait_ms = 100
[lifecycle]
state_poll_ms = 300
promote_timeout_ms = 120000
''')
    cfg = load_config(link)
    halt = threading.Event()

    def writer() -> None:
        p = KafkaProducer(acks=1, enable_idempotence=False, linger_ms=2, **source.kafka_python_config())
        try:
            while not halt.is_set():
                p.send(topic_name, b"x")
                time.sleep(0.002)
            p.flush(10)
        finally:
            p.close(5)
    w = threading.Thread(target=writer, daemon=True)
    run = subprocess.Popen([sys.executable, "-m", "linker.app.cli", "run", "-c", str(link)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    promote = None
    try:
        deadline = time.monotonic() + 60
        while linker("pause", "-c", str(link), topic_name).returncode != 0:   # mirror topic created
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert linker("resume", "-c", str(link), topic_name).returncode == 0
        w.start()
        time.sleep(1.0)
        promote = subprocess.Popen([sys.executable, "-m", "linker.app.cli", "promote", "-c", str(link), topic_name],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while state_of(cfg).topics[topic_name].state is TopicState.ACTIVE:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(0.5)
        run.kill()          # the linker dies during the promotion
        run.wait(10)
        at_kill = state_of(cfg).topics[topic_name]
        assert at_kill.state is TopicState.PROMOTING or (at_kill.state is TopicState.STOPPED
                                                          and at_kill.by == "linker"), at_kill
        time.sleep(1.0)     # the source moves on
        halt.set()
        w.join(30)
        out, err = promote.communicate(timeout=30)
        if at_kill.state is TopicState.STOPPED:
            assert promote.returncode == 0 and "STOPPED final offsets" in out, err
        else:               # its wait ends when the heartbeat goes stale
            assert promote.returncode == 1 and "next `linker run` completes it" in err, err
        run = subprocess.Popen([sys.executable, "-m", "linker.app.cli", "run", "-c", str(link)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while (rec := state_of(cfg).topics[topic_name]).state is not TopicState.STOPPED or rec.by != "linker":
            assert time.monotonic() < deadline, rec
            time.sleep(0.3)
        time.sleep(1.0)
    finally:
        halt.set()
        if promote is not None and promote.poll() is None:
            promote.kill()
        run.send_signal(signal.SIGTERM)
        try:
            run.wait(30)
        except subprocess.TimeoutExpired:
            run.kill()
    c = KafkaConsumer(**source.kafka_python_config())
    tp = TopicPartition(topic_name, 0)
    src_end = c.end_offsets([tp])[tp]
    c.close()
    assert rec.reason == "promoted"
    assert dest_end(destination, topic_name) == rec.offsets[0]   # nothing written after STOPPED
    if at_kill.state is TopicState.STOPPED:
        assert rec.offsets == at_kill.offsets and rec.offsets[0] < src_end
    else:
        assert rec.offsets == {0: src_end}
    testbed_report(f"linker killed during promote: the topic was {at_kill.state.value} at the kill")
