"""/sources: register through the operator's gateway, list and read; /audit/sources shows the history."""

from __future__ import annotations

from typing import Any

from .conftest import Gateway, refused
from .scenario import SOURCE_SPEC as SPEC


def audited_source(gateway: Gateway, source_id: int) -> dict[str, Any]:
    """The source's entry in the paginated `/audit/sources` list, walking the pages (the session's
    gateway holds every source the other tests, schemathesis included, registered before)."""
    offset = 0
    while True:
        page = gateway.client("regulator").get(f"/audit/sources?offset={offset}&limit=200").json()
        found = [s for s in page if s["source_id"] == source_id]
        if found:
            return dict(found[0])
        assert page, f"source {source_id} is on no page of /audit/sources"
        offset += len(page)


def test_registered_source_is_readable_with_its_terms(gateway: Gateway) -> None:
    created = gateway.client("bank").post("/sources", json=SPEC)
    assert created.status_code == 201, created.text
    source_id = created.json()["source_id"]
    source = gateway.client("regulator").get(f"/sources/{source_id}").json()
    assert (source["owner"], source["version"], source["row_count"], source["price_per_use"]) == (
        gateway.address("bank"),
        1,
        1200,
        7,
    )
    assert source["commitment"] == SPEC["commitment"]
    assert source_id in [s["source_id"] for s in gateway.client("regulator").get("/sources").json()]
    gateway.clock.value += 2  # let the audit index sync again
    history = audited_source(gateway, source_id)
    assert history["price_per_use"] == 7
    assert history["versions"][0]["commitment"] == SPEC["commitment"]


def test_auditor_cannot_register_a_source(gateway: Gateway) -> None:
    refused(gateway.client("regulator").post("/sources", json=SPEC), 403, "auth.wrong_role")


def test_source_with_a_bad_commitment_is_a_422(gateway: Gateway) -> None:
    message = refused(
        gateway.client("bank").post("/sources", json=SPEC | {"commitment": "0x12"}), 422, "request.invalid"
    )
    assert "commitment" in message


def test_unknown_source_is_404(gateway: Gateway) -> None:
    refused(gateway.client("regulator").get("/sources/424242"), 404, "source.not_found")


def test_new_commitment_version_shows_in_the_history(gateway: Gateway) -> None:
    source_id = gateway.client("bank").post("/sources", json=SPEC).json()["source_id"]
    added = gateway.client("bank").post(
        f"/sources/{source_id}/versions", json={"commitment": "0x" + "cc" * 32, "row_count": 1300}
    )
    assert added.status_code == 201, added.text
    assert added.json()["version"] == 2
    gateway.clock.value += 2
    history = audited_source(gateway, source_id)
    assert [(v["version"], v["row_count"]) for v in history["versions"]] == [(1, 1200), (2, 1300)]


def test_only_the_owner_adds_versions(gateway: Gateway) -> None:
    refused(
        gateway.client("bank").post("/sources/0/versions", json={"commitment": "0x" + "cc" * 32, "row_count": 1}),
        409,
        "contract.DataRegistryNotOwner",
    )


def test_the_owner_raises_its_sources_privacy_budget_and_everyone_reads_it(gateway: Gateway) -> None:
    source_id = gateway.client("bank").post("/sources", json=SPEC).json()["source_id"]
    unset = gateway.client("regulator").get(f"/sources/{source_id}/budget").json()
    assert (unset["epsilon_total"], unset["epsilon_remaining"], unset["exact_allowed"]) == ("0", "0", True)
    body = {"epsilon": "8", "delta": "1e-6", "exact_allowed": False}
    raised = gateway.client("bank").put(f"/sources/{source_id}/budget", json=body)
    assert raised.status_code == 200, raised.text
    assert raised.json() == {
        "source_id": source_id,
        "epsilon_total": "8",
        "epsilon_spent": "0",
        "epsilon_reserved": "0",
        "epsilon_remaining": "8",
        "delta_total": "1e-6",
        "delta_spent": "0",
        "delta_reserved": "0",
        "delta_remaining": "1e-6",
        "exact_allowed": False,
    }
    assert gateway.client("regulator").get(f"/sources/{source_id}/budget").json()["epsilon_total"] == "8"


def test_only_the_owner_in_the_provider_role_sets_a_budget_with_an_exact_figure(gateway: Gateway) -> None:
    body = {"epsilon": "1", "delta": "1e-6"}
    refused(gateway.client("regulator").put("/sources/0/budget", json=body), 403, "auth.wrong_role")
    refused(gateway.client("bank").put("/sources/0/budget", json=body), 403, "source.not_owner")  # another's source
    own = gateway.client("bank").post("/sources", json=SPEC).json()["source_id"]
    refused(
        gateway.client("bank").put(f"/sources/{own}/budget", json=body | {"epsilon": "0.0000001"}),
        400,
        "budget.invalid",
    )
    refused(gateway.client("bank").put(f"/sources/{own}/budget", json=body | {"delta": "2"}), 400, "budget.invalid")
    refused(gateway.client("bank").put("/sources/424242/budget", json=body), 404, "source.not_found")
