"""linker.client: the only code that builds and sends Kafka requests.

`core.Client` is the routing core (connections, metadata, leader routing,
retries, produce/fetch, fetch sessions, offsets); `admin.Admin` composes over
a client for topics, configs, records deletion, groups and offsets, ACLs,
producers and transactions. Imports only kproto and the standard library
(uvloop if installed); never the rest of linker, never kafkabed.
"""
from .admin import Admin
from .cluster import Cluster
from .config import (ClientConfig, SaslCredentials, SecurityConfig, SecurityProtocol, TlsSettings,
                     parse_bootstrap)
from .connection import BrokerConnection
from .core import Client
from .errors import (STALE_METADATA_CODES, AuthenticationError, AuthorizationError, ClientClosed,
                     ClientError, ConnectFailed, ConnectionLost, KafkaError, MetadataUnavailable,
                     ProtocolError, RequestTimedOut, TlsError, UnsupportedVersion)
from .event_loop import new_event_loop, run
from .gate import WriteFenced, WriteGate
from .group import GroupClient, JoinResult
from .fetch_session import FetchPosition, FetchResult, FetchSession
from .metadata import BrokerInfo, ClusterSnapshot, PartitionInfo, TopicInfo
from .types import (EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, LOG_END, MAX_TIMESTAMP, READ_COMMITTED,
                    READ_UNCOMMITTED, AclBinding, AclFilter, AclOperation, AclPermission,
                    AlterConfigOp, ClientQuotaEntry, CommittedOffset, ConfigResourceType, NewTopic, PatternType,
                    ProducerIdAndEpoch, ProducerState, ResourceType, ScramCredentialInfo, TopicPartition,
                    TransactionDescription)

__all__ = [
    "AclBinding", "AclFilter", "AclOperation", "AclPermission", "Admin", "AlterConfigOp",
    "AuthenticationError", "AuthorizationError", "BrokerConnection", "BrokerInfo", "Client",
    "ClientClosed", "ClientConfig", "ClientError", "ClientQuotaEntry", "Cluster", "ClusterSnapshot", "CommittedOffset",
    "ConfigResourceType", "ConnectFailed", "ConnectionLost", "EARLIEST_TIMESTAMP", "FetchPosition",
    "FetchResult", "FetchSession", "KafkaError", "LATEST_TIMESTAMP", "LOG_END",
    "MAX_TIMESTAMP", "MetadataUnavailable", "NewTopic", "PartitionInfo", "PatternType",
    "ProducerIdAndEpoch", "ProducerState", "TransactionDescription", "ProtocolError", "READ_COMMITTED", "READ_UNCOMMITTED",
    "RequestTimedOut", "ResourceType", "STALE_METADATA_CODES", "SaslCredentials", "ScramCredentialInfo",
    "SecurityConfig", "SecurityProtocol", "TlsError", "TlsSettings", "TopicInfo", "TopicPartition",
    "UnsupportedVersion", "WriteFenced", "WriteGate", "GroupClient", "JoinResult", "new_event_loop", "parse_bootstrap", "run",
]
