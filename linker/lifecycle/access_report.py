"""What the destination lacks for clients to authenticate and be served after a switch (issue 21,
finding 10): ACLs are copied, but SCRAM credentials and client quotas are not (their secrets
cannot be read, and a quota is an operator's choice per cluster), so they are reported.

Three checks, each "not checked: <reason>" when a cluster refuses it (no right to describe,
an old broker, no SCRAM):

- principals named in the copied ACLs that have SCRAM credentials on the source and none on
  the destination (they could not log in there);
- SCRAM users of the source missing on the destination, or missing a mechanism (names and
  mechanisms only: the protocol never carries secrets, and none is printed);
- client quotas (user and client-id entities) set on the source that the destination lacks or
  sets differently.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from kproto.errors import ErrorCode
from linker.client import Admin, Client, ClientError, ClientQuotaEntry, KafkaError, UnsupportedVersion

log = logging.getLogger("linker.lifecycle")

#: quota entity types a client brings with it; ``ip`` quotas belong to the network, not to a client
CLIENT_ENTITIES = frozenset({"user", "client-id"})
#: answers that mean "this cluster does not let us look", reported rather than raised
NOT_CHECKED_CODES = frozenset({ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ErrorCode.SECURITY_DISABLED,
                               ErrorCode.UNSUPPORTED_VERSION, ErrorCode.INVALID_REQUEST,
                               ErrorCode.UNSUPPORTED_SASL_MECHANISM})

T = TypeVar("T")


@dataclasses.dataclass
class AccessReport:
    principals: list[str] = dataclasses.field(default_factory=list)   # ACL principals without credentials
    scram_users: list[str] = dataclasses.field(default_factory=list)  # users (or mechanisms) missing
    quotas: list[str] = dataclasses.field(default_factory=list)       # quotas missing or different
    not_checked: list[str] = dataclasses.field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Nothing missing and everything checked."""
        return not (self.principals or self.scram_users or self.quotas or self.not_checked)

    def lines(self) -> list[str]:
        out = [f"access: ACL principal without SCRAM credentials on the destination: {p}" for p in self.principals]
        out += [f"access: SCRAM user missing on the destination: {u}" for u in self.scram_users]
        out += [f"access: client quota missing or different on the destination: {q}" for q in self.quotas]
        out += [f"access: {n}" for n in self.not_checked]
        return out or ["access: the destination has the SCRAM users and client quotas of the source"]

    def as_doc(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


async def _ask(what: str, where: str, call: Callable[[], Awaitable[T]], report: AccessReport) -> T | None:
    """The call's answer, or None with "<what>: not checked: <reason>" in the report."""
    try:
        return await call()
    except KafkaError as exc:
        if exc.code not in NOT_CHECKED_CODES:
            raise
        report.not_checked.append(f"{what}: not checked: the {where} answered {exc.code.name}")
    except UnsupportedVersion as exc:
        report.not_checked.append(f"{what}: not checked: the {where} does not support it ({exc})")
    return None


def _entity(e: tuple[tuple[str, str | None], ...]) -> str:
    return ",".join(f"{t}={'<default>' if n is None else n}" for t, n in e)


def compare_quotas(source: list[ClientQuotaEntry], dest: list[ClientQuotaEntry]) -> list[str]:
    """Source quotas of user/client-id entities the destination lacks or sets otherwise (pure)."""
    have = {q.entity: q.values for q in dest}
    out = []
    for q in sorted(source, key=lambda q: _entity(q.entity)):
        if not q.entity or not {t for t, _ in q.entity} <= CLIENT_ENTITIES:
            continue
        there = have.get(q.entity, {})
        for key, value in sorted(q.values.items()):
            if key not in there:
                out.append(f"{_entity(q.entity)} {key}={value:g} (none on the destination)")
            elif there[key] != value:
                out.append(f"{_entity(q.entity)} {key}={value:g} (destination {there[key]:g})")
    return out


def compare_scram(source: dict[str, list[Any]], dest: dict[str, list[Any]],
                  principals: Iterable[str]) -> tuple[list[str], list[str]]:
    """(ACL principals with source credentials and none on the destination, source users or
    mechanisms missing on the destination) (pure)."""
    def mechanisms(creds: list[Any]) -> set[str]:
        return {c.mechanism for c in creds}
    missing_principals = []
    for p in sorted(set(principals)):
        kind, _, name = p.partition(":")
        if kind == "User" and name in source and name not in dest:
            missing_principals.append(f"{p} (source: {', '.join(sorted(mechanisms(source[name])))})")
    users = []
    for name, creds in sorted(source.items()):
        lacking = mechanisms(creds) - mechanisms(dest.get(name, []))
        if name not in dest:
            users.append(f"{name} ({', '.join(sorted(lacking))})")
        elif lacking:
            users.append(f"{name}: {', '.join(sorted(lacking))} (the destination has "
                         f"{', '.join(sorted(mechanisms(dest[name])))})")
    return missing_principals, users


async def check_access(source: Client, dest: Client, principals: Iterable[str]) -> AccessReport:
    """The report for clients whose ACLs name `principals` (see the module docstring). Errors
    other than the refusals above propagate (the caller's retry loop handles transport errors)."""
    report = AccessReport()
    src_scram = await _ask("SCRAM users", "source", lambda: Admin(source).describe_user_scram_credentials(),
                           report)
    dst_scram = None
    if src_scram is not None:
        dst_scram = await _ask("SCRAM users", "destination",
                               lambda: Admin(dest).describe_user_scram_credentials(), report)
    if src_scram is not None and dst_scram is not None:
        report.principals, report.scram_users = compare_scram(src_scram, dst_scram, principals)
    src_quotas = await _ask("client quotas", "source", lambda: Admin(source).describe_client_quotas(), report)
    dst_quotas = None
    if src_quotas is not None:
        dst_quotas = await _ask("client quotas", "destination", lambda: Admin(dest).describe_client_quotas(), report)
    if src_quotas is not None and dst_quotas is not None:
        report.quotas = compare_quotas(src_quotas, dst_quotas)
    return report


async def report_access(source: Client, dest: Client, principals: Iterable[str]) -> AccessReport:
    """`check_access` that never raises: a failure is one "not checked" line (a report must not
    stop the ACL sync or a promote)."""
    try:
        return await check_access(source, dest, principals)
    except (ClientError, OSError) as exc:
        return AccessReport(not_checked=[f"SCRAM users and client quotas: not checked: {exc}"])
