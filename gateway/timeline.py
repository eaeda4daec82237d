"""The verified timeline the API and the explorer show: indexed events as steps, each with its own checks."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.check_steps import attach
from gateway.event_details import details
from gateway.schemas.audit import CheckResult, TimelineStep
from gateway.schemas.fields import show
from ledger.audit.report import FAILED, Check
from ledger.index.store import IndexedEvent


def check_result(check: Check) -> CheckResult:
    """A verifier's check as the API shows it."""
    return CheckResult(name=check.name, status=check.status, detail=check.detail)


def _check_line(check: Check) -> str:
    return f"{check.name}: {check.status}" + (f" ({check.detail})" if check.detail else "")


def steps_of(events: Sequence[IndexedEvent], checks: Sequence[Check]) -> tuple[list[TimelineStep], list[Check]]:
    """The timeline, each step with its own checks, and the checks that concern no single step."""
    per_step, unattached = attach(events, checks)
    steps = [
        TimelineStep(
            index=index,
            job_id=event.args.get("jobId"),
            event=event.event,
            contract=event.contract,
            actor=event.actor,
            block_number=event.block_number,
            block_time=event.block_time,
            tx_hash=show(event.tx_hash),
            block_hash=show(event.block_hash),
            verified=bool(mine) and not any(c.status == FAILED for c in mine),
            checks=[_check_line(c) for c in mine],
            results=[check_result(c) for c in mine],
            details=details(event),
        )
        for index, (event, mine) in enumerate(zip(events, per_step, strict=True))
    ]
    return steps, unattached
