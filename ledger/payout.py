"""The payout rule of docs/protocol.md, as a pure function (the same integer arithmetic as PayoutMath).

With escrow `E`, source prices `p_i`, fee `f` basis points, compute parties `c_1..c_m`, weights `w_i`:
each source owner gets `p_i + R·w_i/Σw` where `R = E − Σp − F` and `F = (E − Σp)·f/10000`;
each compute party gets `F/m`; all integer dust goes to `c_1`. Credits sum to `E` exactly.
`f` is the fee recorded when the job opened (JobOpened.feeBps), never the fee of the day it settles.

A refund (`refund`) credits each listed source owner its price first, then the rest to the requester:
a job cancelled or aborted once Ready, or a dispute left unresolved past its resolution window, pays
the owners' prices (an aborting owner excepted); a job still Open, or one governance refunds, pays none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BPS = 10_000


class PayoutRuleError(ValueError):
    """The inputs break the rule's preconditions (the contract reverts on the same inputs)."""


@dataclass(frozen=True)
class Credit:
    """One credit the rule implies: who, how much, and why (a source index or a compute party)."""

    payee: str
    amount: int
    reason: str


def split(
    escrow: int,
    owners: Sequence[str],
    prices: Sequence[int],
    weights: Sequence[int],
    compute_parties: Sequence[str],
    fee_bps: int,
) -> list[Credit]:
    """Credits in the order Settlement.release emits them (zero credits are not emitted)."""
    if not compute_parties:
        raise PayoutRuleError("a job needs at least one compute party")
    if not prices or len(weights) != len(prices) or len(owners) != len(prices):
        raise PayoutRuleError("owners, prices and weights must be non-empty and aligned")
    if any(w < 0 for w in weights) or sum(weights) == 0:
        raise PayoutRuleError("weights must be non-negative and sum to more than zero")
    price_sum, weight_sum = sum(prices), sum(weights)
    if escrow < price_sum:
        raise PayoutRuleError(f"escrow {escrow} is below the sum of prices {price_sum}")
    pool = escrow - price_sum
    fee = pool * fee_bps // BPS
    compute_share = fee // len(compute_parties)
    rest = pool - fee
    shares = [price + rest * weight // weight_sum for price, weight in zip(prices, weights)]
    dust = escrow - sum(shares) - compute_share * len(compute_parties)
    credits = [Credit(owner, share, f"source #{i}") for i, (owner, share) in enumerate(zip(owners, shares))]
    credits.append(Credit(compute_parties[0], compute_share + dust, "compute party #0 (fee share + dust)"))
    credits.extend(
        Credit(party, compute_share, f"compute party #{j}") for j, party in enumerate(compute_parties[1:], start=1)
    )
    return [c for c in credits if c.amount > 0]


def refund(
    escrow: int, requester: str, owners: Sequence[str], prices: Sequence[int], unpaid: str | None = None
) -> list[Credit]:
    """Credits in the order Settlement.refund emits them: each owner's price (but `unpaid`'s), then the rest."""
    if len(owners) != len(prices):
        raise PayoutRuleError("owners and prices must be aligned")
    paid = [
        0 if unpaid is not None and owner.lower() == unpaid.lower() else price for owner, price in zip(owners, prices)
    ]
    if sum(paid) > escrow:
        raise PayoutRuleError(f"escrow {escrow} is below the prices paid {sum(paid)}")
    credits = [Credit(owner, price, f"source #{i} (price)") for i, (owner, price) in enumerate(zip(owners, paid))]
    credits.append(Credit(requester, escrow - sum(paid), "requester (refund)"))
    return [c for c in credits if c.amount > 0]
