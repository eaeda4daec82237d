"""Audit routes over a real chain: a finished job's timeline, every step verified; sources; payouts."""

from __future__ import annotations

import pytest

from .conftest import LedgerGateway

LIFECYCLE = ["DataSourceRegistered", "JobOpened", "ConsentGiven", "ConsentGiven", "JobReady", "ResultCommitted",
             "AttestationRecorded", "JobFinalized"]


def test_job_list_shows_status_and_participants(ledger_gateway: LedgerGateway) -> None:
    response = ledger_gateway.client("regulator").get("/audit/jobs")
    assert response.status_code == 200
    [job] = response.json()
    people = ledger_gateway.consortium.people
    assert (job["job_id"], job["kind"], job["status"]) == (ledger_gateway.consortium.job_id, "FEDAVG", "Finalized")
    assert set(job["participants"]) == {people[p].address for p in ("bank", "card", "hospital", "arbiter")}


def test_finished_job_timeline_verifies_every_step(ledger_gateway: LedgerGateway) -> None:
    job_id = ledger_gateway.consortium.job_id
    response = ledger_gateway.client("regulator").get(f"/audit/jobs/{job_id}")
    assert response.status_code == 200
    trail = response.json()
    events = [step["event"] for step in trail["steps"]]
    for name in ("JobOpened", "ConsentGiven", "JobReady", "ResultCommitted", "AttestationRecorded", "JobFinalized"):
        assert name in events
    assert trail["verified"] is True
    assert all(step["verified"] for step in trail["steps"]), [s for s in trail["steps"] if not s["verified"]]
    finalized = next(s for s in trail["steps"] if s["event"] == "JobFinalized")
    assert any(line.startswith("payout: passed") for line in finalized["checks"])


def test_step_proof_carries_the_record_and_its_checks(ledger_gateway: LedgerGateway) -> None:
    job_id = ledger_gateway.consortium.job_id
    proof = ledger_gateway.client("regulator").get(f"/audit/jobs/{job_id}/steps/0/proof").json()
    assert proof["verified"] is True
    assert proof["proof"]["event"] == "JobOpened"
    assert {c["name"] for c in proof["proof"]["checks"]} >= {"log in receipt", "record matches log", "block canonical"}


@pytest.mark.parametrize(("path", "code"), [("/audit/jobs/99", "job.not_found"),
                                            ("/audit/jobs/0/steps/999/proof", "step.not_found"),
                                            ("/audit/sources/99", "source.not_found")])
def test_missing_audit_subjects_are_404_with_a_code(ledger_gateway: LedgerGateway, path: str, code: str) -> None:
    response = ledger_gateway.client("regulator").get(path)
    assert response.status_code == 404
    assert response.json()["code"] == code


def test_sources_show_commitment_history_and_use(ledger_gateway: LedgerGateway) -> None:
    sources = ledger_gateway.client("regulator").get("/audit/sources").json()
    assert [s["source_id"] for s in sources] == [0, 1]
    assert sources[0]["owner"] == ledger_gateway.consortium.people["card"].address
    assert sources[0]["versions"][0]["version"] == 1 and sources[0]["versions"][0]["row_count"] == 500
    assert sources[0]["used_by"] == [ledger_gateway.consortium.job_id]


def test_payouts_sum_to_the_escrow_and_show_withdrawals(ledger_gateway: LedgerGateway) -> None:
    payouts = {p["name"]: p for p in ledger_gateway.client("regulator").get("/audit/payouts").json()}
    assert sum(p["credited"] for p in payouts.values()) == 1000 * 10**18 + 7
    assert payouts["CardNet"]["withdrawn"] == payouts["CardNet"]["credited"] > 0
    assert payouts["Regulator"]["credited"] == 0


def test_member_trail_is_verified(ledger_gateway: LedgerGateway) -> None:
    card = ledger_gateway.consortium.people["card"].address
    steps = ledger_gateway.client("regulator").get(f"/audit/members/{card}").json()
    assert "PaymentWithdrawn" in [s["event"] for s in steps]
    assert all(s["verified"] for s in steps)


def test_non_member_reads_no_audit_trail(ledger_gateway: LedgerGateway) -> None:
    response = ledger_gateway.client("outsider").get("/audit/jobs")
    assert response.status_code == 403
    assert response.json()["code"] == "auth.not_member"
