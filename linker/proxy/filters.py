"""Which filter of the request path looks at which API key: the classification table.

Every API key kproto knows is in `CLASSIFICATION`, once, in one of four classes:

- ALLOWED: forwarded as the client's bytes; its response relayed as the broker's.
  Nothing in it can change a mirror's data, metadata, ACLs or transaction state.
- REWRITTEN: forwarded unchanged; the response (or, for Metadata, the request too)
  is decoded by the address-rewrite / version-clamp filters.
- GUARDED: while a guard is active (mirrors, a link's internal topics, or cutover
  holds on the fronted cluster) the request is decoded by the write guard
  (guard.py `_HANDLERS`), refused resources are answered by the proxy and the rest
  forwarded.
- REFUSED: while a guard is active the proxy answers it with an error (or, when the
  response has no error field, closes the connection) and does not advertise it in
  ApiVersions: inter-broker and controller requests, and cluster-wide changes the
  guard cannot judge per topic.

API keys kproto does not know are refused the same way (a request the proxy cannot
decode cannot be judged): while a guard is active they are not advertised and a
request carrying one closes the connection, as a broker does.

This is an allowlist: adding an API key to kproto without classifying it here
fails tests/linker/proxy/test_classification.py.
"""
from __future__ import annotations

import enum

from kproto import ApiKey


class ApiClass(enum.Enum):
    ALLOWED = "allowed"
    REWRITTEN = "rewritten"
    GUARDED = "guarded"
    REFUSED = "refused"


A, W, G, X = ApiClass.ALLOWED, ApiClass.REWRITTEN, ApiClass.GUARDED, ApiClass.REFUSED

