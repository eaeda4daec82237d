"""A source's privacy budget over time: replayed from the indexed PrivacyBudget events, checked on chain.

The regulator's question — "how much did each release reveal about my customers?" — is
answered from the events alone (`budget_history`): every budget change, reservation, spend
and release of the source, the state after each, and per job what it reserved and spent and
when. `check_budget` then asks the chain itself (`PrivacyBudget.budgetOf` at each block the
history names, and at the head) whether every figure is the contract's: an indexed history
that missed, invented or altered an event disagrees with the chain at the next figure.
Amounts are the contract's integers (micro-ε, atto-δ); `ledger.units` formats them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector

from ledger.audit.queries import AuditQueries
from ledger.audit.report import FAILED, PASSED, Check
from ledger.deployment import PRIVACY_BUDGET
from ledger.index import IndexedEvent
from ledger.units import format_delta, format_epsilon

_BUDGET_OF = function_signature_to_4byte_selector("budgetOf(uint256)")
_CHANGES = {
    "PrivacyBudgetSet": "set",
    "PrivacyBudgetReserved": "reserved",
    "PrivacyBudgetSpent": "spent",
    "PrivacyBudgetReleased": "released",
}


@dataclass(frozen=True)
class BudgetState:
    """A source's budget at one moment (micro-ε, atto-δ), as `PrivacyBudget.budgetOf` returns it."""

    epsilon_total: int = 0
    epsilon_spent: int = 0
    epsilon_reserved: int = 0
    delta_total: int = 0
    delta_spent: int = 0
    delta_reserved: int = 0
    exact_allowed: bool = True

    @property
    def epsilon_remaining(self) -> int:
        """What a new DP job could still reserve, in micro-ε."""
        return self.epsilon_total - self.epsilon_spent - self.epsilon_reserved

    @property
    def delta_remaining(self) -> int:
        """What a new DP job could still reserve, in atto-δ."""
        return self.delta_total - self.delta_spent - self.delta_reserved

    def to_json(self) -> dict[str, Any]:
        """Exact decimal figures (ε, δ) for JSON output."""
        return {
            "epsilon": {
                "total": format_epsilon(self.epsilon_total),
                "spent": format_epsilon(self.epsilon_spent),
                "reserved": format_epsilon(self.epsilon_reserved),
                "remaining": format_epsilon(self.epsilon_remaining),
            },
            "delta": {
                "total": format_delta(self.delta_total),
                "spent": format_delta(self.delta_spent),
                "reserved": format_delta(self.delta_reserved),
                "remaining": format_delta(self.delta_remaining),
            },
            "exactAllowed": self.exact_allowed,
        }


@dataclass(frozen=True)
class BudgetStep:
    """One change to the budget: which (`set`, `reserved`, `spent`, `released`), by which job, and the state after."""

    event: IndexedEvent
    change: str
    job_id: int | None
    epsilon: int
    delta: int
    after: BudgetState


@dataclass(frozen=True)
class JobSpend:
    """One DP job on the source: what it reserved, spent and got back, and when (block times)."""

    job_id: int
    reserved: int
    spent: int
    released: int
    delta: int
    reserved_at: int
    closed_at: int | None
    finalised: bool

    @property
    def outcome(self) -> str:
        """`open` (still reserved), `spent` (finalised: its result was released) or `released` (it ended
        without a result: cancelled, aborted or refunded, the whole reservation returned)."""
        if self.closed_at is None:
            return "open"
        return "spent" if self.finalised else "released"


