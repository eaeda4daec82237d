"""Chain status."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.bounded_route import BoundedJsonRoute
from gateway.deps import CurrentMember, Ledger, Services
from gateway.errors import ERROR_RESPONSES
from gateway.schemas.chain import ChainStatus
from gateway.schemas.fields import show

router = APIRouter(prefix="/chain", tags=["chain"], responses=ERROR_RESPONSES, route_class=BoundedJsonRoute)


@router.get("", response_model=ChainStatus, summary="Chain, contracts and audit index position")
def read_status(member: CurrentMember, services: Services, ledger: Ledger) -> ChainStatus:
    """Which chain this gateway serves, for whom, and the last block its audit index read."""
    position = ledger.indexed()
    return ChainStatus(
        chain_id=services.settings.chain_id,
        consortium=services.settings.consortium,
        operator=ledger.operator,
        indexed_block=position.tip_number,
        indexed_hash=show(position.tip_hash) if position.tip_hash else None,
        job_count=ledger.jobs.job_count(),
    )
