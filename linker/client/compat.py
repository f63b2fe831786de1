"""TEMPORARY: `KafkaClient`, the old one-class client, for code not yet switched.

`linker/proxy` and `linker/proxy_link.py` still call admin methods on the
client itself; they move to `Admin(client)` and this module goes.
"""
from __future__ import annotations

from typing import Any

from .admin import Admin
from .core import Client


class KafkaClient(Client):
    """A `Client` that also answers `Admin` calls (temporary, see module doc)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(Admin(self), name)
