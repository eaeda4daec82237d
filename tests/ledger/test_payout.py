"""The Python payout rule: exact, conserving, and in Settlement's order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.payout import PayoutRuleError, refund, split


def test_split_pays_prices_fee_and_weighted_rest_with_dust_to_first_compute_party() -> None:
    credits = split(1_000, ["A", "B"], [100, 50], [1, 2], ["C0", "C1"], fee_bps=1_000)
    # pool 850, fee 85 → 42 each, rest 765 → 255 / 510; dust 1 to C0.
    assert [(c.payee, c.amount) for c in credits] == [("A", 355), ("B", 560), ("C0", 43), ("C1", 42)]


@given(escrow=st.integers(0, 2**100), data=st.data())
def test_credits_sum_to_the_escrow_exactly(escrow: int, data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 6))
    prices = data.draw(st.lists(st.integers(0, escrow // n), min_size=n, max_size=n))
    weights = data.draw(st.lists(st.integers(0, 2**60), min_size=n, max_size=n).filter(lambda w: sum(w) > 0))
    parties = [f"C{j}" for j in range(data.draw(st.integers(1, 4)))]
    credits = split(escrow, [f"O{i}" for i in range(n)], prices, weights, parties, data.draw(st.integers(0, 10_000)))
    assert sum(c.amount for c in credits) == escrow


def test_split_rejects_what_the_contract_rejects() -> None:
    with pytest.raises(PayoutRuleError, match="below the sum"):
        split(10, ["A"], [11], [1], ["C"], 0)
    with pytest.raises(PayoutRuleError, match="sum to more than zero"):
        split(10, ["A"], [1], [0], ["C"], 0)
    with pytest.raises(PayoutRuleError, match="compute party"):
        split(10, ["A"], [1], [1], [], 0)


def test_refund_pays_prices_but_the_aborters_then_the_rest_to_the_requester() -> None:
    credits = refund(1_000, "R", ["A", "B", "R"], [100, 50, 30], unpaid="b")
    assert [(c.payee, c.amount) for c in credits] == [("A", 100), ("R", 30), ("R", 870)]
    assert [(c.payee, c.amount) for c in refund(1_000, "R", [], [])] == [("R", 1_000)]
    with pytest.raises(PayoutRuleError, match="below the prices"):
        refund(10, "R", ["A"], [11])
