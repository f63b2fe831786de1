"""Broker-address rewriting and version clamping on decoded responses (pure).

Every place a broker address reaches a client is listed here; the session
decodes a response only when `needs_decode` says it may carry one, so every
other response passes through as the broker's bytes.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kproto import ApiKey, messages
from kproto.errors import ErrorCode

#: (node id, upstream host, upstream port) -> the proxy's (host, port) for that broker.
AddressOf = Callable[[int, str, int], tuple[str, int]]

PRODUCE_ENDPOINTS_FROM = 10   # KIP-951 NodeEndpoints in Produce responses
FETCH_ENDPOINTS_FROM = 16     # KIP-951 NodeEndpoints in Fetch responses
BROKER_ENDPOINT_TYPE = 1      # DescribeCluster EndpointType: 1 brokers, 2 controllers

#: Responses that may name a broker address, whatever their version.
_ALWAYS = frozenset({ApiKey.METADATA, ApiKey.FIND_COORDINATOR, ApiKey.DESCRIBE_CLUSTER,
                     ApiKey.SHARE_FETCH, ApiKey.SHARE_ACKNOWLEDGE, ApiKey.API_VERSIONS})


def needs_decode(api_key: int, api_version: int) -> bool:
    """True if the response to this request may carry an address or version table."""
    if api_key in _ALWAYS:
        return True
    if api_key == ApiKey.PRODUCE:
        return api_version >= PRODUCE_ENDPOINTS_FROM
    if api_key == ApiKey.FETCH:
        return api_version >= FETCH_ENDPOINTS_FROM
    return False


#: API keys whose responses the proxy must be able to parse: their versions are clamped.
MUST_PARSE = _ALWAYS | {ApiKey.PRODUCE, ApiKey.FETCH}


def rewrite_response(api_key: int, api_version: int, body: Any, address_of: AddressOf) -> bool:
    """Rewrite addresses in a decoded response in place; False if nothing changed."""
    if api_key == ApiKey.METADATA:
        for b in body.brokers:
            b.host, b.port = address_of(b.node_id, b.host, b.port)
        return bool(body.brokers)
    if api_key == ApiKey.FIND_COORDINATOR:
        return _rewrite_coordinator(body, api_version, address_of)
    if api_key == ApiKey.DESCRIBE_CLUSTER:
        if getattr(body, "endpoint_type", BROKER_ENDPOINT_TYPE) != BROKER_ENDPOINT_TYPE:
            return False  # controller endpoints are not brokers: they are not proxied
        for b in body.brokers:
            b.host, b.port = address_of(b.broker_id, b.host, b.port)
        return bool(body.brokers)
    if api_key in (ApiKey.PRODUCE, ApiKey.FETCH, ApiKey.SHARE_FETCH, ApiKey.SHARE_ACKNOWLEDGE):
        endpoints = body.node_endpoints
        for e in endpoints:
            e.host, e.port = address_of(e.node_id, e.host, e.port)
        return bool(endpoints)
    return False


def _rewrite_coordinator(body: Any, api_version: int, address_of: AddressOf) -> bool:
    if api_version <= 3:
        if body.error_code != ErrorCode.NONE or body.node_id < 0:
            return False
        body.host, body.port = address_of(body.node_id, body.host, body.port)
        return True
    changed = False
    for c in body.coordinators:
        if c.error_code == ErrorCode.NONE and c.node_id >= 0:
            c.host, c.port = address_of(c.node_id, c.host, c.port)
            changed = True
    return changed


def _kproto_range(api_key: int) -> tuple[int, int] | None:
    try:
        req = messages.by_key(api_key, True)
        resp = messages.by_key(api_key, False)
    except KeyError:
        return None
    return max(req.VALID_VERSIONS[0], resp.VALID_VERSIONS[0]), min(req.VALID_VERSIONS[1], resp.VALID_VERSIONS[1])


#: SaslHandshake v0 is followed by raw, unframed SASL tokens, which a frame proxy cannot carry.
_MIN_VERSION_OVERRIDES = {int(ApiKey.SASL_HANDSHAKE): 1}


def clamp_api_versions(body: Any, caps: Mapping[int, int] | None = None,
                       advertise: Callable[[int], bool] | None = None) -> None:
    """Keep, for every API kproto knows, the intersection of the broker's and kproto's
    versions (dropping an API with none in common), further capped by `caps`
    (api key -> highest version); API keys kproto does not know stay as the broker
    says, since they only ever pass through undecoded. `advertise(api_key)` False drops
    the key (the API is not forwarded while a guard is active: filters.py)."""
    caps = caps or {}
    kept = []
    for entry in body.api_keys:
        if advertise is not None and not advertise(entry.api_key):
            continue
        ours = _kproto_range(entry.api_key)
        if ours is not None:
            lo = max(entry.min_version, ours[0], _MIN_VERSION_OVERRIDES.get(entry.api_key, 0))
            hi = min(entry.max_version, ours[1], caps.get(entry.api_key, ours[1]))
            if lo > hi:
                continue
            entry.min_version, entry.max_version = lo, hi
        kept.append(entry)
    body.api_keys = kept
