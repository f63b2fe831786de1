"""The link file, leaf-first: one module per section, real types, errors that name the key.

``cluster`` (with the client's TLS and SASL types), ``topics``, ``mirror``,
``lifecycle``, ``proxy``, ``metrics``; ``link`` reads the file and composes
them into a `LinkConfig`. This package imports only `linker.client` (for the
connection types), so every other room of `linker` can depend on it.
"""
from __future__ import annotations

from .cluster import ClusterSettings
from .errors import ConfigError
from .group import GroupSettings
from .lifecycle import LifecycleSettings
from .link import LinkConfig, load_config, parse_config
from .metrics import MetricsSettings
from .mirror import MirrorSettings
from .proxy import ProxySettings
from .topics import TopicSettings

__all__ = ["ClusterSettings", "ConfigError", "GroupSettings", "LifecycleSettings", "LinkConfig", "MetricsSettings",
           "MirrorSettings", "ProxySettings", "TopicSettings", "load_config", "parse_config"]
