"""SCRAM (RFC 5802 / RFC 7677) client side as pure functions.

No I/O here: the SASL exchange feeds these functions the server messages,
so the math is testable against the RFC test vectors.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import secrets

HASHES = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
# Kafka brokers refuse fewer than 4096 iterations; an absurd count from a
# hostile server would otherwise pin the CPU.
MAX_ITERATIONS = 1_000_000


class ScramError(ValueError):
    """The server's SCRAM message is malformed or fails verification."""


def saslname(username: str) -> str:
    """Escape ',' and '=' as RFC 5802 requires."""
    return username.replace("=", "=3D").replace(",", "=2C")


def make_nonce() -> str:
    return base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def client_first_bare(username: str, nonce: str) -> str:
    return f"n={saslname(username)},r={nonce}"


def parse_attributes(message: str) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for part in message.split(","):
        key, sep, value = part.partition("=")
        if not sep or len(key) != 1:
            raise ScramError(f"malformed SCRAM attribute {part[:20]!r}")
        attributes[key] = value
    return attributes


def salted_password(hash_name: str, password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac(hash_name, password.encode("utf-8"), salt, iterations)


def _hmac(hash_name: str, key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hash_name).digest()


@dataclasses.dataclass(frozen=True)
class ScramFinal:
    message: str
    server_signature: bytes


def client_final(hash_name: str, password: str, first_bare: str, server_first: str,
                 client_nonce: str) -> ScramFinal:
    """Build client-final-message from server-first-message."""
    attributes = parse_attributes(server_first)
    if "e" in attributes:
        raise ScramError(f"server refused: {attributes['e']}")
    try:
        nonce = attributes["r"]
        salt = base64.b64decode(attributes["s"], validate=True)
        iterations = int(attributes["i"])
    except (KeyError, ValueError) as exc:
        raise ScramError(f"malformed server-first-message ({exc.__class__.__name__})") from None
    if not nonce.startswith(client_nonce) or len(nonce) <= len(client_nonce):
        raise ScramError("server nonce does not extend the client nonce")
    if not 1 <= iterations <= MAX_ITERATIONS:
        raise ScramError(f"server asks for {iterations} iterations")
    salted = salted_password(hash_name, password, salt, iterations)
    client_key = _hmac(hash_name, salted, b"Client Key")
    stored_key = hashlib.new(hash_name, client_key).digest()
    without_proof = f"c=biws,r={nonce}"
    auth_message = f"{first_bare},{server_first},{without_proof}".encode("utf-8")
    signature = _hmac(hash_name, stored_key, auth_message)
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    server_key = _hmac(hash_name, salted, b"Server Key")
    server_signature = _hmac(hash_name, server_key, auth_message)
    message = f"{without_proof},p={base64.b64encode(proof).decode('ascii')}"
    return ScramFinal(message, server_signature)


def verify_server_final(server_final: str, expected_signature: bytes) -> None:
    attributes = parse_attributes(server_final)
    if "e" in attributes:
        raise ScramError(f"server refused: {attributes['e']}")
    try:
        received = base64.b64decode(attributes["v"], validate=True)
    except (KeyError, ValueError):
        raise ScramError("malformed server-final-message") from None
    if not hmac.compare_digest(received, expected_signature):
        raise ScramError("server signature does not verify")
