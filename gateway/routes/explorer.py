"""The audit explorer: sign-in and sign-out, a job's page, its proofs and its live stream.

Pages are server-rendered for a regulator behind an explorer session; the lists (jobs,
sources, members, payouts, search) are in `explorer_lists`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from gateway.audit import AuditReader
from gateway.bounded_route import BoundedJsonRoute
from gateway.deps import Services
from gateway.errors import NotFound, Unauthenticated
from gateway.membership import Member
from gateway.pages import not_found, page, signed_out, viewer
from gateway.routes.audit import JobId, StepIndex, bundle_response, reader, step_proof
from gateway.routes.jobs import sse_response
from gateway.schemas.audit import JobTrail, StepProof
from gateway.sessions import COOKIE
from gateway.sse import job_events, last_event_id
from gateway.utility_view import kept_bundle, readable_by, utility_view
from ledger.audit.budget import JobSpend
from ledger.errors import ConnectionFailed

router = APIRouter(prefix="/explorer", tags=["explorer"], include_in_schema=False, route_class=BoundedJsonRoute)


def _viewer_or_refuse(request: Request, services: Services) -> Member:
    who = viewer(request, services)
    if who is None:
        raise Unauthenticated("auth.no_session", "Sign in first: run `custos gateway explorer-login` for a link.")
    return who


Viewer = Annotated[Member, Depends(_viewer_or_refuse)]


@router.get("/login")
def login(request: Request, services: Services, code: str = Query("", max_length=100)) -> Response:
    """Exchange a one-time login code (from POST /sessions) for a session cookie."""
    redeemed = services.sessions.redeem(code)
    if redeemed is None:
        return signed_out(request, "This login link is unknown, used or expired.")
    token, session = redeemed
    response = RedirectResponse("/explorer", status_code=303)
    max_age = int(session.expires_at - services.clock.now())
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        path="/explorer",
        secure=services.settings.secure_cookie,
    )
    return response


@router.post("/logout")
def logout(request: Request, services: Services) -> Response:
    """End this browser's session on the server and drop its cookie."""
    services.sessions.revoke(request.cookies.get(COOKIE, ""))
    response = signed_out(request, "You are signed out: this session no longer works, even with its cookie.")
    response.status_code = 200
    response.delete_cookie(COOKIE, path="/explorer", secure=services.settings.secure_cookie, httponly=True)
    return response


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job(request: Request, services: Services, job_id: int = JobId) -> HTMLResponse:
    """A job's page: terms, who got how much and why, and each step with its checks."""
    who = viewer(request, services)
    if who is None:
        return page(request, services, "job.html", None)
    trail = reader(services).job_trail(job_id)
    if trail is None:
        return not_found(request, services, who, f"job #{job_id}", "No job with this id is on this consortium's chain.")
    history = services.progress.history(job_id)
    privacy = privacy_of(reader(services), trail)
    bundle = kept_bundle(services.settings.workspace, job_id) if readable_by(who, trail) else None
    utility = utility_view(bundle, trail) if bundle is not None else None
    return page(
        request,
        services,
        "job.html",
        who,
        trail=trail,
        progress=history[-1] if history else None,
        utility=utility,
        privacy=privacy,
    )


def privacy_of(audit: AuditReader, trail: JobTrail) -> dict[int, JobSpend]:
    """The ε the job reserved, spent or got back on each of its sources (none: not a DP job)."""
    sources = trail.terms.sources if trail.terms is not None else []
    spends = {}
    for source in sources:
        spend = next((j for j in audit.source_budget(source.source_id).jobs if j.job_id == trail.job.job_id), None)
        if spend is not None:
            spends[source.source_id] = spend
    return spends


@router.get("/jobs/{job_id}/bundle")
def bundle(who: Viewer, services: Services, job_id: int = JobId) -> Response:
    """The job's evidence bundle, for the page's download button."""
    return bundle_response(reader(services), job_id)


@router.get("/jobs/{job_id}/steps/{index}/proof", response_model=StepProof)
def proof(who: Viewer, services: Services, job_id: int = JobId, index: int = StepIndex) -> StepProof:
    """One step's proof, for the page's script (and as a link)."""
    return step_proof(reader(services), job_id, index)


@router.get("/jobs/{job_id}/progress")
def progress(
    who: Viewer,
    services: Services,
    job_id: int = JobId,
    last_event: str | None = Header(None, alias="Last-Event-ID", max_length=20),
) -> StreamingResponse:
    """The job's live stream for its page: progress, chain-trail changes, heartbeats (SSE)."""
    audit = services.audit
    if not services.progress.history(job_id) and (audit is None or audit.job_trail(job_id) is None):
        raise NotFound("job.not_found", f"No job {job_id} on this consortium's chain or running here.")

    async def trail() -> dict[str, object] | None:
        try:
            found = await run_in_threadpool(audit.job_trail, job_id) if audit is not None else None
        except (
            ConnectionFailed
        ):  # the node is away: the stream goes on (heartbeats, progress); the page keeps its trail
            return None
        if found is None:
            return None
        return {"status": found.job.status, "steps": len(found.steps), "verified": found.verified}

    return sse_response(job_events(services.progress, job_id, last_event_id(last_event), trail, idle=1.0))
