"""Jobs: open, consent, current state, result bundle, and live progress as server-sent events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, status
from fastapi.responses import StreamingResponse

from gateway.bounded_route import BoundedJsonRoute
from gateway.deps import CurrentMember, Ledger, Services, require_operator
from gateway.errors import ERROR_RESPONSES, Forbidden, NotFound, Unavailable
from gateway.membership import Member, Role
from gateway.progress import ProgressBus
from gateway.routes.audit import reader
from gateway.schemas.fields import hex32, show
from gateway.schemas.jobs import (
    ConsentCreate,
    JobCreate,
    JobOpenedPublic,
    JobPublic,
    ResultBundlePublic,
    TransactionPublic,
)
from gateway.sse import job_events, last_event_id

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=ERROR_RESPONSES, route_class=BoundedJsonRoute)

JobId = Path(ge=0, lt=2**256, description="On-chain job id")
_SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "A stream of ProgressPublic events"}
}
Requester = Annotated[Member, Depends(require_operator(Role.REQUESTER))]
Provider = Annotated[Member, Depends(require_operator(Role.PROVIDER))]


@router.post("", response_model=JobOpenedPublic, status_code=status.HTTP_201_CREATED, summary="Open a job")
def open_job(body: JobCreate, member: Requester, ledger: Ledger) -> JobOpenedPublic:
    """Escrow the budget (approve to Settlement) and open the job as this gateway's member."""
    ledger.token.approve(ledger.settlement.address, body.budget)
    opened = ledger.jobs.open_job(
        body.kind, body.source_ids, hex32(body.params_hash), body.compute_parties, body.budget, body.deadline
    )
    return JobOpenedPublic(
        job_id=opened.job_id,
        inputs_hash=show(opened.inputs_hash),
        auto_consented=list(opened.auto_consented),
        tx_hash=show(opened.receipt.tx_hash),
    )


@router.get("/{job_id}", response_model=JobPublic, summary="A job's current state on chain")
def read_job(member: CurrentMember, ledger: Ledger, job_id: int = JobId) -> JobPublic:
    """Status, counters and hashes of the job as the JobLedger holds them now, and its terms."""
    if job_id >= ledger.jobs.job_count():
        raise NotFound("job.not_found", f"No job {job_id} on this consortium's chain.")
    return JobPublic.of(ledger.jobs.job(job_id), ledger.jobs.job_terms(job_id))


@router.get(
    "/{job_id}/result", response_model=ResultBundlePublic, summary="The result bundle (participants and auditors)"
)
def read_result(member: CurrentMember, services: Services, job_id: int = JobId) -> ResultBundlePublic:
    """This gateway's runner's result bundle of the job: hashes, numbers, the utility table and the transcript leaves.

    The job's participants and members with the AUDITOR role may read it; anyone holding it can
    recompute transcriptRoot and the weights (`compute.bundle.verify_bundle`). Rows, ids and
    protocol messages are never in it.
    """
    if services.settings.workspace is None:
        raise Unavailable("runner.unavailable", "This gateway runs no job runner (start it with --workspace).")
    trail = reader(services).job_trail(job_id)
    if trail is None:
        raise NotFound("job.not_found", f"No job {job_id} on this consortium's chain.")
    if member.address not in trail.job.participants and not member.holds(Role.AUDITOR):
        raise Forbidden(
            "auth.not_participant", f"Only the participants of job {job_id} and auditors may read its result."
        )
    path = services.settings.workspace / "results" / f"{job_id}.json"
    try:
        return ResultBundlePublic.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise NotFound("result.not_found", f"Job {job_id} has no result on this gateway yet.") from None


@router.post("/{job_id}/consent", response_model=TransactionPublic, summary="Consent to a job's use of a source")
def consent(body: ConsentCreate, member: Provider, ledger: Ledger, job_id: int = JobId) -> TransactionPublic:
    """Consent, as the source's owner, to the job using the source."""
    receipt = ledger.jobs.consent(job_id, body.source_id)
    return TransactionPublic(tx_hash=show(receipt.tx_hash), block_number=receipt.block_number)


def sse_response(events: AsyncIterator[str]) -> StreamingResponse:
    """A server-sent-events response that proxies pass through unbuffered."""
    return StreamingResponse(events, media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})


def progress_response(bus: ProgressBus, job_id: int, last_event: str | None) -> StreamingResponse:
    """The SSE response of one job, or 404 when this gateway runs no such job."""
    if not bus.history(job_id):
        raise NotFound("job.not_running", f"Job {job_id} has no progress on this gateway: it is not running here.")
    return sse_response(job_events(bus, job_id, last_event_id(last_event)))


@router.get("/{job_id}/progress", response_class=StreamingResponse, responses=_SSE, summary="Live progress (SSE)")
def stream_progress(
    member: CurrentMember,
    services: Services,
    job_id: int = JobId,
    last_event: str | None = Header(None, alias="Last-Event-ID", max_length=20, description="Resume after this id"),
) -> StreamingResponse:
    """Stream the job's progress events (past, then live) until it finishes or fails; heartbeats when idle."""
    return progress_response(services.progress, job_id, last_event)
