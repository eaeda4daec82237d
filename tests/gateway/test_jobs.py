"""/jobs: open, consent and read a job through the gateway; its live progress as server-sent events."""

from __future__ import annotations

import json
import threading

from compute.bundle import result_bundle, verify_bundle
from compute.session import PartyOutcome
from compute.transcript import Transcript, TranscriptEntry
from gateway.progress import ProgressEvent
from ledger.protocol import JobKind

from .conftest import Gateway, refused


def _source(gateway: Gateway) -> int:
    body = {
        "schema_hash": "0x" + "11" * 32,
        "commitment": "0x" + "22" * 32,
        "row_count": 40,
        "metadata_uri": "file://bank/rows",
        "price_per_use": 5,
        "allowed_kinds": JobKind.FEDAVG.bit,
    }
    response = gateway.client("bank").post("/sources", json=body)
    assert response.status_code == 201, response.text
    return response.json()["source_id"]


def test_job_opened_consented_and_read_back(gateway: Gateway) -> None:
    bank = gateway.client("bank")
    source_id = _source(gateway)
    body = {
        "kind": JobKind.FEDAVG,
        "source_ids": [source_id],
        "params_hash": "0x" + "33" * 32,
        "compute_parties": [gateway.address("arbiter").lower()],
        "budget": 100,
        "deadline": int(gateway.clock.now()) + 7200,
    }
    opened = bank.post("/jobs", json=body)
    assert opened.status_code == 201, opened.text
    job_id = opened.json()["job_id"]
    assert bank.get(f"/jobs/{job_id}").json()["status"] == "Open"

    consent = bank.post(f"/jobs/{job_id}/consent", json={"source_id": source_id})
    assert consent.status_code == 200, consent.text
    job = bank.get(f"/jobs/{job_id}").json()
    assert (job["status"], job["consents"], job["budget"]) == ("Ready", 1, 100)

    again = refused(
        bank.post(f"/jobs/{job_id}/consent", json={"source_id": source_id}), 409, "contract.JobLedgerWrongStatus"
    )
    assert "refused" in again
    gateway.clock.value += 2  # the audit index syncs the new job
    refused(bank.get(f"/jobs/{job_id}/result"), 404, "result.not_found")


def test_job_on_an_unknown_source_is_refused_by_the_chain(gateway: Gateway) -> None:
    body = {
        "kind": JobKind.FEDAVG,
        "source_ids": [10**9],
        "params_hash": "0x" + "33" * 32,
        "compute_parties": [gateway.address("arbiter")],
        "budget": 100,
        "deadline": int(gateway.clock.now()) + 7200,
    }
    response = gateway.client("bank").post("/jobs", json=body)
    # JobLedger asks DataRegistry, whose revert for a source it never registered comes back as 404.
    refused(response, 404, "contract.DataRegistryUnknownSource")


def test_unknown_job_is_404(gateway: Gateway) -> None:
    refused(gateway.client("regulator").get("/jobs/12345"), 404, "job.not_found")


def test_progress_streams_past_then_live_events_until_finished(gateway: Gateway) -> None:
    bus = gateway.services.progress
    bus.publish(ProgressEvent(7, "queued", "waiting for consent", 0.0))
    later = threading.Timer(
        0.2,
        lambda: [
            bus.publish(ProgressEvent(7, "running", "round 1 of 2", 0.5)),
            bus.publish(ProgressEvent(7, "finished", "result committed", 1.0)),
        ],
    )
    later.start()
    events = list(gateway.client("regulator").progress(7))
    later.join()
    assert [(e["stage"], e["fraction"]) for e in events] == [("queued", 0.0), ("running", 0.5), ("finished", 1.0)]


def test_progress_of_a_job_not_running_here_is_404(gateway: Gateway) -> None:
    refused(gateway.client("regulator").get("/jobs/999/progress"), 404, "job.not_running")


def test_progress_refuses_a_non_member(gateway: Gateway) -> None:
    gateway.services.progress.publish(ProgressEvent(8, "queued", "waiting", 0.0))
    refused(gateway.client("outsider").get("/jobs/8/progress"), 403, "auth.not_member")


def test_negative_job_id_is_a_clear_422(gateway: Gateway) -> None:
    assert "job_id" in refused(gateway.client("regulator").get("/jobs/-1/progress"), 422, "request.invalid")


def _save_result(gateway: Gateway, job_id: int) -> dict:
    """A result bundle where the job runner saves it (<workspace>/results/<job id>.json)."""
    entries = [TranscriptEntry("0xa", "0xb", i, "step", bytes([i]) * 32) for i in range(3)]
    outcome = PartyOutcome("0xa", None, b"\xab" * 32, Transcript.of(entries), {"rounds": 4})
    bundle = result_bundle(job_id, "fedavg", outcome, 2, None)
    folder = gateway.services.settings.workspace / "results"  # type: ignore[operator]  # this gateway fixture always has a workspace
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{job_id}.json").write_text(json.dumps(bundle))
    return bundle


def test_participants_and_auditors_read_the_result_bundle(gateway: Gateway) -> None:
    bundle = _save_result(gateway, gateway.consortium.job_id)
    for who in ("bank", "card", "arbiter", "regulator"):  # requester, source owner, compute party, AUDITOR
        response = gateway.client(who).get(f"/jobs/{gateway.consortium.job_id}/result")
        assert response.status_code == 200, response.text
        assert response.json() == bundle and verify_bundle(response.json()) == []


def test_result_is_for_members_only(gateway: Gateway) -> None:
    _save_result(gateway, gateway.consortium.job_id)
    refused(gateway.client("outsider").get(f"/jobs/{gateway.consortium.job_id}/result"), 403, "auth.not_member")


def test_result_not_computed_here_is_404(gateway: Gateway) -> None:
    refused(gateway.client("bank").get("/jobs/31337/result"), 404, "job.not_found")
