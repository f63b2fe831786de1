"""Plain values the typed calls take and return."""
from __future__ import annotations

import dataclasses
import enum
from typing import Any

TopicPartition = tuple[str, int]

EARLIEST_TIMESTAMP = -2
LATEST_TIMESTAMP = -1
MAX_TIMESTAMP = -3
# Not a Kafka timestamp: asks `Client.list_offsets` for the leader's log end
# offset (ListOffsets as replica -2) rather than the high watermark.
LOG_END = -100

READ_UNCOMMITTED = 0
READ_COMMITTED = 1


class ResourceType(enum.IntEnum):
    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5
    DELEGATION_TOKEN = 6
    USER = 7


class ConfigResourceType(enum.IntEnum):
    TOPIC = 2
    BROKER = 4
    BROKER_LOGGER = 8
    CLIENT_METRICS = 16
    GROUP = 32


class AlterConfigOp(enum.IntEnum):
    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


class PatternType(enum.IntEnum):
    UNKNOWN = 0
    ANY = 1
    MATCH = 2
    LITERAL = 3
    PREFIXED = 4


class AclOperation(enum.IntEnum):
    UNKNOWN = 0
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12
    CREATE_TOKENS = 13
    DESCRIBE_TOKENS = 14


class AclPermission(enum.IntEnum):
    UNKNOWN = 0
    ANY = 1
    DENY = 2
    ALLOW = 3


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class AclBinding:
    resource_type: ResourceType
    resource_name: str
    principal: str
    operation: AclOperation
    permission: AclPermission = AclPermission.ALLOW
    host: str = "*"
    pattern_type: PatternType = PatternType.LITERAL


@dataclasses.dataclass(frozen=True, slots=True)
class AclFilter:
    """None fields match anything."""

    resource_type: ResourceType = ResourceType.ANY
    resource_name: str | None = None
    principal: str | None = None
    operation: AclOperation = AclOperation.ANY
    permission: AclPermission = AclPermission.ANY
    host: str | None = None
    pattern_type: PatternType = PatternType.ANY


@dataclasses.dataclass(frozen=True, slots=True)
class NewTopic:
    name: str
    num_partitions: int = -1
    replication_factor: int = -1
    configs: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class OffsetAndEpoch:
    """ListOffsets result: offset, its record timestamp and leader epoch."""

    offset: int
    timestamp: int
    leader_epoch: int


@dataclasses.dataclass(frozen=True, slots=True)
class EpochEndOffset:
    leader_epoch: int
    end_offset: int


@dataclasses.dataclass(frozen=True, slots=True)
class ConfigEntry:
    name: str
    value: str | None
    read_only: bool
    source: int
    sensitive: bool


@dataclasses.dataclass(frozen=True, slots=True)
class CommittedOffset:
    offset: int
    leader_epoch: int
    metadata: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class GroupListing:
    group_id: str
    protocol_type: str
    state: str | None
    group_type: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class ClusterDescription:
    cluster_id: str
    controller_id: int
    brokers: tuple[Any, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class ProducerIdAndEpoch:
    """What InitProducerId hands out (and EndTxn v5+ bumps)."""

    producer_id: int
    producer_epoch: int


@dataclasses.dataclass(frozen=True, slots=True)
class ProducerState:
    """One active producer of a partition, as DescribeProducers reports it."""

    producer_id: int
    producer_epoch: int
    last_sequence: int
    last_timestamp: int
    coordinator_epoch: int
    current_txn_start_offset: int


@dataclasses.dataclass(frozen=True, slots=True)
class TransactionDescription:
    """A transactional id as its coordinator describes it (DescribeTransactions)."""

    transactional_id: str
    state: str                              # Empty, Ongoing, PrepareCommit, CompleteAbort, ...
    producer_id: int
    producer_epoch: int
    partitions: frozenset[TopicPartition]   # in the open transaction


#: SCRAM mechanisms by their DescribeUserScramCredentials number
SCRAM_MECHANISMS = {1: "SCRAM-SHA-256", 2: "SCRAM-SHA-512"}


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class ScramCredentialInfo:
    """A user's SCRAM credential as the broker describes it: mechanism and iterations, never
    the salt or the salted password (the protocol does not carry them)."""

    mechanism: str
    iterations: int


@dataclasses.dataclass(frozen=True, slots=True)
class ClientQuotaEntry:
    """One quota entity and its values. `entity` maps entity type (``user``, ``client-id``,
    ``ip``) to its name; None is the type's default entity (``<default>`` in Kafka's tools)."""

    entity: tuple[tuple[str, str | None], ...]
    values: dict[str, float]
