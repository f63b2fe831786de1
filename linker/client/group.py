"""The classic group protocol's member side (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), and
the write gate a member's lease closes.

Requests only: what a member does with an answer (rejoin, fence, assign) is decided above this
layer (``linker.group``). Group-level error codes are returned, not raised, because every one of
them is a normal step of the protocol for the caller; transport failures raise ``ClientError``.
The coordinator is found once and found again after NOT_COORDINATOR and its kin.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kproto import ApiKey, messages
from kproto.errors import ErrorCode

from .admin import Admin
from .core import Client
from .errors import ClientError
from .kafka_errors import COORDINATOR_CODES


@dataclass
class JoinResult:
    error: int
    generation: int = -1
    member_id: str = ""
    leader: str = ""
    protocol: str | None = None
    members: list[tuple[str, bytes]] = field(default_factory=list)   # the leader's view only


class GroupClient:
    """Calls to one group's coordinator on ``client``'s cluster."""

    def __init__(self, client: Client, group_id: str, protocol_type: str) -> None:
        self.client = client
        self.group_id = group_id
        self.protocol_type = protocol_type
        self._admin = Admin(client)
        self._node: int | None = None

    async def coordinator(self) -> int:
        if self._node is None:
            self._node = await self._admin.find_coordinator(self.group_id)
        return self._node

    def _note(self, code: int) -> int:
        if code in COORDINATOR_CODES:
            self._node = None   # found again on the next call
        return code

    async def _call(self, api: int, build: Callable[[int], Any], timeout: float | None = None) -> Any:
        try:
            response, _ = await self.client.versioned_request(await self.coordinator(), api, build, timeout=timeout)
        except ClientError:
            self._node = None
            raise
        return response

    async def join(self, member_id: str, session_ms: int, rebalance_ms: int, protocols: list[tuple[str, bytes]],
                   reason: str | None = None) -> JoinResult:
        """One JoinGroup; held by the coordinator until the rebalance completes (up to ``rebalance_ms``)."""
        J = messages.JoinGroupRequest

        def build(version: int) -> Any:
            return J(group_id=self.group_id, session_timeout_ms=session_ms, rebalance_timeout_ms=rebalance_ms,
                     member_id=member_id, group_instance_id=None, protocol_type=self.protocol_type,
                     protocols=[J.JoinGroupRequestProtocol(name=n, metadata=m) for n, m in protocols],
                     reason=reason)
        r = await self._call(ApiKey.JOIN_GROUP, build, timeout=rebalance_ms / 1000 + self.client.config.request_timeout)
        code = self._note(r.error_code)
        return JoinResult(code, r.generation_id, r.member_id, r.leader, r.protocol_name,
                          [(m.member_id, bytes(m.metadata)) for m in r.members])

    async def sync(self, member_id: str, generation: int, protocol: str | None,
                   assignments: dict[str, bytes]) -> tuple[int, bytes]:
        """One SyncGroup: the leader sends every member's assignment, each member gets its own."""
        S = messages.SyncGroupRequest

        def build(version: int) -> Any:
            return S(group_id=self.group_id, generation_id=generation, member_id=member_id,
                     group_instance_id=None, protocol_type=self.protocol_type, protocol_name=protocol,
                     assignments=[S.SyncGroupRequestAssignment(member_id=m, assignment=a)
                                  for m, a in assignments.items()])
        r = await self._call(ApiKey.SYNC_GROUP, build)
        return self._note(r.error_code), bytes(r.assignment or b"")

    async def heartbeat(self, member_id: str, generation: int, timeout: float) -> int:
        H = messages.HeartbeatRequest
        r = await self._call(ApiKey.HEARTBEAT, lambda v: H(group_id=self.group_id, generation_id=generation,
                                                          member_id=member_id, group_instance_id=None),
                             timeout=timeout)
        return self._note(r.error_code)

    async def leave(self, member_id: str, reason: str) -> int:
        L = messages.LeaveGroupRequest

        def build(version: int) -> Any:
            if version >= 3:
                return L(group_id=self.group_id,
                         members=[L.MemberIdentity(member_id=member_id, group_instance_id=None, reason=reason)])
            return L(group_id=self.group_id, member_id=member_id)
        r = await self._call(ApiKey.LEAVE_GROUP, build, timeout=5.0)
        code = r.error_code
        if code == ErrorCode.NONE:
            for m in getattr(r, "members", None) or []:
                code = m.error_code or code
        return self._note(code)