#: api key -> class (and, for the docs, why). Produce and Fetch responses are also
#: rewritten (KIP-951 endpoints); Produce's request is guarded, which decides.
CLASSIFICATION: dict[ApiKey, tuple[ApiClass, str]] = {
    ApiKey.PRODUCE: (G, "writes records; responses also rewritten (KIP-951)"),
    ApiKey.FETCH: (W, "read; KIP-951 endpoints rewritten in v16+"),
    ApiKey.LIST_OFFSETS: (A, "read"),
    ApiKey.METADATA: (W, "broker addresses rewritten; auto-creation of a protected name turned off"),
    ApiKey.LEADER_AND_ISR: (X, "inter-broker (ZooKeeper era)"),
    ApiKey.STOP_REPLICA: (X, "inter-broker (ZooKeeper era)"),
    ApiKey.UPDATE_METADATA: (X, "inter-broker (ZooKeeper era)"),
    ApiKey.CONTROLLED_SHUTDOWN: (X, "inter-broker (ZooKeeper era)"),
    ApiKey.OFFSET_COMMIT: (A, "group offsets; moved members handled by the session"),
    ApiKey.OFFSET_FETCH: (A, "read"),
    ApiKey.FIND_COORDINATOR: (W, "coordinator address rewritten"),
    ApiKey.JOIN_GROUP: (A, "group membership"),
    ApiKey.HEARTBEAT: (A, "group membership; moved members handled by the session"),
    ApiKey.LEAVE_GROUP: (A, "group membership"),
    ApiKey.SYNC_GROUP: (A, "group membership"),
    ApiKey.DESCRIBE_GROUPS: (A, "read"),
    ApiKey.LIST_GROUPS: (A, "read"),
    ApiKey.SASL_HANDSHAKE: (A, "authentication (v0 never advertised: unframed tokens)"),
    ApiKey.API_VERSIONS: (W, "versions clamped to kproto's; refused and unknown keys dropped; "
                                "a v5+ request's expected cluster dropped (KIP-1242)"),
    ApiKey.CREATE_TOPICS: (G, "a mirror's name (not created yet) or a link's topic refused"),
    ApiKey.DELETE_TOPICS: (G, "mirrors and link topics refused"),
    ApiKey.DELETE_RECORDS: (G, "mirrors and link topics refused"),
    ApiKey.INIT_PRODUCER_ID: (A, "allocates a producer id; writes nothing to a partition; ids noted for the switch"),
    ApiKey.OFFSET_FOR_LEADER_EPOCH: (A, "read"),
    ApiKey.ADD_PARTITIONS_TO_TXN: (G, "a mirror partition in a transaction refused: no marker can land in it"),
    ApiKey.ADD_OFFSETS_TO_TXN: (A, "adds __consumer_offsets only (held during a cutover hold for a producer refused a held partition)"),
    ApiKey.END_TXN: (A, "markers go only to partitions added by AddPartitionsToTxn or a Produce, both guarded "
                            "(held as AddOffsetsToTxn)"),
    ApiKey.WRITE_TXN_MARKERS: (X, "inter-broker: writes markers into any partition"),
    ApiKey.TXN_OFFSET_COMMIT: (A, "group offsets (held as AddOffsetsToTxn)"),
    ApiKey.DESCRIBE_ACLS: (A, "read"),
    ApiKey.CREATE_ACLS: (G, "ACLs that may apply to a protected topic refused (a DENY can stop the linker)"),
    ApiKey.DELETE_ACLS: (G, "filters that may match a protected topic refused (the lifecycle's DENY WRITE)"),
    ApiKey.DESCRIBE_CONFIGS: (A, "read"),
    ApiKey.ALTER_CONFIGS: (G, "protected topics and BROKER resources refused"),
    ApiKey.ALTER_REPLICA_LOG_DIRS: (G, "protected topics refused"),
    ApiKey.DESCRIBE_LOG_DIRS: (A, "read"),
    ApiKey.SASL_AUTHENTICATE: (A, "authentication"),
    ApiKey.CREATE_PARTITIONS: (G, "protected topics refused"),
    ApiKey.CREATE_DELEGATION_TOKEN: (A, "credentials; no topic state"),
    ApiKey.RENEW_DELEGATION_TOKEN: (A, "credentials; no topic state"),
    ApiKey.EXPIRE_DELEGATION_TOKEN: (A, "credentials; no topic state"),
    ApiKey.DESCRIBE_DELEGATION_TOKEN: (A, "read"),
    ApiKey.DELETE_GROUPS: (A, "groups"),
    ApiKey.ELECT_LEADERS: (G, "unclean elections of protected topics (or of all partitions) refused"),
    ApiKey.INCREMENTAL_ALTER_CONFIGS: (G, "protected topics and BROKER resources refused"),
    ApiKey.ALTER_PARTITION_REASSIGNMENTS: (G, "protected topics refused"),
    ApiKey.LIST_PARTITION_REASSIGNMENTS: (A, "read"),
    ApiKey.OFFSET_DELETE: (A, "group offsets"),
    ApiKey.DESCRIBE_CLIENT_QUOTAS: (A, "read"),
    ApiKey.ALTER_CLIENT_QUOTAS: (A, "throttling only; no topic state (a linked proxy refuses quotas on its linker)"),
    ApiKey.DESCRIBE_USER_SCRAM_CREDENTIALS: (A, "read"),
    ApiKey.ALTER_USER_SCRAM_CREDENTIALS: (A, "credentials; no topic state (a linked proxy refuses its linker's)"),
    ApiKey.VOTE: (X, "KRaft controller"),
    ApiKey.BEGIN_QUORUM_EPOCH: (X, "KRaft controller"),
    ApiKey.END_QUORUM_EPOCH: (X, "KRaft controller"),
    ApiKey.DESCRIBE_QUORUM: (A, "read"),
    ApiKey.ALTER_PARTITION: (X, "inter-broker: changes ISR"),
    ApiKey.UPDATE_FEATURES: (X, "cluster-wide feature levels (e.g. transaction.version)"),
    ApiKey.ENVELOPE: (X, "inter-broker forwarding"),
    ApiKey.FETCH_SNAPSHOT: (X, "KRaft controller"),
    ApiKey.DESCRIBE_CLUSTER: (W, "broker addresses rewritten"),
    ApiKey.DESCRIBE_PRODUCERS: (A, "read"),
    ApiKey.BROKER_REGISTRATION: (X, "KRaft controller"),
    ApiKey.BROKER_HEARTBEAT: (X, "KRaft controller"),
    ApiKey.UNREGISTER_BROKER: (X, "removes a broker from the cluster"),
    ApiKey.DESCRIBE_TRANSACTIONS: (A, "read"),
    ApiKey.LIST_TRANSACTIONS: (A, "read"),
    ApiKey.ALLOCATE_PRODUCER_IDS: (X, "KRaft controller"),
    ApiKey.CONSUMER_GROUP_HEARTBEAT: (A, "group membership; moved members handled by the session"),
    ApiKey.CONSUMER_GROUP_DESCRIBE: (A, "read"),
    ApiKey.CONTROLLER_REGISTRATION: (X, "KRaft controller"),
    ApiKey.GET_TELEMETRY_SUBSCRIPTIONS: (A, "client metrics"),
    ApiKey.PUSH_TELEMETRY: (A, "client metrics"),
    ApiKey.ASSIGN_REPLICAS_TO_DIRS: (X, "KRaft controller"),
    ApiKey.LIST_CONFIG_RESOURCES: (A, "read"),
    ApiKey.DESCRIBE_TOPIC_PARTITIONS: (A, "read"),
    ApiKey.SHARE_GROUP_HEARTBEAT: (A, "group membership"),
    ApiKey.SHARE_GROUP_DESCRIBE: (A, "read"),
    ApiKey.SHARE_FETCH: (W, "read; endpoints rewritten"),
    ApiKey.SHARE_ACKNOWLEDGE: (W, "share-group state; endpoints rewritten"),
    ApiKey.ADD_RAFT_VOTER: (X, "KRaft controller"),
    ApiKey.REMOVE_RAFT_VOTER: (X, "KRaft controller"),
    ApiKey.UPDATE_RAFT_VOTER: (X, "KRaft controller"),
    ApiKey.INITIALIZE_SHARE_GROUP_STATE: (X, "inter-broker share-group state"),
    ApiKey.READ_SHARE_GROUP_STATE: (X, "inter-broker share-group state"),
    ApiKey.WRITE_SHARE_GROUP_STATE: (X, "inter-broker share-group state"),
    ApiKey.DELETE_SHARE_GROUP_STATE: (X, "inter-broker share-group state"),
    ApiKey.READ_SHARE_GROUP_STATE_SUMMARY: (X, "inter-broker share-group state"),
    ApiKey.STREAMS_GROUP_HEARTBEAT: (A, "group membership"),
    ApiKey.STREAMS_GROUP_DESCRIBE: (A, "read"),
    ApiKey.DESCRIBE_SHARE_GROUP_OFFSETS: (A, "read"),
    ApiKey.ALTER_SHARE_GROUP_OFFSETS: (A, "share-group offsets"),
    ApiKey.DELETE_SHARE_GROUP_OFFSETS: (A, "share-group offsets"),
    ApiKey.STREAMS_GROUP_TOPOLOGY_DESCRIPTION_UPDATE: (A, "streams group metadata"),
    ApiKey.UNREGISTER_CONTROLLER: (X, "KRaft controller"),
}

_BY_INT: dict[int, ApiClass] = {int(k): c for k, (c, _) in CLASSIFICATION.items()}

#: Keys answered by the proxy (or cut off) while a guard is active. Unknown keys too.
REFUSED_WHILE_GUARDED = frozenset(k for k, c in _BY_INT.items() if c is ApiClass.REFUSED)


def class_of(api_key: int) -> ApiClass:
    """Unknown keys (not in kproto) are REFUSED: the proxy cannot judge what it cannot decode."""
    return _BY_INT.get(api_key, ApiClass.REFUSED)


def refused_while_guarded(api_key: int) -> bool:
    """One dict lookup; False for every key a client normally sends."""
    return _BY_INT.get(api_key, ApiClass.REFUSED) is ApiClass.REFUSED


def advertised(api_key: int, guard_active: bool) -> bool:
    """Whether ApiVersions lists this key to clients."""
    return not (guard_active and refused_while_guarded(api_key))
