"""The demo's flow end to end on the embedded chain, and the ways a job can fail.

Every organisation is its own `custos gateway up --runner` process (its job runner inside,
the gateway's transport route its party endpoint) talking HTTP on loopback, except where a
test gives one organisation a bare `custos runner up` instead; the chain is a `custos chain up`
process. Small data and 512-bit test keys keep each run short.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from compute.jobs.service.results import ResultStore
from custos.demo import PARTIES, Demo
from ledger.audit.auditor import Auditor
from ledger.bindings import JobStatus
from ledger.keystore import Keystore
from ledger.member import MemberLedger
from ledger.units import parse_amount
from tests.small_demo import small_demo_config
from tests.waiting import wait_for

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def demo(tmp_path: Path):
    run = Demo(small_demo_config(tmp_path / "demo", deadline=120), lambda line: None)
    yield run
    run.stop()


def prepare(demo: Demo) -> tuple[dict[str, MemberLedger], int]:
    rpc = demo.start_chain()
    members = demo.members(rpc)
    job_id = demo.open_job(members["bank"], demo.register_sources(rpc, members))
    return members, job_id


def audit(demo: Demo, members: dict[str, MemberLedger], job_id: int):
    auditor = Auditor.open(
        members["regulator"].sender.w3, members["regulator"].deployment, demo.folder / "audit-index.db"
    )
    auditor.sync()
    return auditor.queries.job_trail(job_id), auditor.verifier.verify_job(job_id)


def event_names(trail) -> list[str]:
    return [e.event for e in trail.events]


def test_job_runs_to_final_with_every_attestation_exact_payout_and_a_verified_trail(demo: Demo) -> None:
    members, job_id = prepare(demo)
    demo.start_gateways(job_id)

    status = demo.wait_final(members["regulator"], job_id)

    assert status == JobStatus.FINALIZED
    jobs = members["regulator"].jobs
    _, _, attesters = jobs.job_parties(job_id)
    assert len(attesters) == 4 and all(jobs.has_attested(job_id, a) for a in attesters)
    keystore = Keystore(demo.chain / "keystore")
    credits = sum(members["regulator"].settlement.credit_of(keystore.address(n)) for n in PARTIES)
    assert credits == jobs.job(job_id).budget == parse_amount(100)
    trail, report = audit(demo, members, job_id)
    assert event_names(trail)[0] == "JobOpened" and "JobFinalized" in event_names(trail)
    assert report.ok, report
    # Each runner lives in its gateway: the endpoint on chain is the gateway, progress is on its stream.
    for name in PARTIES:
        assert members["regulator"].consortium.member(keystore.address(name)).endpoint == demo.gateways[name]
    epoch = demo.progress.reached("bank", "round")  # the guest's per-epoch report, as the bank's gateway streams it
    assert epoch is not None and (epoch["round"], epoch["rounds"]) == (1, 1) and epoch["metrics"]["loss"] > 0
    assert [e["stage"] for e in demo.progress.events("bank")][-1] == "finished"
    bundle = ResultStore(demo.folder / "parties" / "bank").load(job_id)
    assert (
        bundle is not None and bundle["result_hash"] == "0x" + jobs.job(job_id).result_hash.hex()
    )  # saved at commit, for the report


def test_a_provider_whose_file_changed_after_registration_aborts_the_job_and_the_escrow_returns(demo: Demo) -> None:
    members, job_id = prepare(demo)
    data = demo.folder / "parties" / "invoice-firm" / "data.csv"
    lines = data.read_text().splitlines()
    data.write_text("\n".join(lines[:-1]) + "\n")  # one customer row quietly dropped

    demo.start_gateways(job_id)
    status = demo.wait_final(members["regulator"], job_id)

    assert status == JobStatus.ABORTED
    bank = Keystore(demo.chain / "keystore").address("bank")
    assert members["regulator"].settlement.credit_of(bank) == parse_amount(100)
    trail, report = audit(demo, members, job_id)
    aborted = [e for e in trail.events if e.event == "JobAborted"]
    reason = aborted[0].args["reason"] if aborted else b""
    reason = reason if isinstance(reason, bytes) else bytes.fromhex(reason[2:])
    assert reason.rstrip(b"\x00") == b"DATA_MISMATCH source 1"
    invoice = Keystore(demo.chain / "keystore").address("invoice-firm")
    assert "ConsentGiven" not in [e.event for e in trail.events if e.actor == invoice]
    assert report.ok


def test_a_silent_provider_lets_the_deadline_pass_and_the_requester_is_refunded(tmp_path: Path) -> None:
    run = Demo(small_demo_config(tmp_path / "demo", timeout=60, deadline=6), lambda line: None)
    try:
        members, job_id = prepare(run)
        run.start_gateways(job_id, parties=("bank", "compute-node"))  # the card network never answers
        run.start_runners(job_id, parties=("invoice-firm",))  # an organisation without a gateway takes part

        status = run.wait_final(members["regulator"], job_id)

        assert status == JobStatus.CANCELLED
        bank = Keystore(run.chain / "keystore").address("bank")
        assert members["regulator"].settlement.credit_of(bank) == parse_amount(100)
        trail, report = audit(run, members, job_id)
        assert "JobCancelled" in event_names(trail) and report.ok
    finally:
        run.stop()


def test_an_arbiter_that_crashes_mid_training_ends_in_an_abort_with_no_funds_lost(tmp_path: Path) -> None:
    # Many epochs, and the kill after the guest's first one: every party is then inside the protocol and
    # needs the arbiter for the next epoch, so the survivors' peer timeout must end it.
    demo = Demo(small_demo_config(tmp_path / "demo", deadline=120, epochs=40), lambda line: None)
    try:
        _crash_the_arbiter(demo, lambda: demo.progress.reached("bank", "round"), "the guest's first epoch", 120)
    finally:
        demo.stop()


@pytest.mark.timeout(600)  # a far deadline, so that even a machine ten times oversubscribed reaches the run first
def test_an_arbiter_that_crashes_as_its_run_starts_ends_in_an_abort_well_before_the_deadline(tmp_path: Path) -> None:
    # The kill at the arbiter's own 'protocol' step, with one epoch: the others may not have reached theirs
    # yet, may be mid-run, or (on a slow machine, the progress stream lagging) may have finished the run
    # with the arbiter gone before its commit. Every path must end in a named abort within about the
    # protocol timeout (8 s), never wait for the deadline (300 s).
    demo = Demo(small_demo_config(tmp_path / "demo", deadline=300), lambda line: None)
    try:
        _crash_the_arbiter(demo, lambda: demo.progress.reached("compute-node", "protocol"), "the arbiter's run", 240)
    finally:
        demo.stop()


def _crash_the_arbiter(demo: Demo, strike: Callable[[], object], what: str, within: float) -> None:
    """Kill the compute node's gateway (the arbiter and committer) once `strike()` holds (waited for up to
    `within` seconds, well inside the job's deadline); the job must abort."""
    members, job_id = prepare(demo)
    gateways = demo.start_gateways(job_id)
    wait_for(strike, within, what)
    gateways["compute-node"].kill()
    killed_at = time.time()

    status = demo.wait_final(members["regulator"], job_id)

    assert status == JobStatus.ABORTED
    settlement = members["regulator"].settlement
    assert settlement.escrow_of(job_id) == 0
    trail, report = audit(demo, members, job_id)
    names = event_names(trail)
    assert "JobAborted" in names and "JobCancelled" not in names and report.ok
    aborted = next(e for e in trail.events if e.event == "JobAborted")
    assert bytes.fromhex(aborted.args["reason"][2:]).rstrip(b"\0").startswith(b"PROTOCOL ")
    # Timed from the kill to the abort's block (the chain's clock is the wall clock): far from the deadline.
    assert aborted.block_time - killed_at < 60, f"aborted {aborted.block_time - killed_at:.0f} s after the kill"
    # The job was Ready: the other owners are paid their prices (an aborting owner forfeits its own),
    # and the bank — requester and guest — gets the rest, never the whole budget back.
    keystore = Keystore(demo.chain / "keystore")
    by = aborted.args["by"].lower()
    prices = {keystore.address("invoice-firm"): 25, keystore.address("card-network"): 15}
    paid = {owner: 0 if owner.lower() == by else price for owner, price in prices.items()}
    assert settlement.credit_of(keystore.address("bank")) == parse_amount(100 - sum(paid.values()))
    assert all(settlement.credit_of(owner) == parse_amount(amount) for owner, amount in paid.items())
