"""The privacy-budget accountant (compute/dp/budget.py) and the runner's checks on a real chain:
the spend comes from the parameter document alone, consent needs a covering reservation, and
a committing compute party that under- or over-reports ε gets no attestation."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from eth_utils import keccak

from compute.dp.accounting import epsilon_from_rho
from compute.dp.budget import fedavg_noise_for, job_spend, reservation_shortfall
from compute.errors import InvalidInput
from compute.fl.dp import DPParams, release_rho
from compute.fl.fedavg.client import FRACTION_BITS
from compute.jobs.privacy_check import attested_privacy_hash, consent_refusal, spend_to_report
from ledger.client.revert import revert_error
from ledger.protocol import JobKind, privacy_hash
from tests.ledger.privacy_world import DELTA, World, job_attestation, privacy_world


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with privacy_world() as built:
        yield built


STATS_DOC = {"sources": [0, 1], "column": "x", "epsilon": 0.5, "clip": [0, 100]}


def test_secure_stats_spends_the_documents_epsilon_on_every_source_exactly() -> None:
    spend = job_spend(JobKind.SECURE_STATS, STATS_DOC, 2)
    assert spend is not None and (spend.epsilons, spend.delta) == ((500_000, 500_000), 0)
    assert spend.accountant["composition"].startswith("basic")
    # Written as a decimal, taken as written (no float rounding), rounded up to whole micro-ε.
    assert job_spend(JobKind.SECURE_STATS, {**STATS_DOC, "epsilon": "0.1234561"}, 1).epsilons == (123_457,)  # type: ignore[union-attr]  # a DP document
    assert job_spend(JobKind.SECURE_STATS, {"column": "x"}, 2) is None
    assert job_spend(JobKind.PSI, STATS_DOC, 2) is None
    with pytest.raises(InvalidInput, match="positive"):
        job_spend(JobKind.SECURE_STATS, {**STATS_DOC, "epsilon": -1}, 2)


def test_fedavg_spends_what_the_zcdp_accountant_gives_for_every_round_a_source_is_in() -> None:
    dp = {"clip_norm": 1.0, "noise_multiplier": 4.0, "delta": 1e-6}
    doc = {"fedavg": {"rounds": 3, "dp": dp, "contribution": False}, "dims": 10}
    spend = job_spend(JobKind.FEDAVG, doc, 3)
    assert spend is not None and spend.delta == 10**12
    per_round = release_rho(DPParams(**dp), 10, 2, FRACTION_BITS)  # threshold ⌈2·3/3⌉ = 2
    expected = epsilon_from_rho(3 * per_round, 1e-6)
    assert spend.epsilons == (int(-(-expected * 10**6 // 1)),) * 3
    # Sampling two clients a round: each source spends for the rounds it is in, no more.
    sampled = job_spend(JobKind.FEDAVG, {**doc, "fedavg": {**doc["fedavg"], "clients_per_round": 2}}, 3)
    assert sampled is not None and max(sampled.epsilons) <= spend.epsilons[0] and len(set(sampled.epsilons)) > 1
    with pytest.raises(InvalidInput, match="dims"):
        job_spend(JobKind.FEDAVG, {"fedavg": {"rounds": 3, "dp": dp, "contribution": False}}, 3)


def test_a_target_epsilon_becomes_the_smallest_noise_multiplier_at_four_digits_within_it() -> None:
    dp = {"clip_norm": 1.0, "noise_multiplier": 1.0, "delta": 1e-6}
    doc = {"fedavg": {"rounds": 3, "dp": dp, "contribution": False}, "dims": 10}
    tuned = fedavg_noise_for(doc, 3, 500_000)
    sigma = tuned["fedavg"]["dp"]["noise_multiplier"]
    assert {**tuned, "fedavg": {**tuned["fedavg"], "dp": dp}} == doc  # only σ changed
    spend = job_spend(JobKind.FEDAVG, tuned, 3)
    assert spend is not None and max(spend.epsilons) <= 500_000
    step = float(Decimal(1).scaleb(Decimal(sigma).adjusted() - 3))  # one unit of σ's 4th significant digit
    lower = {**tuned, "fedavg": {**tuned["fedavg"], "dp": {**dp, "noise_multiplier": sigma - step}}}
    assert max(job_spend(JobKind.FEDAVG, lower, 3).epsilons) > 500_000  # type: ignore[union-attr]  # a DP document
    with pytest.raises(InvalidInput, match="more than 0"):
        fedavg_noise_for(doc, 3, 0)
    with pytest.raises(InvalidInput, match="no DP"):
        fedavg_noise_for({**doc, "fedavg": {"rounds": 3, "dp": None, "contribution": False}}, 3, 500_000)


def test_consent_needs_a_reservation_covering_the_spend() -> None:
    spend = job_spend(JobKind.SECURE_STATS, STATS_DOC, 2)
    assert reservation_shortfall(spend, (500_000, 600_000), 0, dp_job=True) is None
    short = reservation_shortfall(spend, (500_000, 499_999), 0, dp_job=True)
    assert short is not None and "source #1" in short and short.startswith("PRIVACY")
    assert reservation_shortfall(None, (1, 1), 0, dp_job=True) is not None  # a DP job whose parameters add no noise
    assert reservation_shortfall(spend, (), 0, dp_job=False) is None  # exact: the contract decided already


def test_a_compute_party_that_under_or_over_reports_epsilon_gets_no_attestation(world: World) -> None:
    budget = world.card.privacy
    job_id = world.open_dp(("0.3", "0.3"), JobKind.SECURE_STATS)  # the document's mechanism spends 0.25
    doc = {**STATS_DOC, "epsilon": "0.25"}

    def document() -> dict[str, object]:
        return doc

    assert consent_refusal(budget, job_id, JobKind.SECURE_STATS, document, 2) is None
    assert consent_refusal(budget, job_id, JobKind.SECURE_STATS, lambda: {**doc, "epsilon": "0.31"}, 2) is not None
    world.card.jobs.consent(job_id, world.sources[0])
    world.tax.jobs.consent(job_id, world.sources[1])
    honest = spend_to_report(budget, job_id, JobKind.SECURE_STATS, document, 2)
    assert honest == [250_000, 250_000]

    # The cheating committer reports less than the mechanism spent on source 0: the attesters refuse.
    world.arbiter.jobs.commit_result(
        job_id, keccak(text="r"), keccak(text="t"), [1, 1], bytes(32), epsilons_spent=[200_000, 250_000]
    )
    assert attested_privacy_hash(budget, job_id, JobKind.SECURE_STATS, document, 2) is None
    # ... and a signature over the honest figure does not verify against the commit either.
    honest_attestation = job_attestation(world.bank.jobs, job_id, privacy_hash(honest, DELTA))
    signature = honest_attestation.sign(bytes(world.card.jobs.sender.account.key), world.domain)
    with pytest.raises(revert_error("JobLedgerWrongSigner")):
        world.bank.jobs.attest(job_id, world.card.jobs.sender.address, signature)
    assert not world.bank.jobs.has_attested(job_id, world.card.jobs.sender.address)


def test_over_reporting_within_the_reservation_is_refused_and_the_honest_figure_is_signed(world: World) -> None:
    budget = world.card.privacy
    doc = {**STATS_DOC, "epsilon": "0.1"}
    over = world.open_dp(("0.2", "0.2"), JobKind.SECURE_STATS)
    world.card.jobs.consent(over, world.sources[0])
    world.tax.jobs.consent(over, world.sources[1])
    world.arbiter.jobs.commit_result(
        over, keccak(text="r"), keccak(text="t"), [1, 1], bytes(32), epsilons_spent=[150_000, 100_000]
    )
    assert attested_privacy_hash(budget, over, JobKind.SECURE_STATS, lambda: doc, 2) is None

    fair = world.open_dp(("0.1", "0.1"), JobKind.SECURE_STATS)
    world.card.jobs.consent(fair, world.sources[0])
    world.tax.jobs.consent(fair, world.sources[1])
    world.arbiter.jobs.commit_result(
        fair, keccak(text="r"), keccak(text="t"), [1, 1], bytes(32), epsilons_spent=[100_000, 100_000]
    )
    signed = attested_privacy_hash(budget, fair, JobKind.SECURE_STATS, lambda: doc, 2)
    attestation = job_attestation(world.bank.jobs, fair, signed or b"")
    assert attestation.digest(world.domain) == world.bank.jobs.attestation_digest(fair)
