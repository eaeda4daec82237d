"""Governance proposals: M-of-N, created, approved and executed by members."""

from __future__ import annotations

from typing import Annotated

from eth_utils import to_checksum_address
from fastapi import APIRouter, Depends, Path, status

from gateway.bounded_route import BoundedJsonRoute
from gateway.deps import CurrentMember, Ledger, require_operator
from gateway.errors import ERROR_RESPONSES
from gateway.membership import Member
from gateway.schemas.fields import show
from gateway.schemas.jobs import TransactionPublic
from gateway.schemas.proposals import ProposalCreate, ProposalPublic

router = APIRouter(prefix="/proposals", tags=["governance"], responses=ERROR_RESPONSES, route_class=BoundedJsonRoute)
ProposalId = Path(ge=0, lt=2**256, description="Proposal id")
Operator = Annotated[Member, Depends(require_operator())]


@router.post("", response_model=ProposalPublic, status_code=status.HTTP_201_CREATED, summary="Propose")
def propose(body: ProposalCreate, member: Operator, ledger: Ledger) -> ProposalPublic:
    """Propose a governance call (the proposer's approval included)."""
    proposed = ledger.consortium.propose(body.target, bytes.fromhex(body.data[2:]), body.description)
    return read_proposal(member, ledger, proposed.proposal_id)


@router.get("/{proposal_id}", response_model=ProposalPublic, summary="A proposal and its approvals")
def read_proposal(member: CurrentMember, ledger: Ledger, proposal_id: int = ProposalId) -> ProposalPublic:
    """The proposal as the Consortium holds it."""
    p = ledger.consortium.proposal(proposal_id)
    return ProposalPublic(
        proposal_id=p.proposal_id,
        proposer=to_checksum_address(p.proposer),
        target=to_checksum_address(p.target),
        expires_at=p.expires_at,
        executed=p.executed,
        data=show(p.data),
        description=p.description,
        approvers=[to_checksum_address(a) for a in p.approvers],
    )


@router.post("/{proposal_id}/approve", response_model=TransactionPublic, summary="Approve a proposal")
def approve(member: Operator, ledger: Ledger, proposal_id: int = ProposalId) -> TransactionPublic:
    """Approve as this gateway's member."""
    receipt = ledger.consortium.approve(proposal_id)
    return TransactionPublic(tx_hash=show(receipt.tx_hash), block_number=receipt.block_number)


@router.post("/{proposal_id}/execute", response_model=TransactionPublic, summary="Execute an approved proposal")
def execute(member: Operator, ledger: Ledger, proposal_id: int = ProposalId) -> TransactionPublic:
    """Execute a proposal that reached the threshold before it expired."""
    receipt = ledger.consortium.execute(proposal_id)
    return TransactionPublic(tx_hash=show(receipt.tx_hash), block_number=receipt.block_number)
