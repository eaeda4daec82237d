"""Opening a job: check the document fits the kind, store it, approve the exact budget, open.

The one open flow: `custos job open`, the gateway's `POST /jobs` and the demo all call
`open_job`. Amounts are base units of the settlement token (`ledger.units.parse_amount`
turns what a person types into them, exactly).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from eth_utils import is_address, keccak

from compute.errors import InvalidInput
from compute.jobs.kinds import kind_of
from compute.jobs.workspace import Workspace
from compute.result import canonical_json
from ledger.bindings import Consortium, CustosToken, DataRegistry, JobLedger, OpenedJob, PrivacyBudget, Settlement
from ledger.protocol import JobKind as ChainKind


class JobContracts(Protocol):
    """The contracts a member acts through (`ledger.member.MemberLedger`, the gateway's handles)."""

    @property
    def token(self) -> CustosToken: ...
    @property
    def settlement(self) -> Settlement: ...
    @property
    def registry(self) -> DataRegistry: ...
    @property
    def jobs(self) -> JobLedger: ...
    @property
    def privacy(self) -> PrivacyBudget: ...
    @property
    def consortium(self) -> Consortium: ...


@dataclass(frozen=True)
class OpenRequest:
    """A job to open. Give the parameter `document` (stored and hashed here) or the hash of one stored elsewhere."""

    kind: ChainKind
    source_ids: tuple[int, ...]
    compute: tuple[str, ...]
    budget: int  # base units of the settlement token
    deadline: int  # unix seconds after which an uncommitted job may be cancelled
    document: Mapping[str, Any] | None = None
    params_hash: bytes | None = None
    max_total_price: int | None = None  # None: the sources' prices as read now
    epsilons: tuple[int, ...] | None = None  # a DP job: micro-ε reserved per source (PrivacyBudget, issue 20)
    delta: int = 0  # a DP job: atto-δ reserved on every source


@dataclass(frozen=True)
class Opened:
    """A job just opened, and the parameter hash it records."""

    job: OpenedJob
    params_hash: bytes

    @property
    def job_id(self) -> int:
        """The new job's id."""
        return self.job.job_id


def deadline_after(contracts: Any, seconds: int) -> int:
    """Unix time `seconds` from now, by the later of the chain head and the wall clock (a quiet chain lags)."""
    return max(int(contracts.latest_timestamp()), int(time.time())) + seconds


def _params_hash(request: OpenRequest, store: Workspace | None) -> bytes:
    if request.document is None:
        if request.params_hash is None:
            raise InvalidInput("a job needs its parameter document or the hash of one")
        return request.params_hash
    document = dict(request.document)
    kind_of(document, request.kind)  # a document of another kind would run what the sources did not consent to
    try:
        raw = canonical_json(document)
    except (TypeError, ValueError) as exc:  # NaN, infinities, values JSON has no form for
        raise InvalidInput(f"the parameter document is not plain JSON: {exc}") from None
    if request.params_hash is not None and keccak(raw) != request.params_hash:
        raise InvalidInput("the parameter document does not hash to the params_hash given with it")
    if store is None:
        raise InvalidInput("no workspace to keep the parameter document in (parties fetch it from the requester)")
    return store.put_params(document)


def open_job(contracts: JobContracts, request: OpenRequest, store: Workspace | None = None) -> Opened:
    """Store the document, approve exactly `budget` to Settlement, open; InvalidInput before any transaction."""
    if request.budget <= 0:
        raise InvalidInput("the budget must be more than zero")
    if not request.source_ids or not request.compute:
        raise InvalidInput("a job needs at least one source and one compute party")
    for party in request.compute:  # before the approval: a bad address must not leave an allowance behind
        if not is_address(party):
            raise InvalidInput(f"compute party {party[:50]!r} is not an address (0x and 40 hex digits)")
    digest = _params_hash(request, store)
    contracts.token.approve(contracts.settlement.address, request.budget)
    opened = contracts.jobs.open_job(
        request.kind,
        request.source_ids,
        digest,
        request.compute,
        request.budget,
        request.deadline,
        request.max_total_price,
        epsilons=request.epsilons,
        delta=request.delta,
    )
    return Opened(opened, digest)
