"""Exceptions raised by the client layer.

Every error names the broker it came from where there is one, and never
carries a secret: messages are built from addresses, API names and Kafka
error names only.
"""
from __future__ import annotations

from kproto.errors import ErrorCode

# Codes after which the cached leader may be wrong: refresh metadata. A
# demoted leader answers FENCED_LEADER_EPOCH to a request carrying the new
# epoch; a broker that has not caught up answers UNKNOWN_LEADER_EPOCH.
STALE_METADATA_CODES = frozenset({
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.LEADER_NOT_AVAILABLE,
    ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.FENCED_LEADER_EPOCH,
    ErrorCode.UNKNOWN_LEADER_EPOCH, ErrorCode.UNKNOWN_TOPIC_ID, ErrorCode.INCONSISTENT_TOPIC_ID,
})


class ClientError(Exception):
    """Base of every error this layer raises."""


class KafkaError(ClientError):
    """An error code returned by a broker, with its Kafka name and message.

    Per-partition errors also carry the partition (`tp`; partition -1 for a
    topic-level error) and the API that answered, so callers can decide per
    partition: `stale_metadata` says a metadata refresh may cure it.
    """

    def __init__(self, code: int, name: str, message: str | None = None,
                 retriable: bool = False, broker: str | None = None,
                 context: str | None = None, *, tp: tuple[str, int] | None = None,
                 api: str | None = None) -> None:
        try:
            self.code: int = ErrorCode(code)
        except ValueError:
            self.code = code
        self.name = name
        self.message = message
        self.retriable = retriable
        self.broker = broker
        self.tp = tp
        self.api = api
        if context is None and api is not None:
            context = api if tp is None else (
                f"{api} {tp[0]}" if tp[1] < 0 else f"{api} {tp[0]}-{tp[1]}")
        self.context = context
        text = f"{name} ({code})"
        if context:
            text = f"{context}: {text}"
        if message:
            text += f": {message}"
        if broker:
            text += f" [broker {broker}]"
        super().__init__(text)

    @property
    def stale_metadata(self) -> bool:
        """The cached leader (or topic) may be wrong: refresh and retry."""
        return self.code in STALE_METADATA_CODES


class AuthenticationError(KafkaError):
    """SASL authentication failed or the mechanism is not enabled."""


class AuthorizationError(KafkaError):
    """The principal is not allowed to do what was asked."""


class ConnectionLost(ClientError):
    """The connection to a broker broke; every waiter on it gets this."""

    def __init__(self, broker: str, cause: str) -> None:
        self.broker = broker
        self.cause = cause
        super().__init__(f"connection to broker {broker} lost: {cause}")


class ConnectFailed(ClientError):
    """A connection could not be opened (refused, unreachable, DNS)."""

    def __init__(self, broker: str, cause: str) -> None:
        self.broker = broker
        self.cause = cause
        super().__init__(f"cannot connect to broker {broker}: {cause}")


class TlsError(ConnectFailed):
    """The TLS handshake failed (unknown CA, hostname mismatch, bad cert)."""

    def __init__(self, broker: str, cause: str) -> None:
        super().__init__(broker, f"TLS handshake failed: {cause}")


class RequestTimedOut(ClientError):
    """No response arrived within the request timeout."""

    def __init__(self, broker: str, api: str, timeout: float) -> None:
        self.broker = broker
        self.api = api
        self.timeout = timeout
        super().__init__(
            f"{api} request to broker {broker} timed out after {timeout:.3g}s")


class ProtocolError(ClientError):
    """The broker sent bytes that do not parse as the expected response."""

    def __init__(self, broker: str, cause: str) -> None:
        self.broker = broker
        self.cause = cause
        super().__init__(f"bad response from broker {broker}: {cause}")


class UnsupportedVersion(ClientError):
    """The broker lacks an API, or every version the caller accepts."""

    def __init__(self, broker: str, api: str, needed: tuple[int, int],
                 broker_range: tuple[int, int] | None, side: str = "broker") -> None:
        self.broker = broker
        self.api = api
        self.needed = needed
        self.broker_range = broker_range
        if side != "broker":
            why = "this client's codec has no version of this API"
        elif broker_range is None:
            why = "the broker does not support this API at all"
        else:
            why = (f"the broker supports v{broker_range[0]}..v{broker_range[1]}")
        super().__init__(
            f"broker {broker} cannot serve {api} v{needed[0]}..v{needed[1]}: {why}")


class MetadataUnavailable(ClientError):
    """No leader (or no metadata) is known for a topic or partition."""


class ClientClosed(ClientError):
    """The client or connection was closed by its owner."""
