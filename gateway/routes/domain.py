"""The signing domain: public, since a caller needs it before it can sign anything."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.bounded_route import BoundedJsonRoute
from gateway.deps import Services
from gateway.schemas.domain import DomainPublic

router = APIRouter(prefix="/domain", tags=["auth"], route_class=BoundedJsonRoute)


@router.get("", response_model=DomainPublic, summary="The EIP-712 domain requests are signed in")
def read_domain(services: Services) -> DomainPublic:
    """Chain id, Consortium address and freshness window of this gateway's request signatures."""
    settings = services.settings
    return DomainPublic(
        chain_id=settings.chain_id,
        consortium=settings.consortium,
        gateway=services.domain.gateway,
        freshness_seconds=settings.freshness_seconds,
    )
