"""Kafka error codes -> exceptions carrying the Kafka name and message."""
from __future__ import annotations

from kproto import errors as kerrors
from kproto.errors import ErrorCode

from .errors import STALE_METADATA_CODES, AuthenticationError, AuthorizationError, KafkaError

__all__ = ["COORDINATOR_CODES", "STALE_METADATA_CODES", "error_name", "kafka_error", "raise_for_code"]

COORDINATOR_CODES = frozenset({ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_NOT_AVAILABLE,
                               ErrorCode.COORDINATOR_LOAD_IN_PROGRESS})
_AUTHENTICATION_CODES = frozenset({ErrorCode.UNSUPPORTED_SASL_MECHANISM, ErrorCode.ILLEGAL_SASL_STATE,
                                   ErrorCode.SASL_AUTHENTICATION_FAILED})


def error_name(code: int) -> str:
    return kerrors.error_info(code).name


def kafka_error(code: int, message: str | None = None, *, broker: str | None = None,
                context: str | None = None, tp: tuple[str, int] | None = None,
                api: str | None = None) -> KafkaError:
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
    return cls(code, name, message or default_message, retriable, broker=broker, context=context,
               tp=tp, api=api)


def raise_for_code(code: int, message: str | None = None, *, broker: str | None = None,
                   context: str | None = None, tp: tuple[str, int] | None = None,
                   api: str | None = None) -> None:
    if code:
        raise kafka_error(code, message, broker=broker, context=context, tp=tp, api=api)
