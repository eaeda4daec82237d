"""Audit routes over a real chain: a finished job's timeline, every step verified; sources; payouts."""

from __future__ import annotations

import httpx
import pytest

from ledger.units import parse_amount

from .conftest import Gateway, SealedGateway
from .scenario import WINDOW


def test_job_list_shows_status_and_participants(gateway: Gateway) -> None:
    response = gateway.client("regulator").get("/audit/jobs")
    assert response.status_code == 200
    job = next(j for j in response.json() if j["job_id"] == gateway.consortium.job_id)
    people = gateway.consortium.people
    assert (job["kind"], job["status"]) == ("FEDAVG", "Finalized")
    assert set(job["participants"]) == {people[p].address for p in ("bank", "card", "hospital", "arbiter")}


def test_finished_job_timeline_verifies_every_step(gateway: Gateway) -> None:
    job_id = gateway.consortium.job_id
    response = gateway.client("regulator").get(f"/audit/jobs/{job_id}")
    assert response.status_code == 200
    trail = response.json()
    events = [step["event"] for step in trail["steps"]]
    for name in ("JobOpened", "ConsentGiven", "JobReady", "ResultCommitted", "AttestationRecorded", "JobFinalized"):
        assert name in events
    assert trail["verified"] is True
    assert all(step["verified"] for step in trail["steps"]), [s for s in trail["steps"] if not s["verified"]]
    finalized = next(s for s in trail["steps"] if s["event"] == "JobFinalized")
    assert any(line.startswith("payout: passed") for line in finalized["checks"])


def test_step_proof_carries_the_record_and_its_checks(gateway: Gateway) -> None:
    job_id = gateway.consortium.job_id
    proof = gateway.client("regulator").get(f"/audit/jobs/{job_id}/steps/0/proof").json()
    assert proof["verified"] is True
    assert proof["proof"]["event"] == "JobOpened"
    assert {c["name"] for c in proof["proof"]["checks"]} >= {"log in receipt", "record matches log", "block canonical"}


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/audit/jobs/99", "job.not_found"),
        ("/audit/jobs/0/steps/999/proof", "step.not_found"),
        ("/audit/sources/99", "source.not_found"),
    ],
)
def test_missing_audit_subjects_are_404_with_a_code(gateway: Gateway, path: str, code: str) -> None:
    response = gateway.client("regulator").get(path)
    assert response.status_code == 404
    assert response.json()["code"] == code


def test_sources_show_commitment_history_and_use(gateway: Gateway) -> None:
    sources = gateway.client("regulator").get("/audit/sources").json()
    assert [s["source_id"] for s in sources][:2] == [0, 1]
    assert sources[0]["owner"] == gateway.consortium.people["card"].address
    assert sources[0]["versions"][0]["version"] == 1 and sources[0]["versions"][0]["row_count"] == 500
    assert gateway.consortium.job_id in sources[0]["used_by"]  # other tests open more jobs on the same chain


def test_payouts_sum_to_the_finished_escrow_and_show_withdrawals(gateway: Gateway) -> None:
    payouts = {p["name"]: p for p in gateway.client("regulator").get("/audit/payouts").json()}
    assert sum(p["credited"] for p in payouts.values()) == parse_amount(1000) + 7
    assert payouts["CardNet"]["withdrawn"] == payouts["CardNet"]["credited"] > 0
    assert payouts["Regulator"]["credited"] == 0


def test_member_trail_is_verified(gateway: Gateway) -> None:
    card = gateway.consortium.people["card"].address
    steps = gateway.client("regulator").get(f"/audit/members/{card}").json()
    assert "PaymentWithdrawn" in [s["event"] for s in steps]
    assert all(s["verified"] for s in steps)


def test_non_member_reads_no_audit_trail(gateway: Gateway) -> None:
    response = gateway.client("outsider").get("/audit/jobs")
    assert response.status_code == 403
    assert response.json()["code"] == "auth.not_member"


