"""A real job on anvil through the typed bindings, then indexed, queried, verified and anchored."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from typer.testing import CliRunner
from web3 import HTTPProvider

from custos.cli import app
from ledger.anchor import Anchorer
from ledger.audit.auditor import Auditor
from ledger.audit.report import NOT_APPLICABLE, PASSED
from ledger.bindings import (
    AuditAnchor,
    CustosToken,
    DataRegistry,
    JobLedger,
    JobStatus,
    JobTerms,
    Settlement,
    SourceSpec,
)
from ledger.client import TransactionSender, connect
from ledger.client.revert import JobLedgerWrongStatus
from ledger.deploy import config_for_members, deploy_consortium
from ledger.deployment import Deployment
from ledger.merkle import leaf_hash
from ledger.payout import split
from ledger.protocol import Attestation, AttestationDomain
from tests.backends import Chain

NAMES = ("bank-a", "hospital-a", "tax-bureau", "arbiter", "node-b")
ROLES = (1, 2, 2, 4 | 8, 4)  # the arbiter also audits: it anchors record batches
BUDGET = 10_000


@dataclass
class World:
    url: str | None
    deployment_file: Path
    auditor: Auditor
    senders: dict[str, TransactionSender]
    settled: object
    job_id: int
    sources: tuple[int, int]
    backend: str


def bind(sender: TransactionSender, deployment, cls):
    return cls.at(sender, deployment)


@pytest.fixture(scope="module")
def world(chain: Chain, tmp_path_factory) -> Iterator[World]:
    """The whole lifecycle once per backend of tests/backends.py (anvil, embedded in-process and HTTP)."""
    w3 = connect(chain.w3)
    url = chain.w3.provider.endpoint_uri if isinstance(chain.w3.provider, HTTPProvider) else None
    senders = {name: TransactionSender(w3, account) for name, account in zip(NAMES, chain.accounts[1:])}
    config = replace(config_for_members([(senders[n].address, r, n) for n, r in zip(NAMES, ROLES)]), challenge_window=0)
    deployment = deploy_consortium(w3, chain.accounts[0], config)
    path = tmp_path_factory.mktemp("world") / "deployment.json"
    path.write_text(deployment.to_json())
    h = lambda tag: tag.encode().ljust(32, b"\0")  # noqa: E731  # a one-line padding helper used a dozen times below
    r1 = bind(senders["hospital-a"], deployment, DataRegistry).register_source(
        SourceSpec(h("schema"), h("rows-v1"), 1000, "ipfs://a", 1_000, 1)
    )
    registry2 = bind(senders["tax-bureau"], deployment, DataRegistry)
    r2 = registry2.register_source(SourceSpec(h("schema"), h("rows"), 500, "ipfs://b", 500, 1, auto_consent_kinds=1))
    registry2.set_auto_consent(r2.source_id, senders["bank-a"].address, True)
    bind(senders["hospital-a"], deployment, DataRegistry).update_commitment(r1.source_id, h("rows-v2"), 1200)
    requester = senders["bank-a"]
    bind(requester, deployment, CustosToken).approve(deployment.address("Settlement"), BUDGET)
    opened = bind(requester, deployment, JobLedger).open_job(
        0,
        [r1.source_id, r2.source_id],
        h("params"),
        [senders["arbiter"].address, senders["node-b"].address],
        BUDGET,
        int(time.time()) + 86_400,
    )
    assert opened.auto_consented == (r2.source_id,)
    bind(senders["hospital-a"], deployment, JobLedger).consent(opened.job_id, r1.source_id)
    arbiter = bind(senders["arbiter"], deployment, JobLedger)
    arbiter.commit_result(opened.job_id, h("result"), h("transcript"), [3, 1], h("utility"))
    job = arbiter.job(opened.job_id)
    # The terms fixed at opening (the deploy config's fee and window, the contract's default windows).
    assert arbiter.job_terms(opened.job_id) == JobTerms(500, 0, 24 * 3600, 14 * 86_400, 0)
    attestation = Attestation(
        opened.job_id, job.inputs_hash, job.result_hash, job.transcript_root, job.contribution_hash
    )
    domain = AttestationDomain(w3.eth.chain_id, deployment.job_ledger)
    for name in ("hospital-a", "tax-bureau", "arbiter", "node-b"):
        signature = attestation.sign(bytes(senders[name].account.key), domain)
        arbiter.attest(opened.job_id, senders[name].address, signature)
    settled = arbiter.finalize(opened.job_id)
    bind(senders["hospital-a"], deployment, Settlement).withdraw()
    auditor = Auditor.open(w3, deployment, path.parent / "audit-index.db")
    auditor.sync()
    yield World(url, path, auditor, senders, settled, opened.job_id, (r1.source_id, r2.source_id), chain.name)


def test_finalised_job_credits_follow_the_payout_rule(world: World) -> None:
    names = world.senders
    expected = split(
        BUDGET,
        [names["hospital-a"].address, names["tax-bureau"].address],
        [1_000, 500],
        [3, 1],
        [names["arbiter"].address, names["node-b"].address],
        500,
    )
    assert list(world.settled.credits) == [(c.payee, c.amount) for c in expected]
    assert (
        bind(names["bank-a"], Deployment.load(world.deployment_file), JobLedger).job(world.job_id).status
        is JobStatus.FINALIZED
    )


def test_a_reverted_call_raises_the_contracts_named_error(world: World) -> None:
    deployment = Deployment.load(world.deployment_file)
    with pytest.raises(JobLedgerWrongStatus) as caught:
        bind(world.senders["hospital-a"], deployment, JobLedger).consent(world.job_id, world.sources[0])
    assert caught.value.arguments == {"jobId": world.job_id, "status": int(JobStatus.FINALIZED)}


def test_the_real_job_verifies_end_to_end(world: World) -> None:
    trail = world.auditor.queries.job_trail(world.job_id)
    assert trail.status == "Finalized" and trail.events[0].event == "JobOpened"
    report = world.auditor.verifier.verify_job(world.job_id)
    assert report.ok, report.failures
    summary = report.summary()
    assert summary["attestation signature"] == {PASSED: 4} and summary["payout"] == {PASSED: 1}
    sealed = PASSED if world.backend.startswith("embedded") else NOT_APPLICABLE
    blocks = {e.block_number for e in trail.events}
    assert summary["seal quorum"] == {sealed: len(blocks)} and summary["block roots"] == {PASSED: len(blocks)}
    assert summary["complete"] == {PASSED: 1} and summary["attestations complete"] == {PASSED: 1}
    # The completeness scan stops at the final transition, not at the head (a withdrawal came after).
    [complete] = [c for c in report.checks if c.name == "complete"]
    finalized = next(e.block_number for e in trail.events if e.event == "JobFinalized")
    assert finalized < world.auditor.verifier.view.head()
    assert complete.detail.endswith(f"in blocks {trail.events[0].block_number}..{finalized}")


def test_source_and_member_trails_of_the_real_job(world: World) -> None:
    queries = world.auditor.queries
    source = queries.source_trail(world.sources[0])
    assert [v.version for v in source.versions] == [1, 2]
    [use] = source.uses
    assert (use.job_id, use.version, use.status) == (world.job_id, 2, "Finalized")
    assert use.paid == dict(world.settled.credits)[world.senders["hospital-a"].address]
    member = queries.member_trail(world.senders["hospital-a"].address)
    assert member.credited == member.withdrawn == use.paid
    assert world.auditor.verifier.verify_source(world.sources[1]).ok


def test_records_anchored_through_audit_anchor_verify_on_chain(world: World, tmp_path: Path) -> None:
    deployment = Deployment.load(world.deployment_file)
    anchor = bind(world.senders["arbiter"], deployment, AuditAnchor)
    anchorer = Anchorer(tmp_path / "a.db", anchor, batch_size=5)
    _, batches = anchorer.add_many([f"message {i}".encode() for i in range(10)])
    assert len(batches) == 2 and anchor._call("batchCount") == 2
    proof = anchorer.proof(7)
    assert anchor.verify_record(1, list(proof.proof), leaf_hash(b"message 6"))
    assert world.auditor.verifier.verify_anchored(proof, b"message 6").ok
    assert not world.auditor.verifier.verify_anchored(proof, b"message 7").ok


def test_cli_prints_a_verified_timeline_and_json(world: World) -> None:
    if world.url is None:
        return  # the CLI reaches a node over HTTP; the in-process backend is covered by the other tests
    runner = CliRunner()
    common = ["--rpc", world.url, "--deployment", str(world.deployment_file)]
    human = runner.invoke(app, ["audit", "job", str(world.job_id), *common, "--verify"])
    assert human.exit_code == 0, human.output
    assert "verification of job 0: OK" in human.output and "hospital-a" in human.output
    as_json = runner.invoke(app, ["audit", "source", str(world.sources[0]), *common, "--json"])
    assert json.loads(as_json.output)["uses"][0]["status"] == "Finalized"
    bad = runner.invoke(app, ["audit", "job", "99", *common])
    assert bad.exit_code == 1 and "no job 99" in bad.output


@pytest.mark.parametrize(
    ("event", "field", "checks"),
    [
        ("AttestationRecorded", "signer", {"attestation signature", "attestations complete"}),
        ("PaymentCredited", "amount", {"payout"}),
    ],
)
def test_tampering_the_real_jobs_index_fails_its_evidence_checks(
    world: World, event: str, field: str, checks: set[str]
) -> None:
    store = world.auditor.queries.store
    row_id, raw = store.conn.execute(
        "SELECT id, args FROM events WHERE event = ? ORDER BY id LIMIT 1", (event,)
    ).fetchone()
    args = json.loads(raw)
    args[field] = world.senders["bank-a"].address if field == "signer" else args[field] + 1
    store.conn.execute("UPDATE events SET args = ? WHERE id = ?", (json.dumps(args), row_id))
    try:
        report = world.auditor.verifier.verify_job(world.job_id)
    finally:
        store.conn.execute("UPDATE events SET args = ? WHERE id = ?", (raw, row_id))
    failed = {c.name for c in report.failures}
    assert failed == {"record matches log", *checks}, report.failures
    assert world.auditor.verifier.verify_job(world.job_id).ok
