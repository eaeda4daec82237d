"""/jobs: open, consent and read a job through the gateway; its live progress as server-sent events."""

from __future__ import annotations

import json
import threading

from eth_utils import keccak

from compute.bundle import result_bundle, verify_bundle
from compute.fl.fedavg.protocol import PROTOCOL as FEDAVG_PROTOCOL
from compute.jobs.commitment import new_secret
from compute.jobs.snapshot import DataSnapshot
from compute.jobs.workspace import SourceFile, Workspace
from compute.result import canonical_json
from compute.session import PartyOutcome
from compute.transcript import Transcript, TranscriptEntry
from gateway.progress import ProgressEvent
from ledger.protocol import JobKind

from .conftest import Gateway, refused

ROWS = "id,revenue\na,1\nb,2\nc,3\n"


def _source(gateway: Gateway, rows: str = ROWS) -> int:
    """A source registered through the gateway whose data file the gateway's workspace holds."""
    folder = gateway.services.settings.workspace
    assert folder is not None  # this gateway fixture always has a workspace
    workspace = (
        Workspace.load(folder)
        if (folder / "workspace.json").exists()
        else Workspace.create(folder, "bank", folder / "keystore", "unused", folder / "deployment.json")
    )
    secret = new_secret()
    path = folder / f"rows-{len(workspace.sources)}.csv"
    path.write_text(rows)
    commitment = DataSnapshot.of_file(-1, path, "id").commitment(secret)
    body = {
        "schema_hash": "0x" + commitment.schema_hash.hex(),
        "commitment": "0x" + commitment.root.hex(),
        "row_count": commitment.row_count,
        "metadata_uri": "file://bank/rows",
        "price_per_use": 5,
        "allowed_kinds": JobKind.FEDAVG.bit,
    }
    response = gateway.client("bank").post("/sources", json=body)
    assert response.status_code == 201, response.text
    source_id = response.json()["source_id"]
    workspace.add_source(SourceFile(source_id, path, "id", secret))
    return int(source_id)


def _open(gateway: Gateway, source_id: int) -> int:
    body = {
        "kind": JobKind.FEDAVG,
        "source_ids": [source_id],
        "params_hash": "0x" + "33" * 32,
        "compute_parties": [gateway.address("arbiter").lower()],
        "budget": 100,
        "deadline": int(gateway.clock.now()) + 7200,
    }
    opened = gateway.client("bank").post("/jobs", json=body)
    assert opened.status_code == 201, opened.text
    return int(opened.json()["job_id"])


def test_job_opened_consented_and_read_back(gateway: Gateway) -> None:
    bank = gateway.client("bank")
    source_id = _source(gateway)
    job_id = _open(gateway, source_id)
    assert bank.get(f"/jobs/{job_id}").json()["status"] == "Open"

    consent = bank.post(f"/jobs/{job_id}/consent", json={"source_id": source_id})
    assert consent.status_code == 200, consent.text
    job = bank.get(f"/jobs/{job_id}").json()
    assert (job["status"], job["consents"], job["budget"]) == ("Ready", 1, 100)

    again = refused(bank.post(f"/jobs/{job_id}/consent", json={"source_id": source_id}), 409, "consent.already_given")
    assert f"Source {source_id}" in again
    gateway.clock.value += 2  # the audit index syncs the new job
    refused(bank.get(f"/jobs/{job_id}/result"), 404, "result.not_found")


def test_consent_to_a_source_whose_file_changed_is_refused_and_not_sent(gateway: Gateway) -> None:
    bank = gateway.client("bank")
    source_id = _source(gateway)
    job_id = _open(gateway, source_id)
    folder = gateway.services.settings.workspace
    assert folder is not None
    Workspace.load(folder).sources[source_id].path.write_text(ROWS + "d,4\n")  # a row added after registering

    message = refused(bank.post(f"/jobs/{job_id}/consent", json={"source_id": source_id}), 409, "consent.data_mismatch")
    assert "4 rows, the commitment holds 3" in message
    assert bank.get(f"/jobs/{job_id}").json()["consents"] == 0


def test_consent_to_a_job_that_does_not_use_the_source_is_refused(gateway: Gateway) -> None:
    used, unused = _source(gateway), _source(gateway)
    job_id = _open(gateway, used)
    message = refused(
        gateway.client("bank").post(f"/jobs/{job_id}/consent", json={"source_id": unused}),
        409,
        "consent.data_unchecked",
    )
    assert f"does not use source [{unused}]" in message


def test_a_job_opened_with_its_document_keeps_it_for_the_parties_and_refuses_another_kind(gateway: Gateway) -> None:
    bank = gateway.client("bank")
    source_id = _source(gateway)
    document = {"protocol": FEDAVG_PROTOCOL, "sources": [source_id], "label_column": "y", "fedavg": {"rounds": 2}}
    body = {
        "kind": JobKind.FEDAVG,
        "source_ids": [source_id],
        "params": document,
        "compute_parties": [gateway.address("arbiter")],
        "budget": 100,
        "deadline": int(gateway.clock.now()) + 7200,
    }
    opened = bank.post("/jobs", json=body)
    assert opened.status_code == 201, opened.text
    digest = keccak(canonical_json(document))
    assert bank.get(f"/jobs/{opened.json()['job_id']}").json()["params_hash"] == "0x" + digest.hex()
    folder = gateway.services.settings.workspace
    assert folder is not None and Workspace.load(folder).get_params(digest) == document  # served to the parties

    count = gateway.services.ledger.jobs.job_count()  # type: ignore[union-attr]  # this gateway has a chain
    as_psi = refused(bank.post("/jobs", json={**body, "kind": JobKind.PSI}), 400, "job.invalid")
    assert "but the job is a PSI job on chain" in as_psi
    wrong_hash = refused(bank.post("/jobs", json={**body, "params_hash": "0x" + "44" * 32}), 400, "job.invalid")
    assert "does not hash to the params_hash" in wrong_hash
    refused(bank.post("/jobs", json={k: v for k, v in body.items() if k != "params"}), 422, "request.invalid")
    assert gateway.services.ledger.jobs.job_count() == count  # type: ignore[union-attr]  # nothing was opened


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
