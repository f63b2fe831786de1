"""Blocking raw Kafka frames over a socket, for tests that look at exact bytes."""
from __future__ import annotations

import socket
import struct
from typing import Any

import kproto

_SIZE = struct.Struct(">i")


class RawConnection:
    def __init__(self, address: str, timeout: float = 15.0) -> None:
        host, _, port = address.rpartition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self._corr = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RawConnection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_frame(self, frame: bytes) -> None:
        self.sock.sendall(_SIZE.pack(len(frame)) + frame)

    def send(self, body: Any, version: int, client_id: str = "raw-test") -> int:
        self._corr += 1
        self.sock.sendall(b"".join(bytes(c) for c in kproto.encode_request(body, version, self._corr, client_id)))
        return self._corr

    def read_frame(self) -> bytes:
        (size,) = _SIZE.unpack(self._read(4))
        return self._read(size)

    def _read(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("connection closed by the other side")
            out += chunk
        return bytes(out)

    def request(self, body: Any, version: int) -> Any:
        corr = self.send(body, version)
        got, response = kproto.decode_response(body.API_KEY, version, self.read_frame())
        assert got == corr
        return response

    def is_closed(self, wait: float = 5.0) -> bool:
        """True if the other side closed the connection within `wait` seconds."""
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
