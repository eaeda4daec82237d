"""Which step of a trail each verification check concerns, so a failure shows on its step.

A chain check (receipt, log, canonical block, seal) names its event the way
`ledger.audit.verify.describe` does and lands on that step. A job-level check names no event;
`STEP_RULES` maps its check name to the step it is about:

- `attestation signature` → the AttestationRecorded step of the signer it names;
- `payout` → the step that settled the escrow (JobFinalized, else the release or the refund);
- `seal quorum`, `block roots` (about `block N`) → every step recorded in that block.

A check whose name has no rule (one added to the verifier later) is never dropped: it is
returned as a job-level check, shown above the timeline and counted in the verdict. To put
it on a step, add its name here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ledger.audit.report import Check
from ledger.audit.verify import describe
from ledger.index.store import IndexedEvent

StepRule = Callable[[Check, Sequence[IndexedEvent]], list[int]]

_SIGNER = re.compile(r"by (0x[0-9a-fA-F]{40})")
_BLOCK = re.compile(r"^block (\d+)$")
_SETTLING = ("JobFinalized", "EscrowReleased", "DisputeResolved", "JobCancelled", "JobAborted", "EscrowRefunded")


def _index_of(events: Sequence[IndexedEvent], wanted: Callable[[IndexedEvent], bool]) -> int | None:
    return next((i for i, e in enumerate(events) if wanted(e)), None)


def attestation_step(check: Check, events: Sequence[IndexedEvent]) -> list[int]:
    """The AttestationRecorded step of the signer the check names."""
    found = _SIGNER.search(check.subject)
    if found is None:
        return []
    signer = found.group(1).lower()
    index = _index_of(
        events, lambda e: e.event == "AttestationRecorded" and str(e.args.get("signer", "")).lower() == signer
    )
    return [] if index is None else [index]


def settlement_step(check: Check, events: Sequence[IndexedEvent]) -> list[int]:
    """The step that settled the job's escrow, in order of preference."""
    for name in _SETTLING:
        index = next((i for i, e in enumerate(events) if e.event == name), None)
        if index is not None:
            return [index]
    return []


def block_steps(check: Check, events: Sequence[IndexedEvent]) -> list[int]:
    """Every step recorded in the block the check names (`block N`)."""
    found = _BLOCK.match(check.subject)
    if found is None:
        return []
    number = int(found.group(1))
    return [i for i, e in enumerate(events) if e.block_number == number]


STEP_RULES: dict[str, StepRule] = {
    "attestation signature": attestation_step,
    "payout": settlement_step,
    "seal quorum": block_steps,
    "block roots": block_steps,
}


def attach(events: Sequence[IndexedEvent], checks: Sequence[Check]) -> tuple[list[list[Check]], list[Check]]:
    """Each step's checks (by position in `events`), and the checks that concern no single step."""
    by_subject = {describe(event): i for i, event in enumerate(events)}
    per_step: list[list[Check]] = [[] for _ in events]
    unattached: list[Check] = []
    for check in checks:
        index = by_subject.get(check.subject)
        found = [index] if index is not None else []
        if not found and check.name in STEP_RULES:
            found = STEP_RULES[check.name](check, events)
        if not found:
            unattached.append(check)
        for step in found:
            per_step[step].append(check)
    return per_step, unattached
