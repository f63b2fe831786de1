"""What the proxy remembers about clients, and what a failed cutover leaves held (issue 17.3, 17.6)."""
from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import pytest

import kproto
from kafkabed.faults import FaultRelays
from kproto import messages
from kproto.errors import ErrorCode
from kproto.records.builder import build_batch
from linker.client import LATEST_TIMESTAMP, Client, ClientConfig
from linker.proxy import MirrorTopics, ProxyConfig, UpstreamConfig
from linker.proxy.cutover import Cutover, CutoverError

from conftest import upstream_of
from proxy_rawwire import RawConnection


def _find(c: RawConnection, keys: list[str]) -> None:
    F = messages.FindCoordinatorRequest
    c.request(F(key_type=0, coordinator_keys=keys), 4)


def test_only_names_the_broker_answered_are_kept(destination, start_proxy, topic_name):
    """FindCoordinator batches of 1,000 and 20 groups (admin lookups, or an attack) are
    forwarded but not remembered, one group is; Metadata remembers only topics that exist."""
    destination.create_topic(topic_name)
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(destination)))
    tag = uuid.uuid4().hex[:8]
    with RawConnection(proxy.bootstrap) as c:
        _find(c, [f"pre-{tag}-{i}" for i in range(1000)])
        M = messages.MetadataRequest
        c.request(M(topics=[M.MetadataRequestTopic(name=n) for n in (topic_name, f"nope-{tag}")],
                    allow_auto_topic_creation=False), 12)
        _find(c, [f"batch-{tag}-{i}" for i in range(20)])
        _find(c, [f"one-{tag}"])
    groups = proxy.sync(lambda: list(proxy.server.groups_seen))
    topics = proxy.sync(lambda: proxy.server.topics_used_within(60))
    assert [g for g in groups if tag in g] == [f"one-{tag}"]
    assert topic_name in topics and f"nope-{tag}" not in topics


def test_a_failed_rerun_keeps_the_hold_it_found(source, destination, start_proxy, topic_name):
    """A hold put by the state topic (a promotion that began) stays when a re-run of the
    cutover fails before the promotion step: a write let through would be lost."""
    source.create_topic(topic_name)
    destination.create_topic(topic_name)
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(source, "source")))
    proxy.sync(lambda: proxy.server.hold_writes([topic_name], "the state topic shows PROMOTING"))

    async def never(_ends):
        return False
    cutover = Cutover(proxy.server, upstream_of(source, "source"), upstream_of(destination, "destination"),
                      [topic_name], caught_up=never, catch_up_timeout=0.5)
    with pytest.raises(CutoverError):
        proxy.call(cutover.run())
    assert proxy.sync(lambda: dict(proxy.server.holds)) == {topic_name: "the state topic shows PROMOTING"}


# -- the produce drain of a cutover (issue 17.6) ------------------------------------------

def _produce_frame(topic: str, acks: int, records: bytes, corr: int = 1) -> bytes:
    P = messages.ProduceRequest
    body = P(acks=acks, timeout_ms=30000, topic_data=[P.TopicProduceData(name=topic, partition_data=[
        P.PartitionProduceData(index=0, records=records)])])
    return b"".join(bytes(c) for c in kproto.encode_request(body, 9, corr, "drain-test"))


async def _log_end(bootstrap: str, topic: str) -> int:
    client = Client(bootstrap, ClientConfig(client_id="drain-test"))
    await client.start()
    try:
        return (await client.offsets([(topic, 0)], LATEST_TIMESTAMP))[(topic, 0)]
    finally:
        await client.close()


def _authenticated(c: RawConnection) -> None:
    c.request(messages.MetadataRequest(topics=[]), 12)


@pytest.fixture
def slow_source(source):
    """A relay adding 1 s each way between the proxy and the source broker."""
    relays = FaultRelays("PLAINTEXT")
    port = relays.advertise(1, "PLAINTEXT", int(source.bootstrap.split(",")[0].rpartition(":")[2]))
    relays.set_latency(1.0)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        relays.close()


def test_a_trickling_produce_does_not_fail_the_drain(source, start_proxy, topic_name):
    """A client sends the first 2 KiB of a 64 KiB produce (relayed cut-through) and stops:
    the drain closes it after its grace instead of waiting for it, and nothing lands."""
    source.create_topic(topic_name)
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(source, "source")))
    frame = _produce_frame(topic_name, 1, build_batch([b"x" * 65536]))
    with RawConnection(proxy.bootstrap) as c:
        _authenticated(c)
        c.sock.sendall(frame[:2048])
        time.sleep(0.3)
        t0 = time.monotonic()
        epoch = proxy.sync(lambda: proxy.server.hold_writes([topic_name], "cutover"))
        proxy.call(proxy.server.wait_produce_drained(epoch, timeout=10))
        assert time.monotonic() - t0 < 5
        assert c.is_closed()
    assert proxy.call(_log_end(source.bootstrap, topic_name)) == 0


