"""PSI and secure statistics as jobs: each party its own process over HTTP, committed and audited on chain."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from compute.jobs.vertical import VerticalParams
from compute.psi.rsa import PROTOCOL as PSI_PROTOCOL
from compute.stats.protocol import PROTOCOL as STATS_PROTOCOL
from custos.demo import Demo, DemoConfig
from ledger.audit.auditor import Auditor
from ledger.bindings import JobStatus
from ledger.protocol import JobKind
from ledger.units import parse_amount
from tests.small_demo import horizontal_sources

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def consortium(tmp_path: Path):
    run = Demo(
        DemoConfig(folder=tmp_path / "demo", businesses=300, budget=100, timeout=120, protocol_timeout=8),
        lambda line: None,
    )
    try:
        rpc = run.start_chain()
        members = run.members(rpc)
        sources = run.register_sources(rpc, members)
        yield run, members, sources
    finally:
        run.stop()


def result_of(run: Demo, party: str, job_id: int, file: str = "json"):
    """A party's saved result bundle (`json`), or its private output (`output.json`)."""
    return json.loads((run.folder / "parties" / party / "results" / f"{job_id}.{file}").read_text())


def verified_trail(run: Demo, members, job_id: int) -> list[str]:
    auditor = Auditor.open(members["regulator"].sender.w3, members["regulator"].deployment, run.folder / "index.db")
    auditor.sync()
    assert auditor.verifier.verify_job(job_id).ok
    return [e.event for e in auditor.queries.job_trail(job_id).events]


def column(run: Demo, party: str, name: str) -> tuple[list[str], np.ndarray]:
    lines = (run.folder / "parties" / party / "data.csv").read_text().splitlines()
    header = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:]]
    return [r[0] for r in rows], np.array([float(r[header.index(name)]) for r in rows]) if name else np.array([])


def test_psi_job_gives_the_bank_the_exact_intersection_and_is_committed_and_verified(consortium) -> None:
    run, members, sources = consortium
    job_id = run.open_with(members["bank"], JobKind.PSI, {"protocol": PSI_PROTOCOL, "sources": [0, 1]}, (0, 1))
    run.start_runners(job_id, parties=("bank", "invoice-firm", "compute-node"))

    assert run.wait_final(members["regulator"], job_id) == JobStatus.FINALIZED

    bank_ids, _ = column(run, "bank", "")
    invoice_ids, _ = column(run, "invoice-firm", "")
    assert sorted(result_of(run, "bank", job_id, "output.json")) == sorted(set(bank_ids) & set(invoice_ids))
    bundle = result_of(run, "bank", job_id)  # what the bank's gateway shows others: no ids, hashes only
    assert bundle["result"] is None and not any(i in json.dumps(bundle) for i in bank_ids)
    assert members["regulator"].jobs.job(job_id).result_hash.hex() == bundle["result_hash"][2:]
    trail = verified_trail(run, members, job_id)
    assert trail.count("AttestationRecorded") == 3 and "JobFinalized" in trail


def test_a_psi_job_whose_document_asks_for_hetero_lr_is_refused_and_aborted_with_a_named_reason(consortium) -> None:
    # The requester opens a PSI job (the providers consent to PSI) but serves a hetero-LR document. The jobs
    # service refuses to open such a job, so this requester's own software goes straight to the contracts.
    from compute.jobs.service import deadline_after
    from compute.jobs.workspace import Workspace
    from ledger.keystore import Keystore

    run, members, sources = consortium
    document = VerticalParams(sources["bank"], (sources["invoice-firm"],)).to_json()
    bank, budget = members["bank"], parse_amount(run.config.budget)
    digest = Workspace.load(run.folder / "parties" / "bank").put_params(document)  # served to the parties
    bank.token.approve(bank.settlement.address, budget)
    compute = Keystore(run.chain / "keystore").address("compute-node")
    sources_used = (sources["bank"], sources["invoice-firm"])
    job_id = bank.jobs.open_job(JobKind.PSI, sources_used, digest, [compute], budget, deadline_after(bank, 300)).job_id
    run.start_runners(job_id, parties=("bank", "invoice-firm", "compute-node"))

    assert run.wait_final(members["regulator"], job_id) == JobStatus.ABORTED

    auditor = Auditor.open(members["regulator"].sender.w3, members["regulator"].deployment, run.folder / "index.db")
    auditor.sync()
    events = auditor.queries.job_trail(job_id).events
    aborted = next(e for e in events if e.event == "JobAborted")
    assert bytes.fromhex(aborted.args["reason"][2:]).rstrip(b"\0") == b"KIND_MISMATCH HETERO_LR!=PSI"
    assert "ResultCommitted" not in [e.event for e in events]  # refused before any run: nothing was committed
    assert members["regulator"].settlement.escrow_of(job_id) == 0
    assert auditor.verifier.verify_job(job_id).ok


def test_secure_sum_job_gives_the_exact_statistics_of_two_private_columns(consortium) -> None:
    run, members, sources = consortium
    document = {
        "protocol": STATS_PROTOCOL,
        "sources": [0, 2],
        "columns": {"0": "years_in_business", "2": "card_revenue"},
    }
    job_id = run.open_with(members["bank"], JobKind.SECURE_STATS, document, (0, 2))
    run.start_runners(job_id, parties=("bank", "card-network", "compute-node"))

    assert run.wait_final(members["regulator"], job_id) == JobStatus.FINALIZED

    stats = result_of(run, "bank", job_id)["result"]
    values = np.concatenate(
        [column(run, "bank", "years_in_business")[1], column(run, "card-network", "card_revenue")[1]]
    )
    assert stats["count"] == len(values)
    assert stats["sum"] == pytest.approx(values.sum(), abs=len(values) * 2**-16)
    assert stats["mean"] == pytest.approx(values.mean(), abs=1e-4)
    assert result_of(run, "card-network", job_id)["result"] is None  # only the receiver learns the statistics
    trail = verified_trail(run, members, job_id)
    assert "ResultCommitted" in trail and "JobFinalized" in trail


