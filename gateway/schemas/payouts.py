"""Payout bodies."""

from __future__ import annotations

from pydantic import BaseModel


class BalancePublic(BaseModel):
    """Credits a member may withdraw, in token base units."""

    member: str
    credit: int


class WithdrawalPublic(BaseModel):
    """Credits just withdrawn to the operator."""

    amount: int
    tx_hash: str
