"""The audit explorer: server-rendered pages for a regulator, behind an explorer session."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates

from gateway.deps import Services
from gateway.errors import Unauthenticated
from gateway.membership import Member
from gateway.routes.audit import JobId, StepIndex, job_trail, reader, step_proof
from gateway.routes.jobs import progress_response
from gateway.schemas.audit import StepProof
from gateway.services import GatewayServices
from gateway.sessions import COOKIE
from ledger.protocol import format_amount

templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
templates.env.filters["tokens"] = lambda units: format_amount(units, grouped=True)  # exact, never a float
templates.env.filters["when"] = lambda unix: time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(unix))
router = APIRouter(prefix="/explorer", tags=["explorer"], include_in_schema=False)


def _viewer(request: Request, services: Services) -> Member | None:
    session = services.sessions.lookup(request.cookies.get(COOKIE, ""))
    return services.membership.member(session.address) if session else None


def _viewer_or_refuse(request: Request, services: Services) -> Member:
    viewer = _viewer(request, services)
    if viewer is None:
        raise Unauthenticated("auth.no_session", "Sign in first: run `custos gateway explorer-login` for a link.")
    return viewer


Viewer = Annotated[Member, Depends(_viewer_or_refuse)]


class _Names:
    """Member names for the templates, read through the (cached) membership lookup."""

    def __init__(self, services: GatewayServices) -> None:
        self._membership = services.membership

    def get(self, address: str) -> str | None:
        member = self._membership.member(address)
        return member.name if member else None


def _party(address: str, names: _Names) -> str:
    name = names.get(address)
    return f"{name} ({address[:10]}…)" if name else address


templates.env.filters["party"] = _party


def _page(
    request: Request, services: Services, template: str, viewer: Member | None, **context: object
) -> HTMLResponse:
    if viewer is None:
        reason = "You are not signed in, or your membership has ended."
        return templates.TemplateResponse(request, "signed_out.html", {"reason": reason}, status_code=401)
    return templates.TemplateResponse(request, template, {"viewer": viewer, "names": _Names(services), **context})


@router.get("/login")
def login(request: Request, services: Services, code: str = Query("", max_length=100)) -> Response:
    """Exchange a one-time login code (from POST /sessions) for a session cookie."""
    redeemed = services.sessions.redeem(code)
    if redeemed is None:
        reason = "This login link is unknown, used or expired."
        return templates.TemplateResponse(request, "signed_out.html", {"reason": reason}, status_code=401)
    token, session = redeemed
    response = RedirectResponse("/explorer", status_code=303)
    max_age = int(session.expires_at - services.clock.now())
    response.set_cookie(COOKIE, token, max_age=max_age, httponly=True, samesite="strict", path="/explorer")
    return response


@router.get("", response_class=HTMLResponse)
def index(request: Request, services: Services) -> HTMLResponse:
    """Every job with its status and participants."""
    viewer = _viewer(request, services)
    jobs = services.audit.jobs() if viewer and services.audit else []
    return _page(request, services, "index.html", viewer, jobs=jobs, indexed=services.audit is not None)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job(request: Request, services: Services, job_id: int = JobId) -> HTMLResponse:
    """A job's timeline: each step, who, when, block, verified or not, proof on demand."""
    viewer = _viewer(request, services)
    if viewer is None:
        return _page(request, services, "job.html", None)
    trail = job_trail(reader(services), job_id)
    history = services.progress.history(job_id)
    running = bool(history) and not history[-1].terminal
    return _page(request, services, "job.html", viewer, trail=trail, running=running)


@router.get("/jobs/{job_id}/steps/{index}/proof", response_model=StepProof)
def proof(viewer: Viewer, services: Services, job_id: int = JobId, index: int = StepIndex) -> StepProof:
    """One step's proof, for the page's script."""
    return step_proof(reader(services), job_id, index)


@router.get("/jobs/{job_id}/progress")
def progress(viewer: Viewer, services: Services, job_id: int = JobId) -> StreamingResponse:
    """A running job's progress as server-sent events, for the page's script."""
    return progress_response(services.progress, job_id)


@router.get("/sources", response_class=HTMLResponse)
def sources(request: Request, services: Services) -> HTMLResponse:
    """Data sources with their commitment history and who used them."""
    viewer = _viewer(request, services)
    return _page(request, services, "sources.html", viewer, sources=reader(services).sources() if viewer else [])


@router.get("/payouts", response_class=HTMLResponse)
def payouts(request: Request, services: Services) -> HTMLResponse:
    """Credits and withdrawals per member, as a chart and a table."""
    viewer = _viewer(request, services)
    return _page(request, services, "payouts.html", viewer, payouts=reader(services).payouts() if viewer else [])
