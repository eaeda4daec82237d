"""Consortium: membership views and M-of-N governance (propose, approve, execute)."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.bindings.base import ContractBinding
from ledger.client.sender import Receipt


@dataclass(frozen=True)
class Member:
    """A member's roles, transport key, name and endpoint."""

    address: str
    roles: int
    transport_key: bytes
    name: str
    endpoint: str


@dataclass(frozen=True)
class Proposal:
    """A governance proposal and who approved it."""

    proposal_id: int
    proposer: str
    target: str
    expires_at: int
    executed: bool
    data: bytes
    description: str
    approvers: tuple[str, ...]
    cancelled: bool = False
    ready_at: int = 0  # when the approvals first reached the threshold (0: not yet)
    delay: int = 0  # the timelock of the call's selector when proposed


@dataclass(frozen=True)
class Proposed:
    """A proposal just created (the proposer's approval included)."""

    proposal_id: int
    receipt: Receipt


class Consortium(ContractBinding):
    """The Consortium contract."""

    NAME = "Consortium"

    def propose(self, target: str, data: bytes, description: str) -> Proposed:
        """Propose that the consortium call `target` with `data` (e.g. `binding.encode("setFeeBps", 300)`)."""
        receipt = self._send("propose", target, data, description)
        return Proposed(self._one(receipt, "ProposalCreated")["proposalId"], receipt)

    def approve(self, proposal_id: int) -> Receipt:
        """Approve a proposal."""
        return self._send("approve", proposal_id)

    def revoke(self, proposal_id: int) -> Receipt:
        """Withdraw the sender's approval of an open proposal."""
        return self._send("revoke", proposal_id)

    def cancel(self, proposal_id: int) -> Receipt:
        """Cancel an open proposal (its proposer only)."""
        return self._send("cancel", proposal_id)

    def execute(self, proposal_id: int) -> Receipt:
        """Execute a proposal that reached the threshold before expiring."""
        return self._send("execute", proposal_id)

    def set_endpoint(self, transport_key: bytes, endpoint: str) -> Receipt:
        """Publish the sender's transport key and endpoint."""
        return self._send("setEndpoint", transport_key, endpoint)

    def is_member(self, account: str) -> bool:
        """True for an active member."""
        return bool(self._call("isMember", account))

    def member(self, account: str) -> Member:
        """A member's record."""
        roles, key, name, endpoint = self._call("member", account)
        return Member(account, roles, bytes(key), name, endpoint)

    def members(self) -> tuple[str, ...]:
        """Every active member."""
        return tuple(self._call("members"))

    def threshold(self) -> int:
        """Approvals a proposal needs."""
        return int(self._call("threshold"))

    def proposal(self, proposal_id: int) -> Proposal:
        """A proposal's state."""
        proposer, target, expires, executed, data, description, approvers, cancelled, ready_at, delay = self._call(
            "proposal", proposal_id
        )
        return Proposal(
            proposal_id,
            proposer,
            target,
            expires,
            executed,
            bytes(data),
            description,
            tuple(approvers),
            cancelled,
            ready_at,
            delay,
        )
