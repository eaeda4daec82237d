"""/chain and /domain: what a client needs before it signs, and where the gateway's index stands."""

from __future__ import annotations

import httpx

from .conftest import Gateway, refused


def test_domain_is_public_and_matches_the_deployment(gateway: Gateway) -> None:
    domain = httpx.get(gateway.url + "/domain").json()
    assert domain["chain_id"] == gateway.consortium.deployment.chain_id
    assert domain["consortium"] == gateway.consortium.deployment.addresses["Consortium"]
    assert domain["name"] == "Custos Gateway" and domain["version"] == "1"
    assert domain["gateway"] == gateway.address("bank")


def test_chain_status_names_operator_and_index_position(gateway: Gateway) -> None:
    status = gateway.client("regulator").get("/chain").json()
    assert status["operator"] == gateway.address("bank")
    assert status["indexed_block"] >= 1 and status["job_count"] >= 1


def test_chain_status_refuses_non_members(gateway: Gateway) -> None:
    refused(gateway.client("outsider").get("/chain"), 403, "auth.not_member")
