"""The audit explorer: server-rendered pages for a regulator, behind an explorer session."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from gateway.deps import Services
from gateway.membership import Member
from gateway.sessions import COOKIE

templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
router = APIRouter(prefix="/explorer", tags=["explorer"], include_in_schema=False)


def _viewer(request: Request, services: Services) -> Member | None:
    session = services.sessions.lookup(request.cookies.get(COOKIE, ""))
    return services.membership.member(session.address) if session else None


def _signed_out(request: Request, reason: str) -> HTMLResponse:
    return templates.TemplateResponse(request, "signed_out.html", {"reason": reason}, status_code=401)


@router.get("/login")
def login(request: Request, services: Services, code: str = Query("", max_length=100)) -> Response:
    """Exchange a one-time login code (from POST /sessions) for a session cookie."""
    redeemed = services.sessions.redeem(code)
    if redeemed is None:
        return _signed_out(request, "This login link is unknown, used or expired.")
    token, session = redeemed
    response = RedirectResponse("/explorer", status_code=303)
    max_age = int(session.expires_at - services.clock.now())
    response.set_cookie(COOKIE, token, max_age=max_age, httponly=True, samesite="strict", path="/explorer")
    return response


@router.get("", response_class=HTMLResponse)
def index(request: Request, services: Services) -> HTMLResponse:
    """The explorer's front page: who is signed in and what there is to audit."""
    viewer = _viewer(request, services)
    if viewer is None:
        return _signed_out(request, "You are not signed in, or your membership has ended.")
    return templates.TemplateResponse(request, "index.html", {"viewer": viewer})
