"""Configuration validation and secret masking."""
from __future__ import annotations

import random

import pytest

from linker.client.backoff import Backoff
from linker.client.config import (ClientConfig, SaslCredentials, SecurityConfig, SecurityProtocol,
                                  TlsSettings, parse_address, parse_bootstrap)


def test_password_never_in_repr_or_str() -> None:
    creds = SaslCredentials("SCRAM-SHA-512", "alice", "s3cr3t-value")
    security = SecurityConfig(SecurityProtocol.SASL_SSL, sasl=creds,
                              tls=TlsSettings(ca_file="ca.pem", key_password="k3y-pass"))
    config = ClientConfig(security=security)
    for text in (repr(creds), str(creds), repr(security), repr(config), str(config)):
        assert "s3cr3t-value" not in text
        assert "k3y-pass" not in text
    assert "alice" in repr(creds)


def test_protocol_from_string_and_errors() -> None:
    assert SecurityConfig("ssl").protocol is SecurityProtocol.SSL
    assert SecurityConfig("SSL").tls == TlsSettings()
    with pytest.raises(ValueError, match="unknown security protocol 'TLS'"):
        SecurityConfig("TLS")
    with pytest.raises(ValueError, match="needs SASL credentials"):
        SecurityConfig(SecurityProtocol.SASL_PLAINTEXT)
    with pytest.raises(ValueError, match="SASL credentials given"):
        SecurityConfig(SecurityProtocol.PLAINTEXT, sasl=SaslCredentials("PLAIN", "u", "p"))
    with pytest.raises(ValueError, match="unsupported SASL mechanism 'GSSAPI'"):
        SaslCredentials("GSSAPI", "u", "p")
    with pytest.raises(ValueError, match="key_file given without cert_file"):
        TlsSettings(key_file="k.pem")


def test_client_config_bounds() -> None:
    with pytest.raises(ValueError, match="max_in_flight"):
        ClientConfig(max_in_flight=0)
    with pytest.raises(ValueError, match="request_timeout"):
        ClientConfig(request_timeout=0)


@pytest.mark.parametrize("text,expected", [
    ("127.0.0.1:9092", ("127.0.0.1", 9092)),
    ("localhost:1", ("localhost", 1)),
    ("[::1]:9093", ("::1", 9093)),
])
def test_parse_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["localhost", ":9092", "host:", "host:abc", "host:70000"])
def test_parse_address_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="broker address"):
        parse_address(text)


def test_parse_bootstrap() -> None:
    assert parse_bootstrap("a:1, b:2") == [("a", 1), ("b", 2)]
    assert parse_bootstrap(["a:1"]) == [("a", 1)]
    with pytest.raises(ValueError, match="empty"):
        parse_bootstrap(" , ")


def test_backoff_grows_caps_jitters_and_resets() -> None:
    backoff = Backoff(0.1, 1.0, random.Random(7))
    delays = [backoff.next_delay() for _ in range(8)]
    bases = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0]
    for delay, base in zip(delays, bases):
        assert base / 2 <= delay <= base
    assert len(set(delays[4:])) > 1, "capped delays must still be jittered"
    backoff.reset()
    assert backoff.next_delay() <= 0.1
    with pytest.raises(ValueError):
        Backoff(1.0, 0.5)
