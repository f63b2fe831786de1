"""Scripted loopback socket servers: garbage answers, and an ApiVersions downgrade.

No broker behaviour is faked for integration claims: these servers only
prove that malformed bytes close the connection with an error naming the
broker, that every waiter is released, and that the ApiVersions fallback path
(which no pinned broker exercises: both support our highest version) works.
"""
from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Awaitable, Callable

import pytest

import kproto
from kproto import ApiKey, messages
from linker.client import BrokerConnection, ClientConfig, ConnectionLost, ProtocolError, run

Reply = Callable[[int, asyncio.StreamWriter], Awaitable[None]]


def _api_versions_frame(correlation_id: int, version: int) -> list:
    R = messages.ApiVersionsResponse
    keys = []
    for key in (ApiKey.API_VERSIONS, ApiKey.METADATA):
        lo, hi = messages.by_key(key, request=True).VALID_VERSIONS
        keys.append(R.ApiVersion(api_key=key, min_version=lo, max_version=hi))
    return kproto.encode_response(R(error_code=0, api_keys=keys), version, correlation_id)


async def _serve(reply: Reply) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (size,) = struct.unpack(">i", await reader.readexactly(4))
                frame = await reader.readexactly(size)
                header, _ = kproto.peek_request_header(frame)
                if header.api_key == ApiKey.API_VERSIONS:
                    writer.writelines(_api_versions_frame(header.correlation_id,
                                                          header.api_version))
                else:
                    await reply(header.correlation_id, writer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def _expect_failure(reply: Reply, error_type: type, *fragments: str) -> None:
    server = await _serve(reply)
    port = server.sockets[0].getsockname()[1]
    try:
        connection = await BrokerConnection.open("127.0.0.1", port, ClientConfig(request_timeout=5))
        M = messages.MetadataRequest
        started = time.monotonic()
        waiters = [asyncio.ensure_future(connection.request(M(topics=[])))
                   for _ in range(5)]
        results = await asyncio.gather(*waiters, return_exceptions=True)
        assert time.monotonic() - started < 2, "waiters must fail promptly, not at the timeout"
        assert all(isinstance(r, error_type) for r in results), results
        text = str(results[0])
        assert f"127.0.0.1:{port}" in text
        for fragment in fragments:
            assert fragment in text
        assert connection.closed and connection.in_flight == 0
        with pytest.raises(error_type):
            await connection.request(M(topics=[]))
        await connection.aclose()
    finally:
        server.close()
        await server.wait_closed()


def test_garbage_bytes_close_the_connection() -> None:
    async def reply(correlation_id: int, writer: asyncio.StreamWriter) -> None:
        writer.write(b"\xde\xad\xbe\xef" * 16)
    run(_expect_failure(reply, ProtocolError, "bad response", "frame size"))


def test_wrong_correlation_id_closes_the_connection() -> None:
    async def reply(correlation_id: int, writer: asyncio.StreamWriter) -> None:
        writer.write(struct.pack(">ii", 4, correlation_id + 1000))
    run(_expect_failure(reply, ProtocolError, "correlation id"))


def test_undecodable_body_closes_the_connection() -> None:
    async def reply(correlation_id: int, writer: asyncio.StreamWriter) -> None:
        writer.write(struct.pack(">ii", 7, correlation_id) + b"\x01\x02\x03")
    run(_expect_failure(reply, ProtocolError, "cannot decode METADATA"))


def test_server_closing_mid_request_fails_every_waiter() -> None:
    async def reply(correlation_id: int, writer: asyncio.StreamWriter) -> None:
        writer.close()
    run(_expect_failure(reply, ConnectionLost, "connection to broker", "lost"))


def test_garbage_instead_of_api_versions() -> None:
    async def main() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(100)
            writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            await writer.drain()
            writer.close()
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            with pytest.raises(ProtocolError, match=f"127.0.0.1:{port}.*frame size"):
                await BrokerConnection.open("127.0.0.1", port, ClientConfig())
        finally:
            server.close()
            await server.wait_closed()
    run(main())


def test_api_versions_falls_back_to_the_version_the_server_names() -> None:
    """An older broker answers an unknown ApiVersions version with UNSUPPORTED_VERSION in v0
    and its own ApiVersions range; the client retries at that version."""
    R = messages.ApiVersionsResponse
    seen: list[int] = []

    async def main() -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    (size,) = struct.unpack(">i", await reader.readexactly(4))
                    header, _ = kproto.peek_request_header(await reader.readexactly(size))
                    seen.append(header.api_version)
                    if header.api_version > 2:
                        body = R(error_code=35, api_keys=[R.ApiVersion(
                            api_key=ApiKey.API_VERSIONS, min_version=0, max_version=2)])
                        writer.writelines(kproto.encode_response(body, 0, header.correlation_id))
                    else:
                        writer.writelines(_api_versions_frame(header.correlation_id,
                                                              header.api_version))
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            connection = await BrokerConnection.open("127.0.0.1", port, ClientConfig())
            assert ApiKey.METADATA in connection.api_versions
            await connection.aclose()
        finally:
            server.close()
            await server.wait_closed()
    run(main())
    assert seen == [messages.ApiVersionsRequest.VALID_VERSIONS[1], 2]
