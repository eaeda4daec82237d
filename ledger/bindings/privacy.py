"""PrivacyBudget: each source's differential-privacy budget and every DP job's reservation.

Amounts are the contract's integers: ε in micro-ε, δ in atto-δ (`ledger.units.parse_epsilon`,
`parse_delta`, `format_epsilon`, `format_delta` convert them exactly).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from ledger.bindings.base import ContractBinding
from ledger.client.sender import Receipt
from ledger.errors import ContractRevert
from ledger.units import format_delta, format_epsilon


class ReservationStage(IntEnum):
    """PrivacyBudget.Stage: NONE is an exact (non-DP) job."""

    NONE = 0
    RESERVED = 1
    COMMITTED = 2
    CLOSED = 3


@dataclass(frozen=True)
class SourceBudget:
    """A source's budget now: totals, spent and reserved (micro-ε, atto-δ), and its exact-release choice."""

    source_id: int
    epsilon_total: int
    epsilon_spent: int
    epsilon_reserved: int
    delta_total: int
    delta_spent: int
    delta_reserved: int
    exact_allowed: bool

    @property
    def epsilon_remaining(self) -> int:
        """What a new job could still reserve, in micro-ε."""
        return self.epsilon_total - self.epsilon_spent - self.epsilon_reserved

    @property
    def delta_remaining(self) -> int:
        """What a new job could still reserve, in atto-δ."""
        return self.delta_total - self.delta_spent - self.delta_reserved


@dataclass(frozen=True)
class Reservation:
    """A job's reservation: per source the micro-ε reserved and (once committed) spent; the job's atto-δ."""

    job_id: int
    stage: ReservationStage
    delta: int
    source_ids: tuple[int, ...]
    epsilons: tuple[int, ...]
    spent: tuple[int, ...]

    def epsilon_for(self, source_id: int) -> int:
        """The micro-ε reserved on `source_id` (0 if the job does not reserve on it)."""
        return dict(zip(self.source_ids, self.epsilons)).get(source_id, 0)


class PrivacyBudget(ContractBinding):
    """The PrivacyBudget contract (created by the JobLedger; `Deployment.privacy_budget`)."""

    NAME = "PrivacyBudget"

    def set_budget(self, source_id: int, epsilon_total: int, delta_total: int, exact_allowed: bool = True) -> Receipt:
        """Set the budget of a source the sender owns: no lower than what is spent plus reserved, δ ≤ 1."""
        return self._send("setBudget", source_id, epsilon_total, delta_total, exact_allowed)

    def budget_of(self, source_id: int) -> SourceBudget:
        """The source's budget as it stands now."""
        eps_total, eps_spent, eps_reserved, d_total, d_spent, d_reserved, exact_forbidden = self._call(
            "budgetOf", source_id
        )
        return SourceBudget(
            source_id, eps_total, eps_spent, eps_reserved, d_total, d_spent, d_reserved, not exact_forbidden
        )

    def dp_kinds(self) -> int:
        """The bitmask of the job kinds the contract treats as differentially private."""
        return int(self._call("DP_KINDS"))

    def reservation_of(self, job_id: int) -> Reservation:
        """The job's reservation (stage NONE for an exact job)."""
        stage, delta, source_ids, epsilons, spent = self._call("reservationOf", job_id)
        return Reservation(job_id, ReservationStage(stage), delta, tuple(source_ids), tuple(epsilons), tuple(spent))


def budget_refusal(exc: ContractRevert) -> str | None:
    """One line saying why the contract refused a job for lack of privacy budget, in ε and δ as people
    write them (`source 3 has ε 0.4 left, the job asks ε 0.6 (PrivacyBudgetInsufficientEpsilon)`); None
    for any other revert."""
    units = {
        "PrivacyBudgetInsufficientEpsilon": ("ε", format_epsilon),
        "PrivacyBudgetInsufficientDelta": ("δ", format_delta),
    }
    if exc.name not in units:
        return None
    symbol, show = units[exc.name]
    args = exc.arguments
    return (
        f"source {args.get('sourceId')} has {symbol} {show(int(args.get('remaining', 0)))} left, "
        f"the job asks {symbol} {show(int(args.get('requested', 0)))} ({exc.name})"
    )