@pytest.mark.parametrize("acks, leave", [(1, True), (0, False), (0, True)])
def test_a_produce_counts_until_the_broker_can_no_longer_append_it(source, slow_source, start_proxy, topic_name,
                                                                  acks, leave):
    """1 s latency toward the broker. The client sends a produce (acks=1: answered; acks=0:
    never answered) and disconnects at once or stays. Either way the drain returns only once
    the broker appended it: the log end read right after the drain does not move later."""
    source.create_topic(topic_name)
    proxy = start_proxy(ProxyConfig(upstream=UpstreamConfig(name="source", bootstrap=slow_source)))
    with RawConnection(proxy.bootstrap) as c:
        _authenticated(c)
        c.sock.sendall(_produce_frame(topic_name, acks, build_batch([b"one"]), corr=2))
        time.sleep(0.1)
        if leave:
            c.close()
        epoch = proxy.sync(lambda: proxy.server.hold_writes([topic_name], "cutover"))
        proxy.call(proxy.server.wait_produce_drained(epoch, timeout=20))
        at_drain = proxy.call(_log_end(source.bootstrap, topic_name))
        time.sleep(2.5)
        assert proxy.call(_log_end(source.bootstrap, topic_name)) == at_drain == 1


def test_the_hold_is_released_after_the_registry_promoted_the_topic(source, destination, start_proxy, topic_name):
    """When the hold goes, the proxy (now fronting the destination) no longer refuses the
    topic as a mirror: a producer retrying at once gets through, not POLICY_VIOLATION."""
    source.create_topic(topic_name)
    destination.create_topic(topic_name)
    mirrors = MirrorTopics({topic_name: "link"})
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(source, "source")), mirrors, "destination")
    seen_at_release = []
    release = proxy.server.release_writes

    def watching(topics):
        seen_at_release.append(mirrors.mirror_link(topic_name))
        release(topics)
    proxy.server.release_writes = watching

    async def caught_up(_ends):
        return True
    proxy.call(Cutover(proxy.server, upstream_of(source, "source"), upstream_of(destination, "destination"),
                       [topic_name], caught_up=caught_up,
                       before_release=lambda: mirrors.promote(topic_name)).run())
    assert seen_at_release == [None]
    assert proxy.server.upstream.name == "destination" and not proxy.server.holds


def test_names_from_clients_that_never_authenticated_are_not_kept(authorizer_cluster, start_proxy):
    """On a SASL listener a client that skips SASL names a group and a topic: the broker
    answers neither (it drops the connection), so the proxy remembers neither."""
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(authorizer_cluster, listener="SASL_PLAINTEXT")))
    tag = uuid.uuid4().hex[:8]
    for body, version in ((messages.FindCoordinatorRequest(key_type=0, coordinator_keys=[f"unauth-{tag}"]), 4),
                          (messages.MetadataRequest(topics=[messages.MetadataRequest.MetadataRequestTopic(
                              name=f"unauth-{tag}")]), 12)):
        with RawConnection(proxy.bootstrap) as c:
            c.send(body, version)
            assert c.is_closed(wait=10)
    time.sleep(0.3)
    assert not [g for g in proxy.sync(lambda: list(proxy.server.groups_seen)) if tag in g]
    assert not [t for t in proxy.sync(lambda: list(proxy.server.topics_in_use)) if tag in t]


