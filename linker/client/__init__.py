"""linker.client: asyncio Kafka connections over kproto, with TLS and SASL.

Imports only kproto and the standard library (uvloop if installed); never
the rest of linker, never kafkabed.
"""
from .client import KafkaClient
from .cluster import Cluster
from .config import (ClientConfig, SaslCredentials, SecurityConfig, SecurityProtocol, TlsSettings,
                     parse_bootstrap)
from .connection import BrokerConnection
from .errors import (AuthenticationError, AuthorizationError, ClientClosed, ClientError,
                     ConnectFailed, ConnectionLost, KafkaError, MetadataUnavailable, ProtocolError,
                     RequestTimedOut, TlsError, UnsupportedVersion)
from .event_loop import new_event_loop, run
from .fetch_session import FetchPosition, FetchResult, FetchSession
from .metadata import BrokerInfo, ClusterSnapshot, PartitionInfo, TopicInfo
from .types import (EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, MAX_TIMESTAMP, READ_COMMITTED,
                    READ_UNCOMMITTED, AclBinding, AclFilter, AclOperation, AclPermission,
                    AlterConfigOp, ConfigResourceType, NewTopic, PatternType, ResourceType)

__all__ = [
    "AclBinding", "AclFilter", "AclOperation", "AclPermission", "AlterConfigOp",
    "AuthenticationError", "AuthorizationError", "BrokerConnection", "BrokerInfo", "ClientClosed",
    "ClientConfig", "ClientError", "Cluster", "ClusterSnapshot", "ConfigResourceType",
    "ConnectFailed", "ConnectionLost", "EARLIEST_TIMESTAMP", "FetchPosition", "FetchResult",
    "FetchSession", "KafkaClient", "KafkaError", "LATEST_TIMESTAMP", "MAX_TIMESTAMP",
    "MetadataUnavailable", "NewTopic", "PartitionInfo", "PatternType", "ProtocolError",
    "READ_COMMITTED", "READ_UNCOMMITTED", "RequestTimedOut", "ResourceType", "SaslCredentials",
    "SecurityConfig", "SecurityProtocol", "TlsError", "TlsSettings", "TopicInfo",
    "UnsupportedVersion", "new_event_loop", "parse_bootstrap", "run",
]
