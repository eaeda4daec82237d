"""/payouts: balances and pull withdrawals through the operator's gateway."""

from __future__ import annotations

from .conftest import Gateway, refused


def test_balances_after_the_finished_job(gateway: Gateway) -> None:
    hospital = gateway.client("hospital").get("/payouts/balance").json()
    assert hospital["member"] == gateway.address("hospital") and hospital["credit"] > 0
    assert gateway.client("card").get("/payouts/balance").json()["credit"] == 0  # withdrawn in the scenario


def test_withdrawing_nothing_is_refused_by_the_chain(gateway: Gateway) -> None:
    message = refused(gateway.client("bank").post("/payouts/withdraw"), 409, "contract.SettlementNothingToWithdraw")
    assert gateway.address("bank").lower() in message.lower()


def test_only_the_operator_withdraws_here(gateway: Gateway) -> None:
    refused(gateway.client("hospital").post("/payouts/withdraw"), 403, "auth.not_operator")
