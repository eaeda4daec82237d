"""/sources: register through the operator's gateway, list and read; /audit/sources shows the history."""

from __future__ import annotations

from .conftest import Gateway, refused

SPEC = {
    "schema_hash": "0x" + "aa" * 32,
    "commitment": "0x" + "bb" * 32,
    "row_count": 1200,
    "metadata_uri": "s3://bank/loans",
    "price_per_use": 7,
    "allowed_kinds": 0b11,
}


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
    history = {s["source_id"]: s for s in gateway.client("regulator").get("/audit/sources").json()}
    assert history[source_id]["price_per_use"] == 7
    assert history[source_id]["versions"][0]["commitment"] == SPEC["commitment"]


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
    history = {s["source_id"]: s for s in gateway.client("regulator").get("/audit/sources").json()}[source_id]
    assert [(v["version"], v["row_count"]) for v in history["versions"]] == [(1, 1200), (2, 1300)]


def test_only_the_owner_adds_versions(gateway: Gateway) -> None:
    refused(
        gateway.client("bank").post("/sources/0/versions", json={"commitment": "0x" + "cc" * 32, "row_count": 1}),
        409,
        "contract.DataRegistryNotOwner",
    )
