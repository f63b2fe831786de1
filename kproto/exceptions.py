"""kproto's exception types: one base class for everything malformed."""
from __future__ import annotations

__all__ = ["KprotoError", "DecodeError", "EncodeError", "FrameTooLarge", "UnsupportedVersion"]


class KprotoError(Exception):
    """Base of every error kproto raises for bad input (bytes or objects)."""


class DecodeError(KprotoError):
    """Malformed bytes: names the API (message name), version and field path."""

    def __init__(self, api: str, version: int | None, path: str, reason: str) -> None:
        self.api = api
        self.version = version
        self.path = path
        self.reason = reason
        where = f"{api} v{version}" if version is not None else api
        super().__init__(f"cannot decode {where} at {path or '<start>'}: {reason}")


class EncodeError(KprotoError):
    """An object that cannot be written in the asked version (bad value or type)."""

    def __init__(self, api: str, version: int | None, path: str, reason: str) -> None:
        self.api = api
        self.version = version
        self.path = path
        self.reason = reason
        where = f"{api} v{version}" if version is not None else api
        super().__init__(f"cannot encode {where} at {path or '<start>'}: {reason}")


class UnsupportedVersion(EncodeError):
    """The version is outside the message's valid versions, or a non-ignorable
    field holds a non-default value the version cannot carry (as Kafka's
    UnsupportedVersionException)."""


class FrameTooLarge(KprotoError):
    """A frame's size prefix exceeds the decoder's bound (or is negative)."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"frame size {size} outside 0..{limit}")
