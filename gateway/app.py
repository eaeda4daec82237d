"""The gateway's app factory: FastAPI app, guards, error handlers, API routers and the explorer.

Requests pass, outermost first: security headers (on every response), the per-IP rate limit,
the body-size limit (before anything is buffered), then the routes (JSON depth-checked).
The interactive API docs are off: the bundled Swagger UI on PyPI (swagger-ui-bundle 1.1.0,
Swagger UI 4.15) cannot render FastAPI's OpenAPI 3.1, and a CDN copy is not pinned; the
schema itself, with its security scheme and signing rules, is at /openapi.json.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from gateway.body_limit import BodyLimitMiddleware
from gateway.clock import Clock, SystemClock
from gateway.errors import install_error_handlers
from gateway.membership import CachedMembership, MembershipLookup
from gateway.nonces import NonceStore
from gateway.openapi_security import SIGNING_RULES, install_security_scheme
from gateway.progress import ProgressBus
from gateway.rate_limit import IpRateLimitMiddleware, Throttle
from gateway.routes import api_router
from gateway.routes.explorer import router as explorer_router
from gateway.routes.explorer_lists import router as explorer_lists_router
from gateway.security_headers import SecurityHeadersMiddleware
from gateway.services import GatewayServices
from gateway.sessions import SessionStore
from gateway.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"


def build_services(
    settings: Settings,
    membership: MembershipLookup,
    clock: Clock | None = None,
    known_members: Callable[[], frozenset[str]] | None = None,
) -> GatewayServices:
    """Open the gateway's state (nonce store) and wire its collaborators."""
    clock = clock or SystemClock()
    return GatewayServices(
        settings=settings,
        clock=clock,
        nonces=NonceStore(settings.nonce_db, settings.freshness_seconds),
        membership=CachedMembership(membership, clock, settings.membership_ttl_seconds, known=known_members),
        progress=ProgressBus(),
        sessions=SessionStore(clock, settings.session_ttl_seconds),
        throttle=Throttle(clock, settings.limits),
    )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """A hosted job runner advances jobs while the app serves (and publishes its endpoint once it does)."""
    runner = app.state.services.runner
    if runner is not None:
        runner.start()
    yield
    if runner is not None:
        await asyncio.to_thread(runner.stop)


def create_app(services: GatewayServices) -> FastAPI:
    """The gateway app over these services."""
    app = FastAPI(
        lifespan=_lifespan,
        title="Custos Gateway",
        version="1",
        summary="A consortium member's signed-request API and audit explorer",
        description=SIGNING_RULES,
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    install_error_handlers(app)
    app.include_router(api_router)
    app.include_router(explorer_router)
    app.include_router(explorer_lists_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_security_scheme(app)
    # add_middleware wraps: the last added runs first.
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=services.settings.max_body_bytes)
    app.add_middleware(IpRateLimitMiddleware, buckets=services.throttle)
    app.add_middleware(SecurityHeadersMiddleware, hsts=services.settings.secure_cookie)
    return app
