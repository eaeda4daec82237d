"""Python and Solidity cannot drift on payouts: `ledger.payout.split` against `Settlement.previewSplit`.

Hypothesis draws escrows, prices, fees, 1–16 compute parties, weights with zeros and escrows small
enough to leave dust; each draw is split by the Python rule and by the contract on a real anvil node.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.bindings.settlement import Settlement
from ledger.client.sender import TransactionSender
from ledger.deploy import config_for_members, deploy_consortium
from ledger.payout import split
from tests.backends import anvil, throwaway_accounts

MAX_COMPUTE = 16


@pytest.fixture(scope="module")
def settlement() -> Iterator[Settlement]:
    """Settlement of a one-member consortium on anvil (previewSplit is pure: membership does not matter)."""
    accounts = throwaway_accounts(2)
    with anvil(accounts) as w3:
        deployment = deploy_consortium(w3, accounts[0], config_for_members([(accounts[1].address, 31)]))
        yield Settlement(TransactionSender(w3, accounts[1]), deployment.settlement)


@st.composite
def splits(draw: st.DrawFn) -> tuple[int, list[int], list[int], int, int]:
    """(escrow, prices, weights, compute parties, fee bps): sometimes tiny escrows, zero weights, zero prices."""
    n = draw(st.integers(1, 12))
    price = st.one_of(st.just(0), st.integers(0, 1_000), st.integers(0, 2**80))
    prices = draw(st.lists(price, min_size=n, max_size=n))
    weight = st.one_of(st.just(0), st.integers(0, 10), st.integers(0, 2**64))
    weights = draw(st.lists(weight, min_size=n, max_size=n).filter(lambda w: sum(w) > 0))
    extra = draw(st.one_of(st.integers(0, 50), st.integers(0, 2**90)))  # small pools leave dust
    fee = draw(st.one_of(st.sampled_from([0, 1, 500, 3_000, 9_999, 10_000]), st.integers(0, 10_000)))
    return sum(prices) + extra, prices, weights, draw(st.integers(1, MAX_COMPUTE)), fee


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=splits())
def test_python_split_equals_settlement_preview_split(
    settlement: Settlement, case: tuple[int, list[int], list[int], int, int]
) -> None:
    escrow, prices, weights, compute_count, fee = case
    owners = [f"O{i}" for i in range(len(prices))]
    parties = [f"C{j}" for j in range(compute_count)]
    chain = settlement.preview_split(escrow, prices, compute_count, weights, fee_bps=fee)
    expected = [(f"O{i}", share) for i, share in enumerate(chain.source_shares)]
    expected.append(("C0", chain.compute_share + chain.dust))
    expected.extend((p, chain.compute_share) for p in parties[1:])
    python = [(c.payee, c.amount) for c in split(escrow, owners, prices, weights, parties, fee)]
    assert python == [(payee, amount) for payee, amount in expected if amount > 0]
    assert sum(chain.source_shares) + chain.compute_share * compute_count + chain.dust == escrow