@dataclass(frozen=True)
class BudgetHistory:
    """The source's budget in the window [since, until): the state before it, each step in it, the jobs."""

    source_id: int
    since: int | None
    until: int | None
    opening: BudgetState
    steps: tuple[BudgetStep, ...]
    closing: BudgetState
    jobs: tuple[JobSpend, ...]
    all_steps: tuple[BudgetStep, ...] = field(default=(), repr=False)

    def to_json(self) -> dict[str, Any]:
        """The whole answer as JSON: opening and closing state, every step, every job."""
        return {
            "sourceId": self.source_id,
            "since": self.since,
            "until": self.until,
            "opening": self.opening.to_json(),
            "closing": self.closing.to_json(),
            "steps": [
                {
                    "block": s.event.block_number,
                    "time": s.event.block_time,
                    "tx": "0x" + s.event.tx_hash.hex(),
                    "change": s.change,
                    "jobId": s.job_id,
                    "epsilon": format_epsilon(s.epsilon),
                    "delta": format_delta(s.delta),
                    "after": s.after.to_json(),
                }
                for s in self.steps
            ],
            "jobs": [
                {
                    "jobId": j.job_id,
                    "outcome": j.outcome,
                    "epsilonReserved": format_epsilon(j.reserved),
                    "epsilonSpent": format_epsilon(j.spent),
                    "epsilonReleased": format_epsilon(j.released),
                    "delta": format_delta(j.delta),
                    "reservedAt": j.reserved_at,
                    "closedAt": j.closed_at,
                }
                for j in self.jobs
            ],
        }


def source_budget_events(queries: AuditQueries, source_id: int) -> list[IndexedEvent]:
    """The source's PrivacyBudget events in chain order (from the whole index, not a window)."""
    return [e for e in queries.source_events([source_id]) if e.contract == PRIVACY_BUDGET and e.event in _CHANGES]


def budget_history(
    events: Iterable[IndexedEvent], source_id: int, since: int | None = None, until: int | None = None
) -> BudgetHistory:
    """Replay the source's budget events (chain order, from the first) and keep the window [since, until)."""
    state, steps = BudgetState(), []
    for event in events:
        if event.contract != PRIVACY_BUDGET or event.args.get("sourceId") != source_id or event.event not in _CHANGES:
            continue
        change = _CHANGES[event.event]
        state = _apply(state, change, event.args)
        epsilon = int(event.args.get("epsilon", event.args.get("epsilonTotal", 0)))
        delta = int(event.args.get("delta", event.args.get("deltaTotal", 0)))
        job = event.args.get("jobId")
        steps.append(BudgetStep(event, change, None if job is None else int(job), epsilon, delta, state))
    inside = [s for s in steps if _within(s.event.block_time, since, until)]
    before = [s for s in steps if since is not None and s.event.block_time < since]
    after_window = [s for s in steps if until is None or s.event.block_time < until]
    opening = before[-1].after if before else BudgetState()
    closing = after_window[-1].after if after_window else opening
    touched = {s.job_id for s in inside if s.job_id is not None}
    jobs = tuple(_job_spend(job, [s for s in after_window if s.job_id == job]) for job in sorted(touched))
    return BudgetHistory(source_id, since, until, opening, tuple(inside), closing, jobs, tuple(steps))


def _within(time: int, since: int | None, until: int | None) -> bool:
    return (since is None or time >= since) and (until is None or time < until)


def _apply(state: BudgetState, change: str, args: dict[str, Any]) -> BudgetState:
    if change == "set":
        return replace(
            state,
            epsilon_total=int(args["epsilonTotal"]),
            delta_total=int(args["deltaTotal"]),
            exact_allowed=bool(args["exactAllowed"]),
        )
    epsilon, delta = int(args["epsilon"]), int(args["delta"])
    if change == "reserved":
        return replace(
            state, epsilon_reserved=state.epsilon_reserved + epsilon, delta_reserved=state.delta_reserved + delta
        )
    if change == "spent":
        # A spend moves the whole reservation out: the spent part here, the rest by its Released event.
        return replace(
            state,
            epsilon_spent=state.epsilon_spent + epsilon,
            epsilon_reserved=state.epsilon_reserved - epsilon,
            delta_spent=state.delta_spent + delta,
            delta_reserved=state.delta_reserved - delta,
        )
    return replace(
        state, epsilon_reserved=state.epsilon_reserved - epsilon, delta_reserved=state.delta_reserved - delta
    )


