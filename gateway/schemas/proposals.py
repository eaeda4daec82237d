"""Governance proposal bodies."""

from __future__ import annotations

from pydantic import BaseModel, Field

from gateway.schemas.fields import Address


class ProposalCreate(BaseModel):
    """Propose that the consortium call `target` with `data` (ABI-encoded call)."""

    target: Address
    data: str = Field(pattern=r"^0x([0-9a-fA-F]{2}){0,4096}$")
    description: str = Field(max_length=1000)


class ProposalPublic(BaseModel):
    """A proposal and who approved it."""

    proposal_id: int
    proposer: str
    target: str
    expires_at: int
    executed: bool
    data: str
    description: str
    approvers: list[str]
