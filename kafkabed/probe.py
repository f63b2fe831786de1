"""A tiny blocking Kafka client for readiness checks, independent of any library.

Only what a test bed needs to know a broker is usable: ApiVersions v0, SASL
PLAIN (SaslHandshake v1 + SaslAuthenticate v0) and Metadata v1 broker lists.
It must not depend on kproto (written in parallel) nor on a client library's
own bootstrap retries, which hide the state we are waiting for.
"""
from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_HEADER = struct.Struct(">hhih")  # api_key, api_version, correlation_id, client_id length
_CLIENT_ID = b"kafkabed-probe"

API_VERSIONS, METADATA, SASL_HANDSHAKE, SASL_AUTHENTICATE = 18, 3, 17, 36
INCREMENTAL_ALTER_CONFIGS = 44
RESOURCE_TYPES = {"TOPIC": 2, "BROKER": 4}


class ProbeError(RuntimeError):
    """The broker answered, but not with what a ready broker answers."""


@dataclass(frozen=True)
class BrokerAddress:
    node_id: int
    host: str
    port: int


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def i16(self) -> int:
        (v,) = _I16.unpack_from(self.data, self.pos)
        self.pos += 2
        return v

    def i32(self) -> int:
        (v,) = _I32.unpack_from(self.data, self.pos)
        self.pos += 4
        return v

    def string(self) -> str | None:
        n = self.i16()
        if n < 0:
            return None
        v = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return v


class ProbeConnection:
    """One blocking connection; use as a context manager."""

    def __init__(self, host: str, port: int, timeout: float = 2.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.correlation = 0

    def __enter__(self) -> "ProbeConnection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def call(self, api_key: int, version: int, body: bytes) -> _Reader:
        self.correlation += 1
        header = _HEADER.pack(api_key, version, self.correlation, len(_CLIENT_ID)) + _CLIENT_ID
        payload = header + body
        self.sock.sendall(_I32.pack(len(payload)) + payload)
        size = _I32.unpack(self._read(4))[0]
        reader = _Reader(self._read(size))
        if reader.i32() != self.correlation:
            raise ProbeError("response correlation id does not match the request")
        return reader

    def _read(self, n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            chunk = self.sock.recv(n - got)
            if not chunk:
                raise ProbeError("broker closed the connection")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def api_versions(self) -> dict[int, tuple[int, int]]:
        r = self.call(API_VERSIONS, 0, b"")
        error = r.i16()
        if error:
            raise ProbeError(f"ApiVersions error code {error}")
        out = {}
        for _ in range(r.i32()):
            key, lo, hi = r.i16(), r.i16(), r.i16()
            out[key] = (lo, hi)
        return out

    def sasl_plain(self, user: str, password: str) -> None:
        mech = b"PLAIN"
        r = self.call(SASL_HANDSHAKE, 1, _I16.pack(len(mech)) + mech)
        error = r.i16()
        if error:
            raise ProbeError(f"SaslHandshake PLAIN refused, error code {error}")
        token = b"\0" + user.encode() + b"\0" + password.encode()
        r = self.call(SASL_AUTHENTICATE, 0, _I32.pack(len(token)) + token)
        error, message = r.i16(), r.string()
        if error:
            raise ProbeError(f"SASL PLAIN authentication of {user!r} failed ({error}): {message}")

    def brokers(self) -> list[BrokerAddress]:
        r = self.call(METADATA, 1, _I32.pack(0))  # v1: empty topic list = no topics
        out = []
        for _ in range(r.i32()):
            node_id, host, port = r.i32(), r.string(), r.i32()
            r.string()  # rack
            out.append(BrokerAddress(node_id, host or "", port))
        return sorted(out, key=lambda b: b.node_id)


def _str(text: str) -> bytes:
    data = text.encode()
    return _I16.pack(len(data)) + data


def _nullable_str(text: str | None) -> bytes:
    return _I16.pack(-1) if text is None else _str(text)


def alter_configs(host: str, port: int, kind: str, name: str, configs: dict[str, str | None],
                  sasl: tuple[str, str] | None = None, timeout: float = 10.0) -> None:
    """IncrementalAlterConfigs v0: SET each value, DELETE where the value is None.

    Used for the cluster-wide broker default (resource name ""), which
    kafka-python's admin client cannot address."""
    body = _I32.pack(1) + bytes([RESOURCE_TYPES[kind]]) + _str(name) + _I32.pack(len(configs))
    for key, value in configs.items():
        body += _str(key) + bytes([1 if value is None else 0]) + _nullable_str(value)
    body += b"\0"  # validate_only = false
    with ProbeConnection(host, port, timeout) as conn:
        conn.api_versions()
        if sasl is not None:
            conn.sasl_plain(*sasl)
        r = conn.call(INCREMENTAL_ALTER_CONFIGS, 0, body)
        r.i32()  # throttle
        for _ in range(r.i32()):
            error, message = r.i16(), r.string()
            if error:
                raise ProbeError(f"altering {kind} {name!r} configs {configs} failed ({error}): {message}")


def broker_view(host: str, port: int, sasl: tuple[str, str] | None = None,
                timeout: float = 2.0) -> list[BrokerAddress]:
    """Ask one broker which brokers it sees (ApiVersions first, as clients do)."""
    with ProbeConnection(host, port, timeout) as conn:
        conn.api_versions()
        if sasl is not None:
            conn.sasl_plain(*sasl)
        return conn.brokers()
