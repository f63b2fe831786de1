"""The linker's own identity: no client locks the linker out or throttles it through the proxy.

A client of a linked proxy could delete or replace the SCRAM credentials of the linker's
SASL user (the linker fails at its next connection) or set a client quota on its user or
client id (a byte rate of 1 stops the mirror while everything looks healthy). These
entries are refused (POLICY_VIOLATION, naming only the entity sent), every other entry of the same
request goes to the broker, as the topic guard does (guard.py). Quota defaults (a user or
client-id entity with no name) apply to the linker too, unless it has its own quota, so
they are refused as well: change them on the cluster directly. IP quotas (connection
rates) are not judged.
"""
from __future__ import annotations

from typing import Any

from kproto import messages
from kproto.errors import ErrorCode

from .config import LinkerIdentity
from .guard import Guarded

_USER, _CLIENT_ID = "user", "client-id"


def _refusal(what: str) -> str:
    """Names only what the client sent (a refusal may reach a client the broker has not
    authenticated yet, issue 17.4): not the link, not why the entity is protected."""
    return f"{what} is not changed through this proxy; change it on the cluster directly"


def guard_scram(body: Any, identity: LinkerIdentity) -> Guarded | None:
    """AlterUserScramCredentials: deletions and upsertions for the linker's users refused.
    The broker answers one result per user named, so refused users get one result each."""
    refused = sorted({c.name for c in [*body.deletions, *body.upsertions] if c.name in identity.users})
    if not refused:
        return None
    body.deletions = [c for c in body.deletions if c.name not in identity.users]
    body.upsertions = [c for c in body.upsertions if c.name not in identity.users]
    R = messages.AlterUserScramCredentialsResponse

    def complete(response: Any) -> Any:
        response = response if response is not None else R(throttle_time_ms=0, results=[])
        response.results = list(response.results) + [
            R.AlterUserScramCredentialsResult(user=u, error_code=ErrorCode.POLICY_VIOLATION,
                                              error_message=_refusal(f"the SCRAM credential of user {u}"))
            for u in refused]
        return response
    forward = body if body.deletions or body.upsertions else None
    return Guarded(forward, complete, [f"user {u}" for u in refused])


def _entity_text(entity: list[Any]) -> str:
    return ", ".join(f"{e.entity_type} {'(default)' if e.entity_name is None else e.entity_name}"
                     for e in entity)


def _applies_to_linker(entity: list[Any], identity: LinkerIdentity) -> bool:
    """A quota entity whose user or client-id part names the linker's, or is the default."""
    for e in entity:
        if e.entity_type == _USER and (e.entity_name is None or e.entity_name in identity.users):
            return True
        if e.entity_type == _CLIENT_ID and (e.entity_name is None or identity.owns_client_id(e.entity_name)):
            return True
    return False


def guard_quotas(body: Any, identity: LinkerIdentity) -> Guarded | None:
    """AlterClientQuotas: entries whose entity applies to the linker refused. Clients match
    the answers by entity (the broker answers in no particular order), so the refused
    entries' answers follow the broker's."""
    refused, kept = [], []
    for e in body.entries:
        (refused if _applies_to_linker(e.entity, identity) else kept).append(e)
    if not refused:
        return None
    body.entries = kept
    R = messages.AlterClientQuotasResponse

    def complete(response: Any) -> Any:
        response = response if response is not None else R(throttle_time_ms=0, entries=[])
        response.entries = list(response.entries) + [
            R.EntryData(error_code=ErrorCode.POLICY_VIOLATION,
                        error_message=_refusal(f"a client quota of {_entity_text(entry.entity)}"),
                        entity=[R.EntityData(entity_type=e.entity_type, entity_name=e.entity_name)
                                for e in entry.entity])
            for entry in refused]
        return response
    forward = body if body.entries else None
    return Guarded(forward, complete, [_entity_text(e.entity) for e in refused])
