"""The control endpoint of `linker proxy` (issue 17.5): only holders of the token the proxy
writes at start (0600) can run a command; a slow or oversized request is cut off; the endpoint
listens on loopback only. `linker promote` through the proxy: tests/linker/proxy/test_link_cli.py."""
from __future__ import annotations

import json
import socket
import stat
import time

import pytest

from linker.app.control import READ_TIMEOUT, token_path
from linker.lifecycle.records import TopicState
from linker.settings import ConfigError, load_config
from linker.settings.proxy import parse_proxy

from test_link_cli import Proc, free_port, link_file, read_state, write_state


def _ask(port: int, payload: bytes, timeout: float = 30) -> dict:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


@pytest.fixture
def control_proxy(source, destination, topic_name, tmp_path):
    """`linker proxy` fronting the destination, `topic_name` an ACTIVE mirror; yields (path, port)."""
    destination.create_topic(topic_name, partitions=1)
    port = free_port()
    path = link_file(tmp_path, f"pc-{topic_name[-8:]}", source, destination, topic_name, "destination", port)
    write_state(path, topic_name, TopicState.ACTIVE)
    proxy = Proc("proxy", "-c", str(path))
    try:
        assert "fronting destination" in proxy.first_line()
        yield path, port
    finally:
        err = proxy.stop()
    assert proxy.p.returncode == 0, err[-2000:]
    assert not token_path(load_config(path)).exists()   # removed at exit


def test_unauthenticated_failover_is_refused(control_proxy, topic_name):
    path, port = control_proxy
    request = {"command": "failover", "topics": [topic_name]}
    for payload in (request, {**request, "token": "0" * 64}, {**request, "token": 7}):
        answer = _ask(port, json.dumps(payload).encode() + b"\n")
        assert answer["ok"] is False and "token" in answer["error"], answer
        assert topic_name not in json.dumps(answer)
    assert read_state(path, topic_name) == TopicState.ACTIVE      # nothing ran

    token_file = token_path(load_config(path))
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(token_file.parent.stat().st_mode) & 0o077 == 0
    token = token_file.read_text().strip()
    status = _ask(port, json.dumps({"command": "status", "token": token}).encode() + b"\n")
    assert status["ok"] is True and status["mirrors"] == [topic_name], status


def test_slow_and_oversized_requests_are_cut_off(control_proxy):
    _, port = control_proxy
    with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT + 15) as s:
        s.sendall(b'{"command": "fail')                     # and never the rest
        started = time.monotonic()
        assert s.recv(100) == b""                           # closed without an answer
        waited = time.monotonic() - started
    assert READ_TIMEOUT - 1 <= waited <= READ_TIMEOUT + 10, waited

    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        try:                                                # no newline within the size bound
            s.sendall(b"x" * (256 * 1024))
            assert s.recv(100) == b""                       # closed without an answer
        except ConnectionResetError:
            pass                                            # closed while data was unread: as good


@pytest.mark.parametrize("address", ["0.0.0.0:9299", "10.1.2.3:9299", "example.com:9299"])
def test_control_listens_on_loopback_only(address):
    with pytest.raises(ConfigError, match="proxy.control: .* not a loopback address"):
        parse_proxy({"control": address})
