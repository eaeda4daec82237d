"""The explorer's page rendering: the Jinja2 environment, its filters, and the signed-out and
not-found pages every explorer route shares."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from gateway.membership import Member
from gateway.services import GatewayServices
from gateway.sessions import COOKIE
from ledger.units import TOKEN_SYMBOL, format_amount, format_epsilon

PAGE_SIZE = 20

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
templates.env.filters["tokens"] = lambda units: format_amount(units, symbol=True, grouped=True)
templates.env.filters["epsilon"] = format_epsilon  # micro-ε → exact decimal ε
templates.env.filters["when"] = lambda unix: time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(unix))
templates.env.globals["SYMBOL"] = TOKEN_SYMBOL


def duration(seconds: int) -> str:
    """A window in seconds as a person reads it, exact: '3600 s (1 h)', '1209600 s (14 d)', '0 s'."""
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds} s ({seconds // size} {unit})"
    return f"{seconds} s"


templates.env.filters["duration"] = duration


class Names:
    """Member names for the templates, read through the (cached) membership lookup."""

    def __init__(self, services: GatewayServices) -> None:
        self._membership = services.membership

    def get(self, address: str) -> str | None:
        """The member's name, or None for a non-member."""
        member = self._membership.member(address)
        return member.name if member else None


def viewer(request: Request, services: GatewayServices) -> Member | None:
    """The member signed in on this browser, if any (and still a member)."""
    session = services.sessions.lookup(request.cookies.get(COOKIE, ""))
    return services.membership.member(session.address) if session else None


def signed_out(request: Request, reason: str) -> HTMLResponse:
    """The sign-in page, 401."""
    return templates.TemplateResponse(request, "signed_out.html", {"reason": reason}, status_code=401)


def page(
    request: Request, services: GatewayServices, template: str, who: Member | None, **context: Any
) -> HTMLResponse:
    """Render `template` for a signed-in member, or the sign-in page."""
    if who is None:
        return signed_out(request, "You are not signed in, or your membership has ended.")
    return templates.TemplateResponse(request, template, {"viewer": who, "names": Names(services), **context})


def not_found(request: Request, services: GatewayServices, who: Member, what: str, hint: str) -> HTMLResponse:
    """The HTML page for an unknown job, source, member or search, 404."""
    response = page(request, services, "not_found.html", who, what=what, hint=hint)
    response.status_code = 404
    return response


def pages(total: int, number: int) -> dict[str, int]:
    """Pagination for `total` items at page `number` (from 1)."""
    last = max(1, -(-total // PAGE_SIZE))
    number = min(max(1, number), last)
    return {"number": number, "last": last, "total": total, "start": (number - 1) * PAGE_SIZE}
