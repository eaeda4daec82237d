"""The demo's privacy-budget step (issue 20): a DP secure-statistics job spends each source's ε on
chain, the remaining budgets are printed, and one more such job is refused on chain for lack of budget.

Each provider gives its source a budget of ε 1 and δ 1e-5. The bank asks for differentially
private pooled statistics (count, mean, variance, histogram) of one risk column per source,
reserving ε 0.6 and δ 1e-6 on each; the runners check the reservation against the accountant
before consenting, the compute node reports the spend, every attester recomputes it. A second
job asking ε 0.6 again finds 0.4 left and the contract refuses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from compute.jobs.service.documents import stats_document
from ledger.bindings import JobStatus
from ledger.errors import ContractRevert
from ledger.member import MemberLedger
from ledger.protocol import JobKind
from ledger.units import format_delta, format_epsilon, parse_delta, parse_epsilon

if TYPE_CHECKING:
    from custos.demo import Demo

BUDGET_EPSILON, BUDGET_DELTA = "1", "1e-5"
JOB_EPSILON, JOB_DELTA = "0.6", "1e-6"
RISK_COLUMNS = {"bank": "past_delinquencies", "invoice-firm": "late_payment_ratio", "card-network": "chargeback_rate"}


@dataclass(frozen=True)
class PrivacyOutcome:
    """What the step leaves: the DP job, its final status, each source's remaining micro-ε, the refusal."""

    job_id: int
    status: JobStatus
    remaining: Mapping[int, int]
    refusal: str


def run_privacy_step(demo: Demo, members: Mapping[str, MemberLedger], sources: Mapping[str, int]) -> PrivacyOutcome:
    """Budgets, one DP statistics job run to the end by the runners, the budgets left, one refusal."""
    for name, source_id in sources.items():
        members[name].privacy.set_budget(source_id, parse_epsilon(BUDGET_EPSILON), parse_delta(BUDGET_DELTA))
        demo.say(f"source {source_id} by {name:<13} privacy budget ε {BUDGET_EPSILON}, δ {BUDGET_DELTA}")
    columns = {sources[name]: column for name, column in RISK_COLUMNS.items()}
    document: dict[str, object] = {
        **stats_document(list(sources.values()), "", columns),
        "bins": [-3, -1, 0, 1, 3],
        "epsilon": JOB_EPSILON,
        "clip": [-4, 4],
    }
    job_id = _open(demo, members["bank"], document, tuple(sources.values()))
    demo.say(
        f"job {job_id} opened by bank: DP secure statistics of one risk column per source, "
        f"ε {JOB_EPSILON} and δ {JOB_DELTA} reserved on each source"
    )
    if not demo.gateways:  # the organisations' gateways host runners that follow every job; else start some
        demo.start_runners(job_id)
    status = demo.wait_final(members["regulator"], job_id)
    demo.say(f"job {job_id} {status.name.lower()}")
    if status is not JobStatus.FINALIZED:
        raise RuntimeError(
            f"the DP job {job_id} ended {status.name}, not finalised; see {demo.folder}/parties/*/runner.log"
        )
    remaining = {}
    for name, source_id in sources.items():
        budget = members["regulator"].privacy.budget_of(source_id)
        remaining[source_id] = budget.epsilon_remaining
        demo.say(
            f"source {source_id} by {name:<13} ε spent {format_epsilon(budget.epsilon_spent)}, "
            f"remaining {format_epsilon(budget.epsilon_remaining)} of {format_epsilon(budget.epsilon_total)}; "
            f"δ remaining {format_delta(budget.delta_remaining)}"
        )
    try:
        refused = _open(demo, members["bank"], {**document, "bins": [-2, 0, 2]}, tuple(sources.values()))
    except ContractRevert as exc:
        left = format_epsilon(int(exc.arguments.get("remaining", 0)))
        refusal = (
            f"one more DP job refused on chain ({exc.name}): source {exc.arguments.get('sourceId')} "
            f"has ε {left} left, the job asks ε {JOB_EPSILON}"
        )
        demo.say(refusal)
        return PrivacyOutcome(job_id, status, remaining, refusal)
    raise RuntimeError(f"job {refused} was opened although the sources' privacy budgets were spent")


def _open(demo: Demo, bank: MemberLedger, document: dict[str, object], source_ids: tuple[int, ...]) -> int:
    epsilons = [parse_epsilon(JOB_EPSILON)] * len(source_ids)
    return demo.open_with(
        bank, JobKind.SECURE_STATS, document, source_ids, epsilons=epsilons, delta=parse_delta(JOB_DELTA)
    )
