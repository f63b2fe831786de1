"""The request filter chain: one concern per filter, each declaring the API keys it sees.

The session looks up the chain of a request's api key once (`Chain.of`); an empty
chain (most keys, and every Fetch) forwards the client's bytes without decoding.
Otherwise the request is decoded once, each active filter sees it in order and
may change it (`ctx.changed`), add a completion for the response (`ctx.complete`),
answer it itself (`Answer`, a short-circuit: nothing is forwarded) or close the
connection (`Close`). Adding a rule is one filter (or one guard handler) and, for
a new api key, its row in filters.CLASSIFICATION.
"""
from __future__ import annotations

import dataclasses
import logging
import struct
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from kproto import ApiKey, messages
from kproto.errors import ErrorCode

from . import epochs
from .filters import CLASSIFICATION, ApiClass
from .guard import GUARDED_APIS, Guarded, guard_request
from .identity_guard import guard_quotas, guard_scram
from .rename import RENAMED_APIS, to_client, to_cluster
from .routing import merge_metadata

if TYPE_CHECKING:
    from .config import UpstreamConfig
    from .server import ProxyServer

log = logging.getLogger("linker.proxy")

#: FindCoordinator key type of a consumer group (1 is a transactional id).
_GROUP_KEY_TYPE = 0
#: A FindCoordinator naming more groups is an admin lookup, not a consumer: not remembered
#: (consumers ask for their one group; 10**6 keys must not fill the proxy, issue 17.6).
MAX_GROUP_KEYS_NOTED = 8


@dataclasses.dataclass
class Answer:
    """A short-circuit: the proxy answers with `body`; nothing goes to the broker."""

    body: Any


@dataclasses.dataclass
class Close:
    """The request cannot be served: close the client's connection (as a broker would)."""

    reason: str


class RequestContext:
    """One decoded request as the filters see it."""

    __slots__ = ("api_key", "version", "corr", "header", "body", "peer", "changed", "completions", "patch",
                 "cluster")

    def __init__(self, api_key: int, version: int, corr: int, header: Any, body: Any, peer: str,
                 cluster: "UpstreamConfig | None" = None) -> None:
        self.api_key = api_key
        self.version = version
        self.corr = corr
        self.header = header
        #: the cluster this connection leads to (a split proxy has two: routing.py)
        self.cluster = cluster
        self.body = body
        self.peer = peer
        self.changed = False                 # re-encode the body before forwarding
        #: applied to the broker's response, in order; each returns the new response, or
        #: None when it only looked at it (an observer)
        self.completions: list[Callable[[Any], Any]] = []
        #: makes, from the response version, a patcher of the response's bytes as they pass
        #: (length-preserving: the response is still relayed as it arrives)
        self.patch: Callable[[int], Any] | None = None

    def complete(self, fn: Callable[[Any], Any]) -> None:
        self.changed = True
        self.completions.append(fn)

    def rewrite_response(self, fn: Callable[[Any], Any]) -> None:
        """Call `fn` with the broker's response; it returns the response it changed, or None
        (this request's bytes are forwarded unchanged unless `changed` is set)."""
        self.completions.append(fn)

    def patch_stream(self, factory: Callable[[int], Any]) -> None:
        """Patch the response's bytes as they are relayed: `factory(version)` returns an object
        with feed(writable view) -> buffers to send and close() -> buffers (epochs.FetchEpochPatcher)."""
        self.patch = factory

    def observe(self, fn: Callable[[Any], None]) -> None:
        """Call `fn` with the broker's response (this request's bytes are forwarded unchanged).
        What clients name is remembered this way: a broker answers nothing but ApiVersions and
        SASL before a client authenticated, so names from unauthenticated clients never get
        here (issue 17.3)."""
        self.completions.append(fn)


