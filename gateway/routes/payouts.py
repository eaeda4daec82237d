"""Payouts: a member's withdrawable credit, and withdrawal (pull payments)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from gateway.bounded_route import BoundedJsonRoute
from gateway.deps import CurrentMember, Ledger, require_operator
from gateway.errors import ERROR_RESPONSES
from gateway.membership import Member
from gateway.schemas.fields import show
from gateway.schemas.payouts import BalancePublic, WithdrawalPublic

router = APIRouter(prefix="/payouts", tags=["payouts"], responses=ERROR_RESPONSES, route_class=BoundedJsonRoute)
Operator = Annotated[Member, Depends(require_operator())]


@router.get("/balance", response_model=BalancePublic, summary="The caller's withdrawable credit")
def read_balance(member: CurrentMember, ledger: Ledger) -> BalancePublic:
    """Credits the calling member may withdraw."""
    return BalancePublic(member=member.address, credit=ledger.settlement.credit_of(member.address))


@router.post("/withdraw", response_model=WithdrawalPublic, summary="Withdraw the operator's credits")
def withdraw(member: Operator, ledger: Ledger) -> WithdrawalPublic:
    """Withdraw every credit of this gateway's member to its token balance."""
    withdrawal = ledger.settlement.withdraw()
    return WithdrawalPublic(amount=withdrawal.amount, tx_hash=show(withdrawal.receipt.tx_hash))
