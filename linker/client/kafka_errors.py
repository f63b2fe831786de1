"""Kafka error codes -> exceptions carrying the Kafka name and message."""
from __future__ import annotations

from kproto import errors as kerrors

from .errors import AuthenticationError, AuthorizationError, KafkaError

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
LEADER_NOT_AVAILABLE = 5
NOT_LEADER_OR_FOLLOWER = 6
NOT_COORDINATOR = 16
COORDINATOR_NOT_AVAILABLE = 15
COORDINATOR_LOAD_IN_PROGRESS = 14
UNSUPPORTED_SASL_MECHANISM = 33
ILLEGAL_SASL_STATE = 34
TOPIC_ALREADY_EXISTS = 36
SASL_AUTHENTICATION_FAILED = 58
FETCH_SESSION_ID_NOT_FOUND = 70
INVALID_FETCH_SESSION_EPOCH = 71
FENCED_LEADER_EPOCH = 74
UNKNOWN_LEADER_EPOCH = 75
UNKNOWN_TOPIC_ID = 100
INCONSISTENT_TOPIC_ID = 103

# Codes after which the cached leader may be wrong: refresh metadata.
STALE_METADATA_CODES = frozenset({
    UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE, NOT_LEADER_OR_FOLLOWER,
    FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, UNKNOWN_TOPIC_ID, INCONSISTENT_TOPIC_ID,
})
COORDINATOR_CODES = frozenset({NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
                               COORDINATOR_LOAD_IN_PROGRESS})
_AUTHENTICATION_CODES = frozenset({UNSUPPORTED_SASL_MECHANISM, ILLEGAL_SASL_STATE,
                                   SASL_AUTHENTICATION_FAILED})


def error_name(code: int) -> str:
    return kerrors.error_info(code).name


def kafka_error(code: int, message: str | None = None, *, broker: str | None = None,
                context: str | None = None) -> KafkaError:
    """The exception for `code`; unknown codes still get a usable name."""
    try:
        info = kerrors.error_info(code)
        name, retriable, default_message = info.name, info.retriable, info.message
    except (KeyError, ValueError):
        name, retriable, default_message = f"UNKNOWN_ERROR_CODE_{code}", False, None
    if code in _AUTHENTICATION_CODES:
        cls: type[KafkaError] = AuthenticationError
    elif name.endswith("_AUTHORIZATION_FAILED"):
        cls = AuthorizationError
    else:
        cls = KafkaError
    return cls(code, name, message or default_message, retriable, broker=broker, context=context)


def raise_for_code(code: int, message: str | None = None, *, broker: str | None = None,
                   context: str | None = None) -> None:
    if code:
        raise kafka_error(code, message, broker=broker, context=context)
