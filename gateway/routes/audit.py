"""Audit trails: jobs, data sources and members, each step verified; readable by every member."""

from __future__ import annotations

from eth_utils import to_checksum_address
from fastapi import APIRouter, Path, Query, Response

from gateway.audit import AuditReader
from gateway.bounded_route import BoundedJsonRoute
from gateway.deps import CurrentMember, Services
from gateway.errors import ERROR_RESPONSES, Conflict, NotFound, Unavailable
from gateway.ledger_views import BundleRefused
from gateway.schemas.audit import JobSummary, JobTrail, PayoutSummary, SourceSummary, StepProof, TimelineStep
from ledger.audit.trails import STATUSES, TrailFilter
from ledger.protocol import JobKind

router = APIRouter(prefix="/audit", tags=["audit"], responses=ERROR_RESPONSES, route_class=BoundedJsonRoute)

JobId = Path(ge=0, lt=2**256, description="On-chain job id")
SourceId = Path(ge=0, lt=2**256, description="On-chain data source id")
StepIndex = Path(ge=0, lt=10_000, description="Position of the step in the job's timeline")
Address = Path(pattern=r"^0x[0-9a-fA-F]{40}$", description="A member's address")


def reader(services: Services) -> AuditReader:
    """The audit reader, or 503 when this gateway runs without one."""
    if services.audit is None:
        raise Unavailable("audit.unavailable", "This gateway has no audit index configured.")
    return services.audit


def job_trail(audit: AuditReader, job_id: int) -> JobTrail:
    """A job's trail or 404 `job.not_found`."""
    trail = audit.job_trail(job_id)
    if trail is None:
        raise NotFound("job.not_found", f"No job {job_id} on this consortium's chain.")
    return trail


def step_proof(audit: AuditReader, job_id: int, index: int) -> StepProof:
    """One step's proof or 404."""
    job_trail(audit, job_id)
    proof = audit.step_proof(job_id, index)
    if proof is None:
        raise NotFound("step.not_found", f"Job {job_id} has no step {index}.")
    return proof


Status = Query(None, description="Only jobs in this status", pattern=f"^({'|'.join(STATUSES)})$")
Kind = Query(None, description="Only jobs of this kind", pattern=f"^({'|'.join(kind.name for kind in JobKind)})$")
Since = Query(None, ge=0, lt=2**63, description="Only jobs opened at or after this Unix time")
Until = Query(None, ge=0, lt=2**63, description="Only jobs opened before this Unix time")
Offset = Query(0, ge=0, lt=2**31, description="Skip this many results")
Limit = Query(50, ge=1, le=200, description="At most this many results")


@router.get("/jobs", response_model=list[JobSummary], summary="Jobs with status and participants, filtered, paged")
def list_jobs(
    member: CurrentMember,
    services: Services,
    status: str | None = Status,
    kind: str | None = Kind,
    since: int | None = Since,
    until: int | None = Until,
    offset: int = Offset,
    limit: int = Limit,
    verify: bool = Query(False, description="Verify each job of the page and set `verified`"),
) -> list[JobSummary]:
    """Jobs matching the filters, newest first, one page of them."""
    audit = reader(services)
    where = TrailFilter(status=status, since=since, until=until)
    page = audit.job_page(where, offset, limit, JobKind[kind] if kind else None)[1]
    return audit.verify_jobs(page) if verify else page


@router.get("/jobs/{job_id}", response_model=JobTrail, summary="A job's verified timeline")
def read_job_trail(member: CurrentMember, services: Services, job_id: int = JobId) -> Response:
    """Each step of the job: who, when, which block, whether it verified; terms, settlement, contributions."""
    body = reader(services).job_trail_json(job_id)
    if body is None:
        raise NotFound("job.not_found", f"No job {job_id} on this consortium's chain.")
    return Response(body, media_type="application/json")  # serialised once per verification


def bundle_response(audit: AuditReader, job_id: int) -> Response:
    """The job's evidence bundle as a JSON download, 404 for no job, 409 when none can be written."""
    try:
        body = audit.job_bundle(job_id)
    except BundleRefused as exc:
        raise Conflict("bundle.unavailable", f"No evidence bundle: {exc}.") from None
    if body is None:
        raise NotFound("job.not_found", f"No job {job_id} on this consortium's chain.")
    disposition = f'attachment; filename="custos-job-{job_id}-evidence.json"'
    return Response(body, media_type="application/json", headers={"Content-Disposition": disposition})


@router.get(
    "/jobs/{job_id}/bundle",
    summary="The job's evidence bundle (checked offline by `custos audit verify-bundle`)",
    responses={200: {"content": {"application/json": {}}, "description": "docs/evidence-bundle.md, version 1"}},
)
def read_job_bundle(member: CurrentMember, services: Services, job_id: int = JobId) -> Response:
    """Every header, seal, receipt and event an auditor needs to re-check the job with no node."""
    return bundle_response(reader(services), job_id)


@router.get("/jobs/{job_id}/steps/{index}/proof", response_model=StepProof, summary="The proof behind one step")
def read_step_proof(
    member: CurrentMember, services: Services, job_id: int = JobId, index: int = StepIndex
) -> StepProof:
    """Receipt, block, signatures or Merkle proofs that the step's mark rests on."""
    return step_proof(reader(services), job_id, index)


@router.get("/sources/{source_id}", response_model=list[TimelineStep], summary="A data source's verified timeline")
def read_source_trail(member: CurrentMember, services: Services, source_id: int = SourceId) -> list[TimelineStep]:
    """Registration, commitment updates and every use of the source, verified."""
    steps = reader(services).source_trail(source_id)
    if steps is None:
        raise NotFound("source.not_found", f"No data source {source_id} on this consortium's chain.")
    return steps


@router.get("/members/{address}", response_model=list[TimelineStep], summary="A member's verified trail")
def read_member_trail(member: CurrentMember, services: Services, address: str = Address) -> list[TimelineStep]:
    """Every step the member took or was named in, verified."""
    return reader(services).member_trail(to_checksum_address(address))


@router.get("/sources", response_model=list[SourceSummary], summary="Data sources with commitment history and use")
def list_sources(
    member: CurrentMember, services: Services, offset: int = Offset, limit: int = Limit
) -> list[SourceSummary]:
    """Data sources in id order, their commitment versions and the jobs that used them, one page."""
    return reader(services).source_page(offset, limit)[1]


@router.get("/payouts", response_model=list[PayoutSummary], summary="Credits and withdrawals per member")
def list_payouts(member: CurrentMember, services: Services) -> list[PayoutSummary]:
    """What each member was credited and withdrew."""
    return reader(services).payouts()
