"""The API's routers, one per resource, assembled in one place."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.routes import domain, jobs, members, sessions, transport

api_router = APIRouter()
api_router.include_router(domain.router)
api_router.include_router(members.router)
api_router.include_router(jobs.router)
api_router.include_router(sessions.router)
api_router.include_router(transport.router)
