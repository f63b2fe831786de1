"""The one error a link file can raise."""
from __future__ import annotations


class ConfigError(ValueError):
    """A link file that cannot be used; the message names the key at fault."""
