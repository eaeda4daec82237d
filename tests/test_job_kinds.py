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
from ledger.protocol import JobKind, parse_amount

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
    # The requester opens a PSI job (the providers consent to PSI) but serves a hetero-LR document.
    run, members, sources = consortium
    document = VerticalParams(sources["bank"], (sources["invoice-firm"],)).to_json()
    job_id = run.open_with(members["bank"], JobKind.PSI, document, (sources["bank"], sources["invoice-firm"]))
    run.start_runners(job_id, parties=("bank", "invoice-firm", "compute-node"))

    assert run.wait_final(members["regulator"], job_id) == JobStatus.ABORTED

    auditor = Auditor.open(members["regulator"].sender.w3, members["regulator"].deployment, run.folder / "index.db")
    auditor.sync()
    events = auditor.queries.job_trail(job_id).events
    aborted = next(e for e in events if e.event == "JobAborted")
    assert bytes.fromhex(aborted.args["reason"][2:]).rstrip(b"\0") == b"KIND_MISMATCH HETERO_LR!=PSI"
    assert [e.event for e in events].count("ResultCommitted") == 0  # nothing ran: the abort came before any protocol
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
    from compute.jobs.commitment import commit_csv, new_secret
    from compute.jobs.synthetic_credit import generate
    from compute.jobs.workspace import SourceFile, Workspace
    from ledger.bindings import SourceSpec

    run, members, _ = consortium
    table = generate(1200, seed=11).bank  # one schema, split by rows: horizontal parties
    lines = table.to_csv().splitlines()
    header, rows = lines[0], lines[1:]
    parts = {"bank": rows[0:300], "invoice-firm": rows[300:600], "card-network": rows[600:900]}
    (run.folder / "parties" / "compute-node" / "validation.csv").write_text("\n".join([header, *rows[900:]]) + "\n")
    source_ids = []
    for name, part in parts.items():
        workspace = Workspace.load(run.folder / "parties" / name)
        path = workspace.folder / "horizontal.csv"
        path.write_text("\n".join([header, *part]) + "\n")
        secret = new_secret()
        c = commit_csv(path, "id", secret)
        registered = members[name].registry.register_source(
            SourceSpec(c.schema_hash, c.root, c.row_count, "file://horizontal.csv", parse_amount(1), JobKind.FEDAVG.bit)
        )
        workspace.add_source(SourceFile(registered.source_id, path, "id", secret, "y"))
        source_ids.append(registered.source_id)
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
