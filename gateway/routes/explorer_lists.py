"""The explorer's lists and lookups: jobs (filtered, paged, verified), data sources, a source,
a member, payouts, and search by job id, source id, address or transaction hash."""

from __future__ import annotations

import calendar
import contextlib
import re
import time
from collections.abc import Callable
from typing import TypeVar

from eth_utils import to_checksum_address
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.bounded_route import BoundedJsonRoute
from gateway.deps import Services
from gateway.membership import Role
from gateway.pages import PAGE_SIZE, not_found, page, pages, viewer
from gateway.routes.audit import SourceId, reader
from gateway.schemas.audit import JobSummary
from ledger.audit.trails import STATUSES, TrailFilter
from ledger.protocol import JobKind

router = APIRouter(prefix="/explorer", tags=["explorer"], include_in_schema=False, route_class=BoundedJsonRoute)

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_TX = re.compile(r"^0x[0-9a-fA-F]{64}$")
_NUMBER = re.compile(r"^(?:(job|source)\s*)?#?\s*(\d{1,20})$", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
T = TypeVar("T")


def _day(text: str, name: str) -> int | None:
    """Unix seconds of a YYYY-MM-DD day (UTC), None for none (the form's empty field); 422 for anything else,
    a day no calendar has (2024-13-45) included."""
    if not text:
        return None
    if _DATE.match(text):
        with contextlib.suppress(ValueError):  # strptime refuses month 13, day 45, Feb 30
            return calendar.timegm(time.strptime(text, "%Y-%m-%d"))
    problem = {"loc": ("query", name), "msg": f"{text!r} is not a calendar date (YYYY-MM-DD)", "type": "value_error"}
    raise RequestValidationError([problem])


def _paged(fetch: Callable[[int, int], tuple[int, list[T]]], number: int) -> tuple[dict[str, int], list[T]]:
    """Page `number` of a list the index pages (`fetch(offset, limit)` → (total, items)), and its
    pagination; a page past the end shows the last one."""
    total, shown = fetch((number - 1) * PAGE_SIZE, PAGE_SIZE)
    paging = pages(total, number)
    if paging["start"] != (number - 1) * PAGE_SIZE:
        shown = fetch(paging["start"], PAGE_SIZE)[1]
    return paging, shown


@router.get("", response_class=HTMLResponse)
def index(
    request: Request,
    services: Services,
    status: str = Query("", max_length=20),
    kind: str = Query("", max_length=30),
    since: str = Query("", max_length=10, description="YYYY-MM-DD (UTC)"),
    until: str = Query("", max_length=10, description="YYYY-MM-DD (UTC), exclusive"),
    number: int = Query(1, alias="page", ge=1, le=10**6),
) -> HTMLResponse:
    """Jobs, newest first, filtered by status, kind and dates, a page at a time, each verified."""
    who = viewer(request, services)
    if who is None or services.audit is None:
        return page(request, services, "index.html", who, jobs=[], indexed=services.audit is not None)
    audit = services.audit
    known = kind.upper() in JobKind.__members__
    where = TrailFilter(
        status=status if status in STATUSES else None, since=_day(since, "since"), until=_day(until, "until")
    )
    number_of_kind = JobKind[kind.upper()] if known else None
    shown: list[JobSummary] = []
    if kind and not known:  # a kind this consortium does not have: nothing matches
        paging = pages(0, 1)
    else:
        paging, shown = _paged(lambda offset, limit: audit.job_page(where, offset, limit, number_of_kind), number)
    shown = audit.verify_jobs(shown)
    filters = {"status": status, "kind": kind, "since": since, "until": until}
    return page(
        request,
        services,
        "index.html",
        who,
        jobs=shown,
        indexed=True,
        paging=paging,
        filters=filters,
        statuses=STATUSES,
        kinds=[kind.name for kind in JobKind],
    )


@router.get("/sources", response_class=HTMLResponse)
def sources(request: Request, services: Services, number: int = Query(1, alias="page", ge=1, le=10**6)) -> HTMLResponse:
    """Data sources, a page at a time: owner, price, latest commitment, uses."""
    who = viewer(request, services)
    if who is None:
        return page(request, services, "sources.html", None)
    audit = reader(services)
    paging, shown = _paged(audit.source_page, number)
    return page(request, services, "sources.html", who, sources=shown, paging=paging, filters={})


@router.get("/sources/{source_id}", response_class=HTMLResponse)
def source(request: Request, services: Services, source_id: int = SourceId) -> HTMLResponse:
    """One data source: commitment versions, every job that used it, consent and payments, its trail."""
    who = viewer(request, services)
    if who is None:
        return page(request, services, "source.html", None)
    audit = reader(services)
    summary = audit.source(source_id)
    if summary is None:
        return not_found(request, services, who, f"data source #{source_id}", "No source with this id is registered.")
    steps = audit.source_trail(source_id) or []
    budget = audit.source_budget(source_id)
    return page(request, services, "source.html", who, source=summary, steps=steps, budget=budget)


@router.get("/members/{address}", response_class=HTMLResponse)
def member(request: Request, services: Services, address: str) -> HTMLResponse:
    """One member: roles, jobs, credits, withdrawals, sources, and every step it took."""
    who = viewer(request, services)
    if who is None:
        return page(request, services, "member.html", None)
    if not _ADDRESS.match(address):
        return not_found(request, services, who, f"member {address[:60]}", "An address is 0x and 40 hex digits.")
    checksum = to_checksum_address(address)
    audit = reader(services)
    steps = audit.member_trail(checksum)
    record = services.membership.member(checksum)
    if not steps and record is None:
        return not_found(request, services, who, f"member {checksum}", "This address never appears on the chain.")
    payout = audit.payout_of(checksum)
    owned = audit.sources_of(checksum)
    jobs = sorted({s.job_id for s in steps if s.job_id is not None}, reverse=True)
    return page(
        request,
        services,
        "member.html",
        who,
        address=checksum,
        record=record,
        steps=steps,
        payout=payout,
        owned=owned,
        jobs=jobs,
        roles=[role.name for role in Role if record is not None and role in record.roles],
    )


@router.get("/payouts", response_class=HTMLResponse)
def payouts(request: Request, services: Services) -> HTMLResponse:
    """Credits and withdrawals per member, as a chart and a table."""
    who = viewer(request, services)
    return page(request, services, "payouts.html", who, payouts=reader(services).payouts() if who else [])


@router.get("/search", response_class=HTMLResponse, response_model=None)
def search(request: Request, services: Services, q: str = Query("", max_length=100)) -> Response:
    """Find a job or source by id, a member by address, or the job of a transaction hash."""
    who = viewer(request, services)
    if who is None:
        return page(request, services, "search.html", None)
    text = q.strip()
    audit = reader(services)
    if _ADDRESS.match(text):
        return RedirectResponse(f"/explorer/members/{to_checksum_address(text)}", status_code=303)
    if _TX.match(text):
        job_id, source_id = audit.job_of_tx(bytes.fromhex(text[2:]))
        if job_id is not None:
            return RedirectResponse(f"/explorer/jobs/{job_id}#tx-{text.lower()}", status_code=303)
        if source_id is not None:
            return RedirectResponse(f"/explorer/sources/{source_id}", status_code=303)
        return not_found(request, services, who, f"transaction {text}", "No indexed event came from it.")
    found = _NUMBER.match(text)
    if found is None:
        return page(request, services, "search.html", who, q=text, hits=[], hint=bool(text))
    what, number = (found.group(1) or "").lower(), int(found.group(2))
    hits = []
    if what in ("", "job") and audit.job_trail(number) is not None:
        hits.append(("job", number, f"/explorer/jobs/{number}"))
    if what in ("", "source") and audit.source(number) is not None:
        hits.append(("data source", number, f"/explorer/sources/{number}"))
    if len(hits) == 1:
        return RedirectResponse(hits[0][2], status_code=303)
    if not hits:
        return not_found(request, services, who, f"“{text}”", "No job or data source has this id.")
    return page(request, services, "search.html", who, q=text, hits=hits, hint=False)
