"""Free loopback ports, never handed out twice by this process."""
from __future__ import annotations

import socket
import threading

_given: set[int] = set()
_lock = threading.Lock()


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Ports the kernel just reported free. Another process may still grab one
    before the broker binds it; callers retry start-up on 'Address already in use'."""
    ports: list[int] = []
    held: list[socket.socket] = []
    try:
        while len(ports) < count:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            held.append(s)  # keep it bound so the next bind gets a different port
            port = s.getsockname()[1]
            with _lock:
                if port in _given:
                    continue
                _given.add(port)
            ports.append(port)
    finally:
        for s in held:
            s.close()
    return ports