class Filter:
    """A request filter. `api_keys` are the keys it sees; `decodes` False means it judges
    on api key and version alone (the body is then not decoded for it)."""

    api_keys: frozenset[int] = frozenset()
    decodes = True

    def active(self, server: "ProxyServer") -> bool:
        return True

    def on_request(self, server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        raise NotImplementedError


class ApiVersionsFilter(Filter):
    """An ApiVersions request newer than kproto: UNSUPPORTED_VERSION listing kproto's range
    (the protocol's own fallback; the client retries lower)."""

    api_keys = frozenset({ApiKey.API_VERSIONS})
    decodes = False

    def active(self, server: "ProxyServer") -> bool:
        return True

    def on_request(self, server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        lo, hi = messages.ApiVersionsRequest.VALID_VERSIONS
        if ctx.version <= hi:
            return None
        R = messages.ApiVersionsResponse
        ctx.version = 0
        return Answer(R(error_code=ErrorCode.UNSUPPORTED_VERSION,
                        api_keys=[R.ApiVersion(api_key=ApiKey.API_VERSIONS, min_version=lo, max_version=hi)]))


class ClusterCheckFilter(Filter):
    """KIP-1242 (ApiVersions v5+): a client names the cluster and node it expects, and a
    broker of another cluster answers REBOOTSTRAP_REQUIRED. Behind the proxy that cluster
    id is the one the proxy showed, and a switch changes it under the same addresses: the
    proxy routes each listener to its node itself, so it drops the expectation (the broker
    then skips the check, as for a client that has not learnt a cluster id yet). Told to
    rebootstrap, a Java 4.4 client disconnects every node inside its receive loop and fails
    on a response drained in the same poll ("There are no in-flight requests for node")."""

    api_keys = frozenset({ApiKey.API_VERSIONS})

    def on_request(self, server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        if ctx.version >= 5 and ctx.body.cluster_id is not None:
            ctx.body.cluster_id, ctx.body.node_id = None, -1
            ctx.changed = True
        return None


class PlainInClearFilter(Filter):
    """SASL PLAIN on a plaintext client listener: the password would cross in clear (issue 17.8).
    Answered UNSUPPORTED_SASL_MECHANISM unless the config allows it; SCRAM passes."""

    api_keys = frozenset({ApiKey.SASL_HANDSHAKE})

    def active(self, server: "ProxyServer") -> bool:
        cfg = server.config
        return cfg.listen_tls is None and not cfg.allow_sasl_plain_over_plaintext

    def on_request(self, server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        if str(ctx.body.mechanism).upper() != "PLAIN":
            return None
        return Answer(messages.SaslHandshakeResponse(error_code=ErrorCode.UNSUPPORTED_SASL_MECHANISM,
                                                     mechanisms=[]))


class RefuseFilter(Filter):
    """REFUSED and unknown keys while a guard is active: POLICY_VIOLATION when the response has
    a top-level error code, else the connection is closed."""

    api_keys = frozenset(k for k, (c, _) in CLASSIFICATION.items() if c is ApiClass.REFUSED)
    decodes = False

    def active(self, server: "ProxyServer") -> bool:
        return server.guard_active()

    def on_request(self, server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        key, version = ctx.api_key, ctx.version
        name = ApiKey(key).name if key in ApiKey._value2member_map_ else f"api key {key}"
        try:
            cls = messages.by_key(key, False)
        except KeyError:
            cls = None
        valid = cls.VALID_VERSIONS if cls is not None else None  # None: removed from Kafka (LeaderAndIsr, ...)
        fields = set() if valid is None or not valid[0] <= version <= valid[1] else {
            f.attr for f in cls.DEFINITION.fields if f.v.lo <= version and (f.v.hi is None or version <= f.v.hi)}
        if "error_code" not in fields:
            return Close(f"{name} v{version} is not forwarded while mirrors are guarded")
        body = cls(error_code=ErrorCode.POLICY_VIOLATION)  # type: ignore[misc]
        if "error_message" in fields:
            body.error_message = "the proxy does not forward this request while mirrors are guarded"
        log.info("client %s: %s v%d refused (not forwarded while mirrors are guarded)", ctx.peer, name, version)
        return Answer(body)


class GuardFilter(Filter):
    """Writes and changes to protected topics (guard.py has one handler per api key)."""

    api_keys = GUARDED_APIS

    def active(self, server: "ProxyServer") -> bool:
        return server.guard_active()

    def on_request(self, server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        cluster = ctx.cluster
        refusal_of = server.refusal_of if cluster is None else server.refusals_on(cluster)
        if (ctx.api_key == ApiKey.PRODUCE and server.txn_draining and ctx.body.transactional_id is not None
                and produce_producer_id(ctx.body) in server.txn_draining):
            # a transaction open at the hold finishes (TxnHoldFilter)
            refusal_of = lambda topic: server.mirror_refusal_of(topic, cluster)  # noqa: E731
        return _apply(ctx, guard_request(ctx.api_key, ctx.version, ctx.body, refusal_of, server.topic_name_of,
                                         lambda: server.protected_names(cluster)))


class LinkerIdentityFilter(Filter):
    """The linker's SCRAM credentials and client quotas (identity_guard.py): a client of a
    linked proxy can neither lock the linker out nor throttle it."""

    api_keys = frozenset({ApiKey.ALTER_USER_SCRAM_CREDENTIALS, ApiKey.ALTER_CLIENT_QUOTAS})

    def active(self, server: "ProxyServer") -> bool:
        return bool(server.config.linker_identity)

    def on_request(self, server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        identity = server.config.linker_identity
        guard = guard_scram if ctx.api_key == ApiKey.ALTER_USER_SCRAM_CREDENTIALS else guard_quotas
        return _apply(ctx, guard(ctx.body, identity))


def _apply(ctx: RequestContext, guarded: Guarded | None) -> Answer | None:
    """A guard's verdict on the request: answered here when nothing is left to forward, else
    the rest forwarded and the refused resources added to the broker's response."""
    if guarded is None:
        return None
    log.info("client %s: %s v%d refused for %s", ctx.peer, ApiKey(ctx.api_key).name, ctx.version,
             ", ".join(guarded.refused))
    if guarded.forward is None:
        return Answer(guarded.complete(None))
    ctx.body = guarded.forward
    ctx.complete(guarded.complete)
    return None


_PRODUCER_ID = struct.Struct(">q")
#: In a v2 record batch: the magic byte, and the producer id (after base offset, length,
#: leader epoch, magic, crc, attributes, last offset delta and two timestamps).
_MAGIC_AT, _PRODUCER_ID_AT = 16, 43


def produce_producer_id(body: Any) -> int | None:
    """The producer id of a Produce request's first batch (one producer writes them all)."""
    for topic in body.topic_data:
        for p in topic.partition_data:
            records = p.records
            if records is not None and len(records) >= _PRODUCER_ID_AT + 8 and records[_MAGIC_AT] >= 2:
                return int(_PRODUCER_ID.unpack_from(records, _PRODUCER_ID_AT)[0])
    return None


class TxnHoldFilter(Filter):
    """Transactions and cutover holds (issue 17.6). Remembers which topics each open transaction
    added (answered AddPartitionsToTxn) until its EndTxn is answered. While writes are held, a
    transaction that was open on held topics at the hold (`server.txn_draining`: the cutover
    names them) may finish — its produces pass the hold and its EndTxn goes through, so its
    markers land before the cutover reads the source log ends. Any other transaction asking to
    add a held partition gets CONCURRENT_TRANSACTIONS (retriable), and that producer's
    AddOffsetsToTxn, TxnOffsetCommit and EndTxn are held the same way until the hold ends."""

    api_keys = frozenset({ApiKey.ADD_PARTITIONS_TO_TXN, ApiKey.ADD_OFFSETS_TO_TXN, ApiKey.END_TXN,
                          ApiKey.TXN_OFFSET_COMMIT})

    def on_request(self, server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        key, body = ctx.api_key, ctx.body
        if key == ApiKey.ADD_PARTITIONS_TO_TXN:
            return self._add_partitions(server, ctx)
        held = bool(server.holds) and body.producer_id in server.txn_held
        if key == ApiKey.END_TXN:
            if held:
                return Answer(messages.EndTxnResponse(error_code=ErrorCode.CONCURRENT_TRANSACTIONS))
            pid = body.producer_id
            ctx.observe(lambda r: server.note_txn_ended(pid) if not r.error_code else None)
            return None
        if not held:
            return None
        if key == ApiKey.ADD_OFFSETS_TO_TXN:
            return Answer(messages.AddOffsetsToTxnResponse(error_code=ErrorCode.CONCURRENT_TRANSACTIONS))
        R = messages.TxnOffsetCommitResponse
        return Answer(R(topics=[R.TxnOffsetCommitResponseTopic(name=t.name, partitions=[
            R.TxnOffsetCommitResponsePartition(partition_index=p.partition_index,
                                               error_code=ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
            for p in t.partitions]) for t in body.topics]))

    @staticmethod
    def _add_partitions(server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        body, version = ctx.body, ctx.version
        txns = ([(body.v3_and_below_transactional_id, body.v3_and_below_producer_id, body.v3_and_below_topics)]
                if version <= 3 else [(t.transactional_id, t.producer_id, t.topics) for t in body.transactions
                                      if not t.verify_only])
        R = messages.AddPartitionsToTxnResponse
        held: dict[str, list[Any]] = {}
        if server.holds:
            for txn, pid, topics in txns:
                if pid not in server.txn_draining and any(t.name in server.holds for t in topics):
                    server.txn_held.add(pid)
                    held[txn] = [R.AddPartitionsToTxnTopicResult(name=t.name, results_by_partition=[
                        R.AddPartitionsToTxnPartitionResult(
                            partition_index=p, partition_error_code=ErrorCode.CONCURRENT_TRANSACTIONS)
                        for p in t.partitions]) for t in topics]
        added = [(txn, pid, [t.name for t in topics]) for txn, pid, topics in txns if txn not in held]

        def note(response: Any) -> None:
            results = ({body.v3_and_below_transactional_id: response.results_by_topic_v3_and_below}
                       if version <= 3 else {r.transactional_id: r.topic_results
                                             for r in response.results_by_transaction})
            for txn, pid, _ in added:
                ok = [t.name for t in results.get(txn, ())
                      if all(not p.partition_error_code for p in t.results_by_partition)]
                if ok:
                    server.note_txn_partitions(pid, txn, ok)
        if not held:
            ctx.observe(note)
            return None
        log.info("client %s: AddPartitionsToTxn of %d transaction(s) held (writes held for a cutover)",
                 ctx.peer, len(held))
        if version <= 3:
            return Answer(R(results_by_topic_v3_and_below=held[body.v3_and_below_transactional_id]))
        body.transactions = [t for t in body.transactions if t.transactional_id not in held]

        def complete(response: Any) -> Any:
            response = response if response is not None else R()
            note(response)
            response.results_by_transaction += [R.AddPartitionsToTxnResult(transactional_id=txn, topic_results=res)
                                                for txn, res in held.items()]
            return response
        if not body.transactions:
            return Answer(complete(None))
        ctx.complete(complete)
        return None


class TopicUsageFilter(Filter):
    """Metadata requests: the topics clients use (so a cutover does not strand them), and no
    auto-creation of a protected name (a mirror the engine has not created yet, a link's topic)."""

    api_keys = frozenset({ApiKey.METADATA})

    def on_request(self, server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        body = ctx.body
        if not body.topics:
            return None
        names = [t.name for t in body.topics if t.name]
        asked = frozenset(names)
        # remembered from the broker's answer: topics that exist and this client may see
        ctx.observe(lambda r: server.note_topics(t.name for t in r.topics if not t.error_code and t.name in asked))
        if getattr(body, "allow_auto_topic_creation", False) and server.guard_active():
            protected = [n for n in names if (why := server.refusal_of(n)) is not None and not why.hold]
            if protected:
                log.info("client %s: Metadata auto-creation turned off (it names %s)", ctx.peer,
                         ", ".join(protected))
                body.allow_auto_topic_creation = False
                ctx.changed = True
        return None


class GroupUsageFilter(Filter):
    """FindCoordinator: the consumer groups clients use (drained and copied at cutover)."""

    api_keys = frozenset({ApiKey.FIND_COORDINATOR})

    def on_request(self, server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        body = ctx.body
        if body.key_type != _GROUP_KEY_TYPE:
            return None
        keys = body.coordinator_keys if body.coordinator_keys else [body.key]
        if 0 < len(keys) <= MAX_GROUP_KEYS_NOTED:
            ctx.observe(lambda r: server.note_groups(_found_groups(r, keys)))
        return None


def _found_groups(response: Any, keys: list[str]) -> list[str]:
    """The groups whose coordinator the broker found (v4+ answers per key)."""
    if response.coordinators:
        return [c.key for c in response.coordinators if not c.error_code and c.key in keys]
    return [k for k in keys if k] if not response.error_code else []


class MemberMoveFilter(Filter):
    """Group members from before a switch. A member of the source group is unknown to the
    destination, where the group is still empty: its heartbeat is answered
    REBALANCE_IN_PROGRESS (it rejoins, keeping its assignment meanwhile) and its offset
    commit is sent as a standalone commit, so neither surfaces UNKNOWN_MEMBER_ID. A KIP-848
    member gets FENCED_MEMBER_EPOCH (it rejoins with epoch 0, which converts the empty
    classic group made by the offset copy)."""

    api_keys = frozenset({ApiKey.HEARTBEAT, ApiKey.SYNC_GROUP, ApiKey.OFFSET_COMMIT,
                          ApiKey.CONSUMER_GROUP_HEARTBEAT})

    def on_request(self, server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        body, api_key = ctx.body, ctx.api_key
        if api_key == ApiKey.CONSUMER_GROUP_HEARTBEAT:
            return self._consumer_heartbeat(server, ctx)
        generation = (body.generation_id_or_member_epoch if api_key == ApiKey.OFFSET_COMMIT
                      else body.generation_id)
        moved = server.is_moved_member(body.group_id, body.member_id, generation) or (
            api_key == ApiKey.OFFSET_COMMIT and generation > 0
            and server.is_moved_consumer_member(body.group_id, body.member_id))
        if api_key == ApiKey.SYNC_GROUP or not moved:
            group, member = body.group_id, body.member_id
            if member and generation >= 0:   # a member (a standalone commit has nothing to note)
                ctx.observe(lambda _: server.note_member(group, member, generation))
            return None
        if api_key == ApiKey.HEARTBEAT:
            return Answer(messages.HeartbeatResponse(error_code=ErrorCode.REBALANCE_IN_PROGRESS))
        body.generation_id_or_member_epoch = -1
        body.member_id = ""
        if ctx.version >= 7:
            body.group_instance_id = None
        log.info("client %s: offset commit of group %r by a member from before the switch sent "
                 "as a standalone commit", ctx.peer, body.group_id)
        ctx.changed = True
        return None

    @staticmethod
    def _consumer_heartbeat(server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        body = ctx.body
        group, member, epoch = body.group_id, body.member_id, body.member_epoch
        if server.is_moved_consumer_member(group, member):
            if epoch > 0:
                log.info("client %s: heartbeat of group %r member %s from before the switch answered "
                         "FENCED_MEMBER_EPOCH (it rejoins)", ctx.peer, group, member)
                return Answer(messages.ConsumerGroupHeartbeatResponse(
                    error_code=ErrorCode.FENCED_MEMBER_EPOCH, member_id=member, member_epoch=epoch,
                    error_message="the proxy moved this member to another cluster; rejoin"))
            server.forget_moved_consumer_member(group, member)   # it rejoins (0) or leaves (< 0)
        if epoch >= 0:
            ctx.observe(lambda _: server.note_consumer_member(group, member))
        return None


class ProducerIdRouteFilter(Filter):
    """A split proxy (routing.py): idempotent producer ids come from the source, whichever
    broker a client asks. A producer may write topics of both clusters with one id, and the
    destination's allocation was moved clear of the source's ids at promote (docs/lifecycle.md,
    "Producer ids after promote/failover"), not the other way round. The proxy answers an
    InitProducerId reaching a destination broker from a small pool it gets from the source
    (COORDINATOR_LOAD_IN_PROGRESS, retriable, while the pool is refilled). Transactional ids
    are coordinated by the source (GroupRouteFilter), so theirs reach the source already."""

    api_keys = frozenset({ApiKey.INIT_PRODUCER_ID})

    def active(self, server: "ProxyServer") -> bool:
        return server.split is not None

    def on_request(self, server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        split, here = server.split, ctx.cluster or server.upstream
        if split is None or here.name == split.default.name or ctx.body.transactional_id is not None:
            return None
        got = server.source_producer_id()
        R = messages.InitProducerIdResponse
        if got is None:
            return Answer(R(error_code=ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, producer_id=-1, producer_epoch=-1))
        server.note_producer_id(split.default.name, got[0])
        return Answer(R(error_code=ErrorCode.NONE, producer_id=got[0], producer_epoch=got[1]))


class ProducerIdUsageFilter(Filter):
    """InitProducerId: the producer ids clients got from the fronted cluster. After a switch those
    producers go on writing with them on the other cluster, whose own allocation must then stay
    clear of them (docs/lifecycle.md, "Producer ids after promote/failover")."""

    api_keys = frozenset({ApiKey.INIT_PRODUCER_ID})

    def on_request(self, server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        cluster = (ctx.cluster or server.upstream).name

        def seen(response: Any) -> None:
            if not response.error_code and response.producer_id >= 0:
                server.note_producer_id(cluster, response.producer_id)
        ctx.observe(seen)
        return None


class EpochShiftFilter(Filter):
    """Leader epochs of a fronted cluster shown shifted (`UpstreamConfig.epoch_shift`, a link's
    destination): lowered in requests, raised in responses, so a client moved from a source
    with high epochs never sees them go backwards (no stale metadata, no truncation detected,
    no reset: issue 21, finding 7). Produce responses are raised by the session (a Produce is
    not decoded for this)."""

    api_keys = (epochs.REQUEST_KEYS | epochs.RESPONSE_KEYS) - {ApiKey.PRODUCE}

    def active(self, server: "ProxyServer") -> bool:
        return server.upstream.epoch_shift > 0 or server.split is not None

    def on_request(self, server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        shift, key = (ctx.cluster or server.upstream).epoch_shift, ctx.api_key
        if not shift:
            return None
        if key in epochs.REQUEST_KEYS and epochs.lower_request(key, ctx.body, shift, server.leader_epoch_of):
            ctx.changed = True
        if key == ApiKey.FETCH:   # every epoch in it is an int32 in place: raised as it passes
            ctx.patch_stream(lambda version: epochs.FetchEpochPatcher(version, shift))
        elif key in epochs.RESPONSE_KEYS:
            def raised(response: Any) -> Any:
                if key == ApiKey.METADATA:
                    server.note_leader_epochs(epochs.leader_epochs(response))
                return response if epochs.raise_response(key, response, shift) else None
            ctx.rewrite_response(raised)
        return None


class MetadataMergeFilter(Filter):
    """A split proxy (routing.py): every Metadata answer shows both clusters' brokers and each
    topic as the cluster serving it describes it. After the epoch shift (its completion raised
    the answering cluster's epochs; the merged-in topics come with their own)."""

    api_keys = frozenset({ApiKey.METADATA})

    def active(self, server: "ProxyServer") -> bool:
        return server.split is not None

    def on_request(self, server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        all_topics = ctx.body.topics is None or (ctx.version == 0 and not ctx.body.topics)
        cluster = ctx.cluster or server.upstream
        split = server.split
        if (split is not None and getattr(ctx.body, "allow_auto_topic_creation", False) and not all_topics
                and any(t.name and split.serves(t.name).name != cluster.name for t in ctx.body.topics)):
            ctx.body.allow_auto_topic_creation = False   # the other cluster serves (or creates) it
            ctx.changed = True

        def merged(response: Any) -> Any:
            split = server.split
            if split is None:
                return None
            merge_metadata(response, cluster, split, server.views(), all_topics, server.address_of)
            return response
        ctx.rewrite_response(merged)
        return None


#: Requests a group coordinator serves, with how to answer "not the coordinator" for each.
_NOT_COORDINATOR_ANSWERS: dict[int, Callable[[Any], Any]] = {
    ApiKey.HEARTBEAT: lambda b: messages.HeartbeatResponse(error_code=ErrorCode.NOT_COORDINATOR),
    ApiKey.JOIN_GROUP: lambda b: messages.JoinGroupResponse(error_code=ErrorCode.NOT_COORDINATOR,
                                                            generation_id=-1, member_id=b.member_id or ""),
    ApiKey.SYNC_GROUP: lambda b: messages.SyncGroupResponse(error_code=ErrorCode.NOT_COORDINATOR),
    ApiKey.LEAVE_GROUP: lambda b: messages.LeaveGroupResponse(error_code=ErrorCode.NOT_COORDINATOR),
    ApiKey.CONSUMER_GROUP_HEARTBEAT: lambda b: messages.ConsumerGroupHeartbeatResponse(
        error_code=ErrorCode.NOT_COORDINATOR, member_id=b.member_id, member_epoch=b.member_epoch),
    ApiKey.OFFSET_COMMIT: lambda b: messages.OffsetCommitResponse(topics=[
        messages.OffsetCommitResponse.OffsetCommitResponseTopic(name=t.name, partitions=[
            messages.OffsetCommitResponse.OffsetCommitResponsePartition(
                partition_index=p.partition_index, error_code=ErrorCode.NOT_COORDINATOR)
            for p in t.partitions]) for t in b.topics]),
}


class GroupRouteFilter(Filter):
    """A split proxy (routing.py): each consumer group has one coordinator cluster — the
    destination for groups a per-topic cutover moved, the source for the others. FindCoordinator
    reaching the other cluster's broker is answered by the proxy with the right cluster's
    coordinator (looked up in the background: COORDINATOR_NOT_AVAILABLE, retriable, until
    known); a group request reaching the wrong cluster gets NOT_COORDINATOR (the client looks
    its coordinator up again). Transactional ids stay with the source (docs/proxy.md)."""

    api_keys = frozenset({ApiKey.FIND_COORDINATOR, *_NOT_COORDINATOR_ANSWERS})

    def active(self, server: "ProxyServer") -> bool:
        return server.split is not None

    def on_request(self, server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        split, body, here = server.split, ctx.body, ctx.cluster or server.upstream
        if split is None:
            return None
        if ctx.api_key != ApiKey.FIND_COORDINATOR:
            if split.group_cluster(body.group_id).name == here.name:
                return None
            return Answer(_NOT_COORDINATOR_ANSWERS[ctx.api_key](body))
        keys = body.coordinator_keys if body.coordinator_keys else [body.key]
        group = body.key_type == _GROUP_KEY_TYPE

        def cluster_of(key: str) -> "UpstreamConfig":
            return split.group_cluster(key) if group else split.default   # transactions: the source
        if all(cluster_of(k).name == here.name for k in keys):
            return None
        if len(keys) > MAX_GROUP_KEYS_NOTED:
            return Answer(_coordinators(ctx, {}))
        found = {k: server.coordinator_seen(cluster_of(k), k, body.key_type) for k in keys}
        return Answer(_coordinators(ctx, found, server))


def _coordinators(ctx: RequestContext, found: dict[str, int | None],
                  server: "ProxyServer | None" = None) -> Any:
    """A FindCoordinator answer for `found` (key -> node id as clients see it, None: not known
    yet, answered COORDINATOR_NOT_AVAILABLE)."""
    R = messages.FindCoordinatorResponse
    body = ctx.body
    keys = body.coordinator_keys if body.coordinator_keys else [body.key]

    def entry(key: str) -> tuple[int, int, str, int]:
        node = found.get(key)
        address = server.broker_address(node) if (server is not None and node is not None) else None
        if node is None or address is None:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE, -1, "", -1
        host, port = server.address_of(node, *address)   # type: ignore[union-attr]
        return ErrorCode.NONE, node, host, port
    if ctx.version <= 3:
        code, node, host, port = entry(keys[0])
        return R(error_code=code, node_id=node, host=host, port=port)
    out = []
    for k in keys:
        code, node, host, port = entry(k)
        out.append(R.Coordinator(key=k, node_id=node, host=host, port=port, error_code=code))
    return R(coordinators=out)


class TopicRenameFilter(Filter):
    """A cluster that names the link's topics with a prefix (`UpstreamConfig.topic_prefix`, a
    `topics.prefix` link's destination): requests renamed last (every other filter judged the
    client's names), answers renamed back first (rename.py)."""

    api_keys = RENAMED_APIS

    def active(self, server: "ProxyServer") -> bool:
        return server.renames()

    def on_request(self, server: "ProxyServer", ctx: RequestContext) -> "Answer | Close | None":
        prefix = (ctx.cluster or server.upstream).topic_prefix
        if not prefix or (ctx.api_key == ApiKey.FETCH and ctx.version >= 13):   # Fetch v13+: topic ids
            return None
        key = ctx.api_key
        to_cluster(key, ctx.body, prefix)
        ctx.changed = True

        def back(response: Any) -> Any:
            to_client(key, response, prefix)
            return response
        ctx.completions.insert(0, back)
        return None


#: The chain, in order. Refusals first (nothing else needs to see a refused request).
DEFAULT_FILTERS: tuple[Filter, ...] = (
    RefuseFilter(), ApiVersionsFilter(), ClusterCheckFilter(), PlainInClearFilter(), GuardFilter(),
    LinkerIdentityFilter(), TxnHoldFilter(), GroupRouteFilter(), TopicUsageFilter(), GroupUsageFilter(),
    MemberMoveFilter(), ProducerIdRouteFilter(), ProducerIdUsageFilter(), EpochShiftFilter(),
    MetadataMergeFilter(), TopicRenameFilter())


class Chain:
    """api key -> the filters that see it. Every key kproto knows has an entry (most empty);
    unknown keys get the refusal filter alone."""

    def __init__(self, filters: Iterable[Filter] = DEFAULT_FILTERS) -> None:
        self.filters = tuple(filters)
        self._by_key: dict[int, tuple[Filter, ...]] = {
            int(k): tuple(f for f in self.filters if k in f.api_keys) for k in ApiKey}
        self._unknown = tuple(f for f in self.filters if isinstance(f, RefuseFilter))

    def of(self, api_key: int) -> tuple[Filter, ...]:
        """One dict lookup; empty for a key no filter sees."""
        by = self._by_key.get(api_key)
        return self._unknown if by is None else by

    def decoded_keys(self) -> frozenset[int]:
        """Keys some filter decodes (a large request of these is collected whole, not relayed)."""
        return frozenset(k for k, fs in self._by_key.items() if any(f.decodes for f in fs))
