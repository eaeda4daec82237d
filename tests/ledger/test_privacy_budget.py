"""The privacy budget on the embedded chain through the bindings: a DP job reserves, its attested
spend (Python's Attestation in lock-step with the contract's digest) becomes final, a second job
that would overspend is refused with the contract's error, and the indexer decodes every event."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_utils import keccak

from ledger.artifacts import load
from ledger.audit.budget import BudgetState, budget_history, budget_on_chain, check_budget, source_budget_events
from ledger.audit.queries import AuditQueries
from ledger.audit.report import FAILED, PASSED
from ledger.bindings import ReservationStage
from ledger.client.revert import revert_error
from ledger.index import EventIndexer, EventStore, IndexedEvent
from ledger.protocol import Attestation, JobKind, contribution_hash, kinds_mask, privacy_hash
from ledger.units import format_epsilon, parse_amount
from tests.ledger.privacy_world import DELTA, World, job_attestation, privacy_world


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with privacy_world() as built:
        yield built


def test_privacy_budget_lives_where_the_deployment_derives_it(world: World) -> None:
    assert world.bank.jobs.privacy_budget() == world.deployment.privacy_budget
    assert world.bank.privacy.address == world.deployment.address("PrivacyBudget")
    assert world.bank.privacy.dp_kinds() == kinds_mask(kind for kind in JobKind if kind.is_dp)


def test_dp_job_spends_its_attested_epsilon_and_releases_the_rest(world: World) -> None:
    job_id = world.open_dp(("0.5", "0.25"))
    reservation = world.bank.privacy.reservation_of(job_id)
    assert (reservation.stage, reservation.epsilons, reservation.delta) == (
        ReservationStage.RESERVED,
        (500_000, 250_000),
        DELTA,
    )
    world.card.jobs.consent(job_id, world.sources[0])
    world.tax.jobs.consent(job_id, world.sources[1])
    weights, utility = [1, 1], keccak(text="utility")
    spent = [400_000, 250_000]
    world.arbiter.jobs.commit_result(job_id, keccak(text="r"), keccak(text="t"), weights, utility, epsilons_spent=spent)

    # The Python attestation with the spend's hash is the contract's digest; without it, it is not.
    job = world.bank.jobs.job(job_id)
    domain = world.domain
    honest = Attestation(
        job_id,
        job.inputs_hash,
        job.result_hash,
        job.transcript_root,
        contribution_hash(weights, utility),
        privacy_hash(spent, DELTA),
    )
    assert honest.digest(domain) == world.bank.jobs.attestation_digest(job_id)
    under_reported = job_attestation(world.bank.jobs, job_id, privacy_hash([300_000, 250_000], DELTA))
    assert under_reported.digest(domain) != world.bank.jobs.attestation_digest(job_id)

    for member in (world.card, world.tax, world.arbiter):
        key = bytes(member.jobs.sender.account.key)
        world.bank.jobs.attest(job_id, member.jobs.sender.address, honest.sign(key, domain))
    world.bank.jobs.finalize(job_id)

    card = world.bank.privacy.budget_of(world.sources[0])
    assert (card.epsilon_spent, card.epsilon_reserved, card.epsilon_remaining) == (400_000, 0, 600_000)
    assert (card.delta_spent, card.delta_remaining, card.exact_allowed) == (DELTA, 9 * DELTA, False)
    assert world.bank.privacy.reservation_of(job_id).stage is ReservationStage.CLOSED


def test_a_job_asking_more_than_is_left_is_refused_with_the_contracts_error(world: World) -> None:
    before = world.bank.privacy.budget_of(world.sources[0])
    first = world.open_dp((format_epsilon(before.epsilon_remaining - 100_000), "0.1"))
    with pytest.raises(revert_error("PrivacyBudgetInsufficientEpsilon")) as refused:
        world.open_dp(("0.2", "0.1"))
    assert refused.value.arguments["sourceId"] == world.sources[0]
    assert refused.value.arguments["remaining"] == 100_000
    world.bank.jobs.abort(first, b"\x00" * 32)
    assert world.bank.privacy.budget_of(world.sources[0]).epsilon_reserved == 0


def test_an_exact_job_on_a_dp_only_source_is_refused(world: World) -> None:
    world.bank.token.approve(world.deployment.settlement, parse_amount(1))
    with pytest.raises(revert_error("PrivacyBudgetExactReleaseRefused")):
        world.bank.jobs.open_job(
            JobKind.FEDAVG,
            world.sources,
            keccak(text="p"),
            [world.arbiter.jobs.sender.address],
            parse_amount(1),
            int(time.time()) + 3600,
        )


def test_the_indexer_decodes_every_budget_event_with_its_links(world: World, tmp_path: Path) -> None:
    store = EventStore(tmp_path / "index.db")
    w3 = world.bank.jobs.sender.w3
    watched = {name: (address, load(name).abi) for name, address in world.deployment.event_sources().items()}
    EventIndexer(w3, store, watched).sync()
    names = [e.event for e in _all(store, world.sources, world.bank.jobs.job_count()) if e.contract == "PrivacyBudget"]
    assert {"PrivacyBudgetSet", "PrivacyBudgetReserved", "PrivacySpendReported", "PrivacyBudgetSpent"} <= set(names)
    assert "PrivacyBudgetReleased" in names
    # Linked by sourceId and jobId: the source's trail and the job's trail both hold the reservation.
    queries = AuditQueries(store)
    by_source = [e for e in queries.source_events([world.sources[0]]) if e.event == "PrivacyBudgetReserved"]
    by_job = [e for e in queries.job_events(0) if e.event == "PrivacyBudgetReserved"]
    assert by_source[0].args == {"sourceId": world.sources[0], "jobId": 0, "epsilon": 500_000, "delta": DELTA}
    assert by_source[0] in by_job


def _all(store: EventStore, sources: tuple[int, int], jobs: int) -> list[IndexedEvent]:
    """Every indexed event linked to the two sources or to one of the jobs, once each."""
    queries = AuditQueries(store)
    found = queries.source_events(list(sources)) + [e for j in range(jobs) for e in queries.job_events(j)]
    return list({(e.block_number, e.log_index): e for e in found}.values())


def test_the_budget_history_replays_to_the_contracts_figures_and_a_hidden_spend_is_caught(
    world: World, tmp_path: Path
) -> None:
    store = EventStore(tmp_path / "index.db")
    w3 = world.bank.jobs.sender.w3
    watched = {name: (address, load(name).abi) for name, address in world.deployment.event_sources().items()}
    EventIndexer(w3, store, watched).sync()
    source = world.sources[0]
    events = source_budget_events(AuditQueries(store), source)

    def on_chain(block: int) -> BudgetState:
        def call(request: dict[str, str], at: int, subject: str) -> str:
            return "0x" + bytes(w3.eth.call(request, block_identifier=at)).hex()  # type: ignore[arg-type]  # a plain call dict

        return budget_on_chain(call, world.deployment.privacy_budget, source, block)

    history = budget_history(events, source)
    checks = check_budget(history, on_chain, w3.eth.block_number)
    assert checks and all(c.status == PASSED for c in checks), [c for c in checks if c.status != PASSED]
    assert history.closing == on_chain(w3.eth.block_number)
    first = history.jobs[0]
    assert (first.job_id, first.outcome, first.reserved, first.spent, first.released) == (
        0,
        "spent",
        500_000,
        400_000,
        100_000,
    )
    assert [j.outcome for j in history.jobs[1:]] == ["released"]  # the aborted job gave everything back

    # An index that hides the spend of job 0 disagrees with the chain from that block on.
    hidden = [e for e in events if not (e.event == "PrivacyBudgetSpent" and e.args["jobId"] == 0)]
    failed = [
        c for c in check_budget(budget_history(hidden, source), on_chain, w3.eth.block_number) if c.status == FAILED
    ]
    assert failed and "budget matches chain" in {c.name for c in failed}

    # The window: before the first reservation, only the budget was set.
    reserved_at = first.reserved_at
    early = budget_history(events, source, until=reserved_at)
    assert [s.change for s in early.steps] == ["set"] and early.jobs == ()
    assert early.closing.epsilon_total == 1_000_000 and early.closing.epsilon_reserved == 0
