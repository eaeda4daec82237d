"""Jobs: open, consent, current state, result bundle, and live progress as server-sent events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, status
from fastapi.responses import StreamingResponse

from compute.errors import InvalidInput, PartyUnreachable
from compute.jobs.service import OpenRequest, PrivacyRefused, ResultStore
from compute.jobs.service import consent as consent_checked
from compute.jobs.service import open_job as open_through_service
from compute.jobs.snapshot import DataMismatch
from compute.jobs.workspace import Workspace
from gateway.bounded_route import BoundedJsonRoute
from gateway.deps import CurrentMember, Ledger, Services, require_operator
from gateway.errors import ERROR_RESPONSES, Conflict, Forbidden, GatewayError, NotFound, Unavailable
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
from gateway.utility_view import readable_by
from ledger.protocol import JobKind

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=ERROR_RESPONSES, route_class=BoundedJsonRoute)

JobId = Path(ge=0, lt=2**256, description="On-chain job id")
_SSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "A stream of ProgressPublic events"}
}
Requester = Annotated[Member, Depends(require_operator(Role.REQUESTER))]
Provider = Annotated[Member, Depends(require_operator(Role.PROVIDER))]


@router.post("", response_model=JobOpenedPublic, status_code=status.HTTP_201_CREATED, summary="Open a job")
def open_job(body: JobCreate, member: Requester, ledger: Ledger, services: Services) -> JobOpenedPublic:
    """Keep the parameter document, escrow the budget (approve exactly it to Settlement), open as this member."""
    request = OpenRequest(
        JobKind(body.kind),
        tuple(body.source_ids),
        tuple(body.compute_parties),
        body.budget,
        body.deadline,
        document=body.params,
        params_hash=None if body.params_hash is None else hex32(body.params_hash),
    )
    folder = services.settings.workspace
    try:
        store = None if body.params is None or folder is None else Workspace.load(folder)
        opened = open_through_service(ledger, request, store)
    except InvalidInput as exc:
        raise GatewayError("job.invalid", f"Not opened: {exc}.") from None
    return JobOpenedPublic(
        job_id=opened.job_id,
        inputs_hash=show(opened.job.inputs_hash),
        auto_consented=list(opened.job.auto_consented),
        tx_hash=show(opened.job.receipt.tx_hash),
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
    if not readable_by(member, trail):
        raise Forbidden(
            "auth.not_participant", f"Only the participants of job {job_id} and auditors may read its result."
        )
    bundle = ResultStore(services.settings.workspace).load(job_id)
    if bundle is None:
        raise NotFound("result.not_found", f"Job {job_id} has no result on this gateway yet.")
    return ResultBundlePublic.model_validate(bundle)


@router.post("/{job_id}/consent", response_model=TransactionPublic, summary="Consent to a job's use of a source")
def consent(
    body: ConsentCreate, member: Provider, ledger: Ledger, services: Services, job_id: int = JobId
) -> TransactionPublic:
    """Consent, as the source's owner, after checking the runner workspace's copy of the data against the commitment."""
    folder = services.settings.workspace
    if folder is None:
        raise Conflict("consent.data_unchecked", "This gateway has no workspace: it cannot check the data first.")
    try:
        given = consent_checked(ledger, Workspace.load(folder), ledger.operator, job_id, {body.source_id})[0]
    except DataMismatch as exc:
        raise Conflict("consent.data_mismatch", f"Not consented: {exc}.") from None
    except PrivacyRefused as exc:  # the reservation on chain is below the accountant's ε
        raise Conflict("consent.privacy_refused", f"Not consented: {exc}.") from None
    except PartyUnreachable as exc:  # a DP job's parameters: the requester does not serve them now
        raise Conflict("consent.params_unreachable", f"Not consented: {exc}.") from None
    except InvalidInput as exc:
        raise Conflict("consent.data_unchecked", f"Not consented: {exc}.") from None
    if given.receipt is None:
        raise Conflict("consent.already_given", f"Source {body.source_id} has already consented to job {job_id}.")
    return TransactionPublic(tx_hash=show(given.receipt.tx_hash), block_number=given.receipt.block_number)


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
