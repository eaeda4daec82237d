"""The API's routers, one per resource, assembled in one place."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.routes import audit, chain, domain, jobs, members, payouts, proposals, sessions, sources, transport

api_router = APIRouter()
for _module in (domain, members, proposals, sources, jobs, audit, payouts, chain, sessions, transport):
    api_router.include_router(_module.router)
