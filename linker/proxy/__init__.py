"""linker.proxy: a Kafka wire-protocol proxy that guards mirrors and moves clients at cutover.

Imports kproto and linker.client only; the link state reaches it through the
MirrorRegistry protocol, wired by the CLI.
"""
from .config import ListenTls, PortMapping, ProxyConfig, UpstreamConfig
from .guard import MirrorRegistry, MirrorTopics, Refusal
from .server import ProxyServer

__all__ = ["ListenTls", "MirrorRegistry", "MirrorTopics", "PortMapping", "ProxyConfig", "ProxyServer",
           "Refusal", "UpstreamConfig"]