def test_a_cutover_never_rewinds_a_destination_group_offset(source, destination, start_proxy, topic_name):
    """A group already further on the destination (a second promote, consumers that moved
    first) keeps its offset; a group behind gets the source's, commit metadata included."""
    from kafkabed.producers import produce
    from linker.client import Admin, CommittedOffset
    from linker.proxy.cutover import _client
    for cluster in (source, destination):
        cluster.create_topic(topic_name)
        produce(cluster, topic_name, 20)
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(source, "source")))
    ahead, behind = f"ahead-{uuid.uuid4().hex[:6]}", f"behind-{uuid.uuid4().hex[:6]}"
    tp = (topic_name, 0)
    src_up, dst_up = upstream_of(source, "source"), upstream_of(destination, "destination")

    async def go():
        src, dst = _client(src_up), _client(dst_up)
        await src.start()
        await dst.start()
        try:
            await Admin(src).offset_commit(ahead, {tp: CommittedOffset(5, -1, "src-5")})
            await Admin(dst).offset_commit(ahead, {tp: CommittedOffset(15, -1, "dst-15")})
            await Admin(src).offset_commit(behind, {tp: CommittedOffset(12, -1, "src-12")})
            await Admin(dst).offset_commit(behind, {tp: CommittedOffset(3, -1, "dst-3")})
            for g in (ahead, behind):
                proxy.server.groups_seen[g] = time.monotonic()
            cutover = Cutover(proxy.server, src_up, dst_up, [topic_name])
            copied = await cutover._copy_offsets(src, dst)
            return copied, await Admin(dst).offset_fetch(ahead), await Admin(dst).offset_fetch(behind)
        finally:
            await src.close()
            await dst.close()
    copied, on_ahead, on_behind = proxy.call(go())
    assert (on_ahead[tp].offset, on_ahead[tp].metadata) == (15, "dst-15")
    assert (on_behind[tp].offset, on_behind[tp].metadata) == (12, "src-12")
    assert copied == {behind: {tp: 12}}


# -- the switch to the destination ---------------------------------------------------------

_COORDINATOR_NOT_READY = (ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.COORDINATOR_NOT_AVAILABLE,
                          ErrorCode.NOT_COORDINATOR)


def _heartbeat(c: RawConnection, group: str, member: str, epoch: int, topic: str) -> Any:
    H = messages.ConsumerGroupHeartbeatRequest
    return c.request(H(group_id=group, member_id=member, member_epoch=epoch, rebalance_timeout_ms=30000,
                       subscribed_topic_names=[topic], topic_partitions=[]), 1)


def _commit(c: RawConnection, group: str, member: str, epoch: int, topic: str) -> int:
    O = messages.OffsetCommitRequest
    response = c.request(O(group_id=group, member_id=member, generation_id_or_member_epoch=epoch, topics=[
        O.OffsetCommitRequestTopic(name=topic, partitions=[O.OffsetCommitRequestPartition(
            partition_index=0, committed_offset=0, committed_metadata="")])]), 9)
    return response.topics[0].partitions[0].error_code  # type: ignore[no-any-return]


def test_a_connection_to_the_old_cluster_is_judged_as_the_old_clusters_until_closed(
        source, destination, start_proxy, topic_name):
    """While the switch waits (here: for the new cluster's metadata, held back), a KIP-848
    member still connected to the source is a source member: its heartbeat and offset
    commit reach the source as sent. Once its connection is closed, it reconnects naming
    the source's cluster id (KIP-1242) without being told to rebootstrap, and its heartbeat
    to the destination is fenced (it rejoins there)."""
    source.create_topic(topic_name)
    proxy = start_proxy(ProxyConfig(upstream=upstream_of(source, "source")))
    group, member = f"switch-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:22]
    with RawConnection(proxy.bootstrap) as c:
        deadline = time.monotonic() + 30
        while True:   # the first group of a cluster creates its offsets topic
            _find(c, [group])
            joined = _heartbeat(c, group, member, 0, topic_name)
            if joined.error_code not in _COORDINATOR_NOT_READY or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert joined.error_code == ErrorCode.NONE and joined.member_epoch > 0
        epoch = joined.member_epoch
        source_id = c.request(messages.MetadataRequest(topics=[]), 12).cluster_id

        entered, release = threading.Event(), proxy.sync(asyncio.Event)
        real_admin = proxy.server.admin

        async def held_admin(upstream=None):
            if upstream is not None:
                entered.set()
                await release.wait()
            return await real_admin(upstream)
        proxy.server.admin = held_admin
        switch = asyncio.run_coroutine_threadsafe(
            proxy.server.switch_upstream(upstream_of(destination, "destination")), proxy.loop)
        try:
            assert entered.wait(30), "the switch never read the destination's metadata"
            assert _heartbeat(c, group, member, epoch, topic_name).error_code == ErrorCode.NONE
            assert _commit(c, group, member, epoch, topic_name) == ErrorCode.NONE
        finally:
            proxy.loop.call_soon_threadsafe(release.set)
            switch.result(30)
        assert c.is_closed()
    with RawConnection(proxy.bootstrap) as c:
        # a Java 4.4 client reconnecting names the cluster it knew (KIP-1242); behind the proxy
        # that is no misrouting, so the destination must not ask it to rebootstrap
        again = c.request(messages.ApiVersionsRequest(client_software_name="raw", client_software_version="1",
                                                      cluster_id=source_id, node_id=1), 5)
        assert again.error_code == ErrorCode.NONE
        assert _heartbeat(c, group, member, epoch, topic_name).error_code == ErrorCode.FENCED_MEMBER_EPOCH
