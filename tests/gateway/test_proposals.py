"""/proposals: M-of-N governance through gateways; a member removed by governance loses access."""

from __future__ import annotations

from eth_account import Account

from ledger.bindings import Consortium
from ledger.client import TransactionSender

from .conftest import Gateway, refused


def _approve_elsewhere(gateway: Gateway, proposal_id: int, *who: str) -> None:
    """Other organisations approve through their own keys (their own gateways, in production)."""
    info = gateway.consortium.deployment
    for name in who:
        sender = TransactionSender(gateway.consortium.w3, gateway.consortium.people[name])
        Consortium.at(sender, info).approve(proposal_id)


def _govern(gateway: Gateway, function: str, *args: object) -> None:
    consortium = gateway.services.ledger.consortium  # type: ignore[union-attr]  # the chain-backed gateway fixture always has ledger handles
    data = "0x" + consortium.encode(function, *args).hex()
    proposed = gateway.client("bank").post(
        "/proposals", json={"target": consortium.address, "data": data, "description": function}
    )
    assert proposed.status_code == 201, proposed.text
    proposal_id = proposed.json()["proposal_id"]
    _approve_elsewhere(gateway, proposal_id, "card", "hospital")
    assert len(gateway.client("regulator").get(f"/proposals/{proposal_id}").json()["approvers"]) == 3
    executed = gateway.client("bank").post(f"/proposals/{proposal_id}/execute")
    assert executed.status_code == 200, executed.text


def test_member_added_then_removed_by_governance_loses_access(gateway: Gateway) -> None:
    newcomer = Account.create()
    _govern(gateway, "addMember", newcomer.address, 8, "Second regulator")
    gateway.clock.value += 6  # past the membership cache
    client = gateway.client("regulator")
    client.auth._key = bytes(newcomer.key)  # type: ignore[union-attr]  # the client's auth is our Eip712Auth; the test swaps its key
    assert client.get("/members/me").json()["name"] == "Second regulator"

    _govern(gateway, "removeMember", newcomer.address)
    gateway.clock.value += 6
    refused(client.get("/members/me"), 403, "auth.not_member")


def test_unknown_proposal_is_404(gateway: Gateway) -> None:
    refused(gateway.client("regulator").get("/proposals/777"), 404, "contract.ConsortiumUnknownProposal")


def test_auditor_cannot_approve_through_the_bank_gateway(gateway: Gateway) -> None:
    refused(gateway.client("regulator").post("/proposals/0/approve"), 403, "auth.not_operator")