def test_evidence_bundle_on_a_chain_without_seals_is_a_clear_409(gateway: Gateway) -> None:
    response = gateway.client("regulator").get(f"/audit/jobs/{gateway.consortium.job_id}/bundle")
    assert response.status_code == 409  # anvil seals nothing: a bundle would have nothing to stand on
    assert response.json()["code"] == "bundle.unavailable" and "sealed" in response.json()["message"]
    assert gateway.client("regulator").get("/audit/jobs/9999/bundle").status_code == 404


def test_job_terms_show_what_was_fixed_at_opening_and_the_requesters_price_cap(gateway: Gateway) -> None:
    terms = gateway.client("regulator").get(f"/audit/jobs/{gateway.consortium.job_id}").json()["terms"]
    assert terms["fee_bps"] == 500  # the deployment's fee when the job opened
    assert (terms["challenge_window"], terms["attestation_window"], terms["resolution_window"]) == (
        WINDOW,
        24 * 3600,
        14 * 86_400,
    )
    assert terms["price_sum"] == parse_amount(3)  # CardNet's 1 + Hospital's 2 per use
    assert terms["max_total_price"] == parse_amount(1000) + 7  # from the openJob calldata: the whole budget
    assert terms["disputed_at"] is None and terms["finalized_at"] - terms["committed_at"] > WINDOW


def test_a_jobs_current_state_carries_the_terms_the_ledger_fixed_at_opening(gateway: Gateway) -> None:
    job = gateway.client("regulator").get(f"/jobs/{gateway.consortium.job_id}").json()
    assert job["status"] == "Finalized"
    windows = {"challenge_window": WINDOW, "attestation_window": 24 * 3600, "resolution_window": 14 * 86_400}
    assert job["terms"] == {"fee_bps": 500, **windows, "disputed_at": 0}


def test_openapi_declares_the_job_terms_fixed_at_opening(gateway: Gateway) -> None:
    schemas = httpx.get(gateway.url + "/openapi.json").json()["components"]["schemas"]
    windows = ("fee_bps", "challenge_window", "attestation_window", "resolution_window")
    for schema, names in (("JobTerms", (*windows, "max_total_price")), ("JobTermsPublic", (*windows, "disputed_at"))):
        for name in names:
            assert schemas[schema]["properties"][name]["description"], (schema, name)
    assert schemas["JobPublic"]["properties"]["terms"]["$ref"].endswith("/JobTermsPublic")


def test_evidence_bundle_of_a_sealed_job_is_served_with_its_seals(sealed_gateway: SealedGateway) -> None:
    response = sealed_gateway.client("bureau").get(f"/audit/jobs/{sealed_gateway.job.job_id}/bundle")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == 'attachment; filename="custos-job-0-evidence.json"'
    bundle = response.json()
    assert bundle["job"] == sealed_gateway.job.job_id
    assert {e["event"] for e in bundle["events"]} >= {"JobOpened", "ResultCommitted", "JobFinalized"}
    assert all(header["seals"] for header in bundle["headers"]), "a block without its seal"


def test_job_and_source_lists_page_in_order_without_gaps(gateway: Gateway) -> None:
    client = gateway.client("regulator")
    jobs = [j["job_id"] for j in client.get("/audit/jobs", params={"limit": 200}).json()]
    assert jobs == sorted(jobs, reverse=True) and gateway.consortium.job_id in jobs
    paged = [j["job_id"] for i in range(len(jobs)) for j in client.get(f"/audit/jobs?limit=1&offset={i}").json()]
    assert paged == jobs
    assert client.get(f"/audit/jobs?offset={len(jobs)}").json() == []
    assert gateway.consortium.job_id in [
        j["job_id"] for j in client.get("/audit/jobs?status=Finalized&kind=FEDAVG").json()
    ]
    assert client.get("/audit/jobs?kind=PSI").json() == []
    sources = [s["source_id"] for s in client.get("/audit/sources", params={"limit": 200}).json()]
    assert sources == sorted(sources) and sources[:2] == [0, 1]
    assert [s["source_id"] for s in client.get("/audit/sources?offset=1&limit=1").json()] == [1]
