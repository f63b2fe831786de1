"""Share groups (KIP-932) across a promote (issue 21, finding 6): the share partitions' start
offsets are copied by the offset sync, so a share consumer on the destination continues where
the source group stopped, instead of at `share.auto.offset.reset`.

Judged with Kafka's own tools: `kafka-share-groups --describe --offsets` (ShareGroupCommand) on
both clusters, and ConsoleShareConsumer as the consumer."""
from __future__ import annotations

import asyncio
import re
import subprocess
import uuid

from kafkabed import classpath
from kafkabed.cluster import java_binary
from kafkabed.producers import Record, produce
from linker.connect import connect
from linker.lifecycle.offset_sync import sync_share_group

from .helpers import Linker, command, link_config

RECORDS = 50


def java(main: str, *args: str, timeout: float = 90) -> str:
    done = subprocess.run([java_binary(), "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                           "-cp", classpath(), main, *args], capture_output=True, text=True, timeout=timeout)
    return done.stdout + done.stderr


def start_offsets(cluster, group: str, topic: str) -> dict[int, int]:
    """{partition: start offset} as `kafka-share-groups --describe --offsets` prints it."""
    out = java("org.apache.kafka.tools.consumer.group.ShareGroupCommand", "--bootstrap-server",
               cluster.bootstrap, "--describe", "--offsets", "--group", group)
    found = {}
    for line in out.splitlines():
        cols = line.split()
        if len(cols) >= 4 and cols[0] == group and cols[1] == topic and cols[2].isdigit():
            found[int(cols[2])] = int(cols[3])
    return found


def share_consume(cluster, group: str, topic: str, max_messages: int) -> list[str]:
    """Values a ConsoleShareConsumer of ``group`` prints (stops at ``max_messages`` or 15 s idle)."""
    out = java("org.apache.kafka.tools.consumer.ConsoleShareConsumer", "--bootstrap-server", cluster.bootstrap,
               "--topic", topic, "--group", group, "--max-messages", str(max_messages), "--timeout-ms", "15000")
    return re.findall(r"^(v\d+)$", out, re.M)


def earliest(cluster, group: str) -> None:
    out = java("org.apache.kafka.tools.ConfigCommand", "--bootstrap-server", cluster.bootstrap, "--alter",
               "--entity-type", "groups", "--entity-name", group, "--add-config", "share.auto.offset.reset=earliest")
    assert "Completed updating config" in out, out


def test_share_group_start_offsets_follow_the_promote(source, destination, topic_name):
    source.create_topic(topic_name, partitions=1)
    produce(source, topic_name, [Record(None, f"v{i}".encode()) for i in range(RECORDS)])
    group = f"share-{uuid.uuid4().hex[:8]}"
    earliest(source, group)
    seen = share_consume(source, group, topic_name, 20)
    assert seen and seen[0] == "v0", seen
    [start] = start_offsets(source, group, topic_name).values()
    assert 0 < start <= RECORDS, start

    cfg = link_config(source, destination, f"sh-{topic_name[-8:]}", names=[topic_name])
    with Linker(cfg) as linker:
        linker.wait(lambda: linker.acked(topic_name).get(0, 0) == RECORDS, why="mirrored")
        [r] = command(cfg, "promote", [topic_name])
    assert r.offsets == {0: RECORDS}
    # Before: no share-group state on the destination (its consumers started at `latest`).
    assert start_offsets(destination, group, topic_name) == {0: start}

    produce(destination, topic_name, [Record(None, f"v{i}".encode()) for i in range(RECORDS, RECORDS + 5)])
    rest = share_consume(destination, group, topic_name, RECORDS + 5 - start)
    # Continues at the source group's start offset: nothing acknowledged there comes back, nothing
    # after it is skipped (the group config `latest` would have skipped v{start}..v49).
    assert rest == [f"v{i}" for i in range(start, RECORDS + 5)], rest

    # The destination group went on (its start offset moved past the source's): a sync keeps it.
    ahead = RECORDS + 3
    out = java("org.apache.kafka.tools.consumer.group.ShareGroupCommand", "--bootstrap-server",
               destination.bootstrap, "--reset-offsets", "--group", group, "--topic", topic_name,
               "--to-offset", str(ahead), "--execute")
    assert start_offsets(destination, group, topic_name) == {0: ahead}, out

    async def sync():
        s, d = connect(cfg.source, "source"), connect(cfg.destination, "destination")
        try:
            return await sync_share_group(s, d, group, {topic_name})
        finally:
            await s.close()
            await d.close()
    result = asyncio.run(sync())
    assert result.kept == {(topic_name, 0): (start, ahead)} and not result.committed, result
    assert start_offsets(destination, group, topic_name) == {0: ahead}
