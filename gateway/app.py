"""The gateway's app factory: FastAPI app, error handlers, API routers and the explorer."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from gateway.clock import Clock, SystemClock
from gateway.errors import install_error_handlers
from gateway.membership import CachedMembership, MembershipLookup
from gateway.nonces import NonceStore
from gateway.progress import ProgressBus
from gateway.routes import api_router
from gateway.routes.explorer import router as explorer_router
from gateway.services import GatewayServices
from gateway.sessions import SessionStore
from gateway.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"


def build_services(settings: Settings, membership: MembershipLookup, clock: Clock | None = None) -> GatewayServices:
    """Open the gateway's state (nonce store) and wire its collaborators."""
    clock = clock or SystemClock()
    return GatewayServices(
        settings=settings,
        clock=clock,
        nonces=NonceStore(settings.nonce_db, settings.freshness_seconds),
        membership=CachedMembership(membership, clock, settings.membership_ttl_seconds),
        progress=ProgressBus(),
        sessions=SessionStore(clock, settings.session_ttl_seconds),
    )


def create_app(services: GatewayServices) -> FastAPI:
    """The gateway app over these services."""
    app = FastAPI(
        title="Custos Gateway",
        version="1",
        summary="A consortium member's signed-request API and audit explorer",
        description=(
            "Every API request is signed (EIP-712, domain 'Custos Gateway' v1 bound to the Consortium "
            "contract) over method, raw path, body hash, caller, gateway (its member, from GET /domain), "
            "timestamp and nonce, in the headers "
            "X-Custos-Caller, X-Custos-Timestamp, X-Custos-Nonce and X-Custos-Signature. "
            "`gateway.client.GatewayClient` does this for you. Errors are JSON `{code, message}`."
        ),
    )
    app.state.services = services
    install_error_handlers(app)
    app.include_router(api_router)
    app.include_router(explorer_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
