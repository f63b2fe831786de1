"""What the proxy remembers about clients, and what a failed cutover leaves held (issue 17.3, 17.6)."""
from __future__ import annotations

import time
import uuid

import pytest

from kproto import messages
from linker.proxy import ProxyConfig
from linker.proxy.cutover import Cutover, CutoverError

from conftest import upstream_of
from proxy_rawwire import RawConnection


def _find(c: RawConnection, keys: list[str]) -> None:
    F = messages.FindCoordinatorRequest
    c.request(F(key_type=0, coordinator_keys=keys), 4)


def test_only_names_the_broker_answered_an_authenticated_client_are_kept(destination, start_proxy, topic_name):
    """Before its first answer the client is not authenticated: a FindCoordinator of 1,000
    groups is forwarded but not remembered; afterwards a batch of 20 (an admin lookup) is not
    remembered either, one group is; Metadata remembers only topics that exist."""
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
