"""The runner's privacy-budget checks: before consent, at commit, at attestation (compute/dp/budget.py).

Each takes the job's on-chain reservation (`PrivacyBudget.reservationOf`) and its parameter
document, recomputes the spend with the accountant, and says what this party does: refuse
consent, report exactly the recomputed ε, or sign only a commit whose reported ε is exactly it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from compute.dp.budget import job_spend, reservation_shortfall
from compute.errors import InvalidInput
from ledger.bindings import PrivacyBudget, ReservationStage
from ledger.protocol import NO_PRIVACY_SPEND, privacy_hash

Document = Callable[[], Mapping[str, Any]]  # loads the job's parameter document (only when needed)


class PrivacyRefused(InvalidInput):
    """No consent: the job's reservation on chain does not cover the ε its mechanism spends (the
    message is the abort reason, `PRIVACY …`)."""


def consent_refusal(budget: PrivacyBudget, job_id: int, kind: int, document: Document, sources: int) -> str | None:
    """Why this party must not consent to the job (its reservation does not cover the accountant's ε), or None."""
    reservation = budget.reservation_of(job_id)
    if reservation.stage is ReservationStage.NONE:
        return None  # an exact release: the contract already checked the sources allow it
    spend = job_spend(kind, document(), sources)
    return reservation_shortfall(spend, reservation.epsilons, reservation.delta, dp_job=True)


def spend_to_report(
    budget: PrivacyBudget, job_id: int, kind: int, document: Document, sources: int
) -> list[int] | None:
    """The micro-ε per source the committing party reports (None: an exact job, `commitResult`)."""
    if budget.reservation_of(job_id).stage is ReservationStage.NONE:
        return None
    spend = job_spend(kind, document(), sources)
    return None if spend is None else list(spend.epsilons)


def attested_privacy_hash(
    budget: PrivacyBudget, job_id: int, kind: int, document: Document, sources: int
) -> bytes | None:
    """The privacy hash this attester signs, or None when the committed spend is not exactly the one
    it recomputes from the parameters (then it signs nothing: under- and over-reports alike)."""
    reservation = budget.reservation_of(job_id)
    if reservation.stage is ReservationStage.NONE:
        return NO_PRIVACY_SPEND
    spend = job_spend(kind, document(), sources)
    if spend is None or reservation.stage is not ReservationStage.COMMITTED or reservation.spent != spend.epsilons:
        return None
    return privacy_hash(reservation.spent, reservation.delta)