def _job_spend(job_id: int, steps: Sequence[BudgetStep]) -> JobSpend:
    reserved = sum(s.epsilon for s in steps if s.change == "reserved")
    spent = sum(s.epsilon for s in steps if s.change == "spent")
    released = sum(s.epsilon for s in steps if s.change == "released")
    delta = sum(s.delta for s in steps if s.change == "reserved")
    reserved_at = next((s.event.block_time for s in steps if s.change == "reserved"), 0)
    ends = [s.event.block_time for s in steps if s.change in ("spent", "released")]
    finalised = any(s.change == "spent" for s in steps)
    return JobSpend(job_id, reserved, spent, released, delta, reserved_at, max(ends) if ends else None, finalised)


# -- as a person reads it ---------------------------------------------------------------------


def render_history(history: BudgetHistory) -> str:
    """The budget as a person reads it: the state before and after the window, each step, each job."""
    window = f"{_when(history.since)} .. {_when(history.until)}"
    lines = [f"source {history.source_id} privacy budget, {window}", f"  before: {_state(history.opening)}"]
    for step in history.steps:
        by = f" job {step.job_id}" if step.job_id is not None else ""
        lines.append(
            f"  {_when(step.event.block_time)} block {step.event.block_number}: {step.change}{by} "
            f"ε {format_epsilon(step.epsilon)} δ {format_delta(step.delta)} → {_state(step.after)}"
        )
    lines.append(f"  after:  {_state(history.closing)}")
    for job in history.jobs:
        ended = f", ended {_when(job.closed_at)}" if job.closed_at is not None else ""
        lines.append(
            f"  job {job.job_id}: {job.outcome}; reserved ε {format_epsilon(job.reserved)} "
            f"at {_when(job.reserved_at)}, spent ε {format_epsilon(job.spent)}, δ {format_delta(job.delta)}{ended}"
        )
    return "\n".join(lines)


def _state(state: BudgetState) -> str:
    return (
        f"ε {format_epsilon(state.epsilon_total)} total, {format_epsilon(state.epsilon_spent)} spent, "
        f"{format_epsilon(state.epsilon_reserved)} reserved, {format_epsilon(state.epsilon_remaining)} remaining; "
        f"δ {format_delta(state.delta_spent)} of {format_delta(state.delta_total)} spent"
    )


def _when(seconds: int | None) -> str:
    if seconds is None:
        return "…"
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


# -- checking the figures against the chain ------------------------------------------------

ChainCall = Callable[[dict[str, str], int, str], Any]  # (call object, block, subject) → eth_call's hex answer


def budget_on_chain(call: ChainCall, budget_address: str, source_id: int, block: int) -> BudgetState:
    """`PrivacyBudget.budgetOf(source_id)` as the chain answers it at `block`."""
    data = "0x" + (_BUDGET_OF + encode(["uint256"], [source_id])).hex()
    answer = call({"to": budget_address, "data": data}, block, f"source {source_id} budget @ {block}")
    raw = bytes.fromhex(str(answer)[2:])
    eps_total, eps_spent, eps_reserved, d_total, d_spent, d_reserved, forbidden = decode(
        ["uint64", "uint64", "uint64", "uint64", "uint64", "uint64", "bool"], raw
    )
    return BudgetState(eps_total, eps_spent, eps_reserved, d_total, d_spent, d_reserved, not forbidden)


def check_budget(history: BudgetHistory, chain_state: Callable[[int], BudgetState], head: int) -> list[Check]:
    """One check per block the history changes the budget in (the replayed state after the block's last
    step against `chain_state(block)`), and one at `head` against the history's last state."""
    checks: list[Check] = []
    last_in_block: dict[int, BudgetState] = {}
    for step in history.all_steps:
        last_in_block[step.event.block_number] = step.after
    subject = f"source {history.source_id} budget"
    for block, replayed in sorted(last_in_block.items()):
        checks.append(_compare(f"{subject} @ block {block}", replayed, chain_state(block)))
    final = history.all_steps[-1].after if history.all_steps else BudgetState()
    checks.append(_compare(f"{subject} @ head {head}", final, chain_state(head)))
    return checks


def _compare(subject: str, replayed: BudgetState, chain: BudgetState) -> Check:
    if replayed == chain:
        return Check("budget matches chain", subject, PASSED)
    return Check("budget matches chain", subject, FAILED, f"the events give {replayed}, the contract holds {chain}")