def test_fedavg_job_trains_over_secure_aggregation_and_commits_its_shapley_table(consortium) -> None:
    from compute.fl.fedavg.protocol import PROTOCOL as FEDAVG_PROTOCOL

    run, members, _ = consortium
    source_ids = horizontal_sources(run, members, JobKind.FEDAVG.bit)  # one schema, split by rows
    document = {
        "protocol": FEDAVG_PROTOCOL,
        "sources": source_ids,
        "label_column": "y",
        "validation": "validation.csv",
        "fedavg": {"rounds": 3, "learning_rate": 0.3, "stage_timeout": 5.0},
    }
    job_id = run.open_with(members["bank"], JobKind.FEDAVG, document, tuple(source_ids))
    run.start_runners(job_id)

    assert run.wait_final(members["regulator"], job_id) == JobStatus.FINALIZED

    job = members["regulator"].jobs.job(job_id)
    _, weights, attesters = members["regulator"].jobs.job_parties(job_id)
    assert len(weights) == 3 and sum(weights) > 0 and len(attesters) == 4
    bundle = result_of(run, "compute-node", job_id)
    assert job.result_hash.hex() == bundle["result_hash"][2:]  # the final model's hash
    assert bundle["result"]["contribution"]["weights"] == list(weights)
    assert len(bundle["result"]["round_model_hashes"]) == 3
    trail = verified_trail(run, members, job_id)
    assert trail.count("AttestationRecorded") == 4 and "JobFinalized" in trail


def test_a_file_edited_between_consent_and_compute_is_never_read_half_old_half_new(consortium) -> None:
    """Consent checks a snapshot and the protocol reads that snapshot: an edited file is unused, or the job aborts.

    Job A: the invoice firm's runner consents (keeping the checked bytes), then its file loses rows before
    the job is Ready; the intersection is the one of the checked rows. Job B: the bank consents from outside
    its runner (the jobs service, as `custos job consent` does), then edits its file; its runner reads the
    file afresh at compute, the check fails and the job aborts with DATA_MISMATCH, escrow refunded.
    """
    from dataclasses import replace

    from compute.errors import InvalidInput
    from compute.jobs.service import OpenRequest, consent, open_job
    from compute.jobs.service.documents import hetero_lr_document
    from compute.jobs.workspace import Workspace
    from tests.waiting import wait_for

    run, members, _ = consortium
    bank = Workspace.load(run.folder / "parties" / "bank")
    bank.add_source(replace(bank.sources[0], runner_consents=False))  # the bank consents per job, explicitly
    invoice_file = run.folder / "parties" / "invoice-firm" / "data.csv"
    original = invoice_file.read_text()
    bank_ids, _ = column(run, "bank", "")
    invoice_ids, _ = column(run, "invoice-firm", "")
    jobs = members["regulator"].jobs

    mislabelled = OpenRequest(
        JobKind.PSI, (0, 1), (members["bank"].address,), 1, 2**40, document=hetero_lr_document([0, 1], "y")
    )
    with pytest.raises(InvalidInput, match="asks? for .*HETERO_LR.*but the job is a PSI job on chain"):
        open_job(members["bank"], mislabelled, store=bank)  # a PSI consent must never run hetero-LR
    assert jobs.job_count() == 0

    job_a = run.open_with(members["bank"], JobKind.PSI, {"protocol": PSI_PROTOCOL, "sources": [0, 1]}, (0, 1))
    run.start_runners(job_a, parties=("bank", "invoice-firm", "compute-node"))
    wait_for(lambda: jobs.has_consented(job_a, 1), 60, "the invoice firm's runner to check and consent")
    kept = original.splitlines()[: len(original.splitlines()) // 2]
    invoice_file.write_text("\n".join(kept) + "\n")  # half its rows gone after consent, before compute
    consent(members["bank"], bank, members["bank"].address, job_a)
    assert run.wait_final(members["regulator"], job_a) == JobStatus.FINALIZED
    intersection = sorted(result_of(run, "bank", job_a, "output.json"))
    assert intersection == sorted(set(bank_ids) & set(invoice_ids))  # every checked row, none of the edit
    assert len(intersection) > len(set(bank_ids) & {line.split(",")[0] for line in kept[1:]})

    invoice_file.write_text(original)  # the invoice firm's data matches its commitment again
    run.runners.clear()
    job_b = run.open_with(members["bank"], JobKind.PSI, {"protocol": PSI_PROTOCOL, "sources": [0, 1]}, (0, 1))
    assert [c.source_id for c in consent(members["bank"], bank, members["bank"].address, job_b)] == [0]
    bank_file = run.folder / "parties" / "bank" / "data.csv"
    bank_file.write_text(bank_file.read_text().rsplit("\n", 2)[0] + "\n")  # last row gone
    run.start_runners(job_b, parties=("bank", "invoice-firm", "compute-node"))
    assert run.wait_final(members["regulator"], job_b) == JobStatus.ABORTED
    auditor = Auditor.open(members["regulator"].sender.w3, members["regulator"].deployment, run.folder / "index.db")
    auditor.sync()
    aborted = [e for e in auditor.queries.job_trail(job_b).events if e.event == "JobAborted"]
    assert len(aborted) == 1
    assert bytes.fromhex(aborted[0].args["reason"][2:]).rstrip(b"\0") == b"DATA_MISMATCH source 0"
    assert aborted[0].actor == members["bank"].address  # the bank's runner refused its edited file
