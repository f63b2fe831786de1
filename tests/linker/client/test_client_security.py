"""TLS and SASL against a real broker with PLAINTEXT, SASL_PLAINTEXT, SSL and SASL_SSL listeners."""
from __future__ import annotations

import logging
import time

import pytest

from kproto.errors import ErrorCode
from linker.client import (Admin, AuthenticationError, ClientConfig, Client, NewTopic,
                           SaslCredentials, SecurityConfig, TlsError, TlsSettings, run)
from linker.client.connection import BrokerConnection
from linker.client.config import parse_address


def _config(cluster, listener: str, mechanism: str | None = None, user: str = "alice",
            password: str | None = None, ca_file: str | None = "default", mtls: bool = False,
            **extra) -> ClientConfig:
    info = cluster.listener(listener)
    sasl = None
    if mechanism is not None:
        sasl = SaslCredentials(mechanism, user, password if password is not None
                               else info.users[user])
    tls = None
    if "SSL" in listener:
        tls = TlsSettings(ca_file=str(info.ca_cert) if ca_file == "default" else ca_file,
                          cert_file=str(info.client_cert) if mtls else None,
                          key_file=str(info.client_key) if mtls else None)
    return ClientConfig(security=SecurityConfig(listener, sasl=sasl, tls=tls), **extra)


async def _round_trip(bootstrap: str, config: ClientConfig, topic: str) -> None:
    async with Client(bootstrap, config) as client:
        admin = Admin(client)
        await admin.create_topics([NewTopic(topic, 1, 1)])
        offsets = await client.list_offsets({(topic, 0): -1})
        assert offsets[(topic, 0)].offset == 0


@pytest.mark.parametrize("listener,mechanism", [
    ("PLAINTEXT", None),
    ("SSL", None),
    ("SASL_PLAINTEXT", "PLAIN"),
    ("SASL_PLAINTEXT", "SCRAM-SHA-256"),
    ("SASL_PLAINTEXT", "SCRAM-SHA-512"),
    ("SASL_SSL", "PLAIN"),
    ("SASL_SSL", "SCRAM-SHA-256"),
    ("SASL_SSL", "SCRAM-SHA-512"),
])
def test_every_security_protocol_and_mechanism(secure_cluster, topic_name, listener: str,
                                               mechanism: str | None) -> None:
    config = _config(secure_cluster, listener, mechanism)
    run(_round_trip(secure_cluster.listener(listener).bootstrap, config, topic_name))


def test_mutual_tls_with_client_certificate(secure_cluster, topic_name) -> None:
    config = _config(secure_cluster, "SSL", mtls=True)
    run(_round_trip(secure_cluster.listener("SSL").bootstrap, config, topic_name))


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_wrong_password_fails_fast_and_clearly(secure_cluster, mechanism: str, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "definitely-wrong-pw"
    config = _config(secure_cluster, "SASL_PLAINTEXT", mechanism, password=secret,
                     request_timeout=10.0)
    bootstrap = secure_cluster.listener("SASL_PLAINTEXT").bootstrap

    async def main() -> None:
        client = Client(bootstrap, config)
        started = time.monotonic()
        try:
            with pytest.raises(AuthenticationError) as info:
                await client.start()
        finally:
            await client.close()
        elapsed = time.monotonic() - started
        assert elapsed < config.request_timeout
        error = info.value
        assert error.name == "SASL_AUTHENTICATION_FAILED"
        assert mechanism in str(error) and "alice" in str(error)
        assert secret not in str(error) and secret not in repr(error)
        assert any("SASL_AUTHENTICATION_FAILED" in r.getMessage() for r in caplog.records)
        assert all(secret not in r.getMessage() for r in caplog.records)
        # Exactly one attempt: no retry storm against the broker.
        assert all(p.connects == 0 for p in client._bootstrap_pools)
    run(main())


def test_handshake_lists_the_broker_mechanisms(secure_cluster) -> None:
    """UNSUPPORTED_SASL_MECHANISM comes with the list our error message quotes."""
    from kproto import messages
    host, port = parse_address(secure_cluster.listener("SASL_PLAINTEXT").bootstrap.split(",")[0])

    async def main() -> None:
        connection = await BrokerConnection.open(host, port, ClientConfig())  # no SASL yet
        try:
            response = await connection.request(messages.SaslHandshakeRequest(mechanism="GSSAPI"))
            assert response.error_code == ErrorCode.UNSUPPORTED_SASL_MECHANISM
            assert {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} <= set(response.mechanisms)
        finally:
            await connection.aclose()
    run(main())


def test_unknown_ca_gives_a_clear_tls_error(secure_cluster, tmp_path) -> None:
    # A CA that did not sign the broker certificate.
    import subprocess
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(tmp_path / "other.key"), "-out", str(tmp_path / "other.pem"), "-days", "1",
                    "-subj", "/CN=some other CA"], check=True, capture_output=True)
    config = _config(secure_cluster, "SSL", ca_file=str(tmp_path / "other.pem"))
    bootstrap = secure_cluster.listener("SSL").bootstrap

    async def main() -> None:
        client = Client(bootstrap, config)
        try:
            with pytest.raises(TlsError) as info:
                await client.start()
        finally:
            await client.close()
        text = str(info.value)
        assert "TLS handshake failed" in text and "certificate" in text
        assert bootstrap.split(",")[0] in text
    run(main())


async def _forwarder(listen_host: str, target: tuple[str, int]):
    """A TCP pipe to the broker, reachable under another loopback address."""
    import asyncio

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*target)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    return await asyncio.start_server(handle, listen_host, 0)


def test_hostname_verification_is_on_by_default(secure_cluster) -> None:
    # The broker certificate names 127.0.0.1 and localhost; 127.0.0.2 reaches
    # the same broker through a pipe but is not in the certificate.
    target = parse_address(secure_cluster.listener("SSL").bootstrap.split(",")[0])

    async def main() -> None:
        server = await _forwarder("127.0.0.2", target)
        port = server.sockets[0].getsockname()[1]
        try:
            with pytest.raises(TlsError) as info:
                await BrokerConnection.open("127.0.0.2", port, _config(secure_cluster, "SSL"))
            assert "127.0.0.2" in str(info.value) and "TLS handshake failed" in str(info.value)
            assert "mismatch" in str(info.value)
            relaxed = _config(secure_cluster, "SSL")
            tls = TlsSettings(ca_file=relaxed.security.tls.ca_file, check_hostname=False)
            loose = ClientConfig(security=SecurityConfig("SSL", tls=tls))
            connection = await BrokerConnection.open("127.0.0.2", port, loose)
            assert connection.api_versions
            await connection.aclose()
        finally:
            server.close()
    run(main())
