"""SASL exchange over SaslHandshake v1 + SaslAuthenticate (PLAIN, SCRAM).

Only the password travels to the broker; error texts quote the broker's
message and the mechanism, never the credentials.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kproto.errors import ErrorCode
from kproto import ApiKey, messages

from . import scram
from .config import SaslCredentials
from .errors import AuthenticationError
from .kafka_errors import kafka_error

if TYPE_CHECKING:
    from .connection import BrokerConnection

_HANDSHAKE_V1 = (1, 1)  # v0 means unframed tokens, which we do not speak


async def authenticate(connection: BrokerConnection, credentials: SaslCredentials,
                       bypass_gate: bool = False) -> int:
    """Run one full SASL exchange; return the session lifetime in ms (0 = none)."""
    handshake_version = connection.version_for(ApiKey.SASL_HANDSHAKE, _HANDSHAKE_V1)
    handshake = await connection.send(
        messages.SaslHandshakeRequest(mechanism=credentials.mechanism),
        version=handshake_version, bypass_gate=bypass_gate)
    if handshake.error_code == ErrorCode.UNSUPPORTED_SASL_MECHANISM:
        offered = ", ".join(handshake.mechanisms) or "none"
        raise kafka_error(handshake.error_code,
                          f"mechanism {credentials.mechanism} not enabled; broker offers {offered}",
                          broker=connection.name, context="SaslHandshake")
    if handshake.error_code:
        raise kafka_error(handshake.error_code, None, broker=connection.name,
                          context="SaslHandshake")
    version = connection.version_for(ApiKey.SASL_AUTHENTICATE)

    async def exchange(token: bytes) -> Any:
        response = await connection.send(messages.SaslAuthenticateRequest(auth_bytes=token),
                                         version=version, bypass_gate=bypass_gate)
        if response.error_code:
            raise kafka_error(response.error_code, response.error_message,
                              broker=connection.name,
                              context=f"SASL {credentials.mechanism} as {credentials.username!r}")
        return response

    if credentials.mechanism == "PLAIN":
        token = b"\0" + credentials.username.encode() + b"\0" + credentials.password.encode()
        response = await exchange(token)
    else:
        response = await _scram(connection, credentials, exchange)
    return getattr(response, "session_lifetime_ms", 0) or 0


async def _scram(connection: BrokerConnection, credentials: SaslCredentials, exchange: Any) -> Any:
    hash_name = scram.HASHES[credentials.mechanism]
    nonce = scram.make_nonce()
    first_bare = scram.client_first_bare(credentials.username, nonce)
    first = await exchange(("n,," + first_bare).encode())
    try:
        final = scram.client_final(hash_name, credentials.password, first_bare,
                                   bytes(first.auth_bytes).decode(), nonce)
        last = await exchange(final.message.encode())
        scram.verify_server_final(bytes(last.auth_bytes).decode(), final.server_signature)
    except (scram.ScramError, UnicodeDecodeError) as exc:
        raise AuthenticationError(ErrorCode.SASL_AUTHENTICATION_FAILED, "SASL_AUTHENTICATION_FAILED",
                                  f"{credentials.mechanism}: {exc}", broker=connection.name) from None
    return last
