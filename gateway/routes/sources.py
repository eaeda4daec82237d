"""Data sources: register, new commitment versions, list, read (history and usage: /audit/sources)."""

from __future__ import annotations

from typing import Annotated

from eth_utils import to_checksum_address
from fastapi import APIRouter, Depends, Path, status

from gateway.bounded_route import BoundedJsonRoute
from gateway.deps import CurrentMember, Ledger, require_operator
from gateway.errors import ERROR_RESPONSES, Forbidden, GatewayError, NotFound
from gateway.membership import Member, Role
from gateway.schemas.fields import hex32, show
from gateway.schemas.sources import (
    BudgetPublic,
    BudgetUpdate,
    SourceCreate,
    SourcePublic,
    SourceRegisteredPublic,
    VersionCreate,
    VersionPublic,
)
from gateway.services import LedgerHandles
from ledger.bindings import PrivacyBudget, Source, SourceBudget, SourceSpec
from ledger.errors import ProtocolValueError
from ledger.units import format_delta, format_epsilon, parse_delta, parse_epsilon

router = APIRouter(prefix="/sources", tags=["sources"], responses=ERROR_RESPONSES, route_class=BoundedJsonRoute)

SourceId = Path(ge=0, lt=2**256, description="On-chain data source id")
Provider = Annotated[Member, Depends(require_operator(Role.PROVIDER))]
_PAGE = 500


def _public(source: Source) -> SourcePublic:
    return SourcePublic(
        source_id=source.source_id,
        owner=to_checksum_address(source.owner),
        active=source.active,
        open_to_all_requesters=source.open_to_all_requesters,
        version=source.version,
        row_count=source.row_count,
        schema_hash=show(source.schema_hash),
        commitment=show(source.commitment),
        price_per_use=source.price_per_use,
        allowed_kinds=source.allowed_kinds,
        auto_consent_kinds=source.auto_consent_kinds,
        metadata_uri=source.metadata_uri,
    )


@router.post(
    "", response_model=SourceRegisteredPublic, status_code=status.HTTP_201_CREATED, summary="Register a data source"
)
def register_source(body: SourceCreate, member: Provider, ledger: Ledger) -> SourceRegisteredPublic:
    """Register a source owned by this gateway's member (commitment version 1)."""
    spec = SourceSpec(
        hex32(body.schema_hash),
        hex32(body.commitment),
        body.row_count,
        body.metadata_uri,
        body.price_per_use,
        body.allowed_kinds,
        body.open_to_all_requesters,
        body.auto_consent_kinds,
    )
    registered = ledger.registry.register_source(spec)
    return SourceRegisteredPublic(source_id=registered.source_id, tx_hash=show(registered.receipt.tx_hash))


@router.get("", response_model=list[SourcePublic], summary="Registered data sources (first 500)")
def list_sources(member: CurrentMember, ledger: Ledger) -> list[SourcePublic]:
    """Every registered source as the registry holds it now, up to 500."""
    return [_public(ledger.registry.source(i)) for i in range(min(ledger.registry.source_count(), _PAGE))]


@router.get("/{source_id}", response_model=SourcePublic, summary="A data source's current terms")
def read_source(member: CurrentMember, ledger: Ledger, source_id: int = SourceId) -> SourcePublic:
    """Owner, current commitment version, price and policy of one source."""
    if source_id >= ledger.registry.source_count():
        raise NotFound("source.not_found", f"No data source {source_id} on this consortium's chain.")
    return _public(ledger.registry.source(source_id))


@router.post(
    "/{source_id}/versions",
    response_model=VersionPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Record a new commitment version",
)
def add_version(body: VersionCreate, member: Provider, ledger: Ledger, source_id: int = SourceId) -> VersionPublic:
    """Commit the source's new rows (salted Merkle root); jobs opened later record this version."""
    recorded = ledger.registry.update_commitment(source_id, hex32(body.commitment), body.row_count)
    return VersionPublic(source_id=recorded.source_id, version=recorded.version, tx_hash=show(recorded.receipt.tx_hash))


def _privacy(ledger: LedgerHandles, source_id: int) -> PrivacyBudget:
    if source_id >= ledger.registry.source_count():
        raise NotFound("source.not_found", f"No data source {source_id} on this consortium's chain.")
    return ledger.privacy


def _budget_public(b: SourceBudget) -> BudgetPublic:
    return BudgetPublic(
        source_id=b.source_id,
        epsilon_total=format_epsilon(b.epsilon_total),
        epsilon_spent=format_epsilon(b.epsilon_spent),
        epsilon_reserved=format_epsilon(b.epsilon_reserved),
        epsilon_remaining=format_epsilon(b.epsilon_remaining),
        delta_total=format_delta(b.delta_total),
        delta_spent=format_delta(b.delta_spent),
        delta_reserved=format_delta(b.delta_reserved),
        delta_remaining=format_delta(b.delta_remaining),
        exact_allowed=b.exact_allowed,
    )


@router.get("/{source_id}/budget", response_model=BudgetPublic, summary="A data source's privacy budget")
def read_budget(member: CurrentMember, ledger: Ledger, source_id: int = SourceId) -> BudgetPublic:
    """Total, spent, reserved and remaining ε and δ of one source, and whether it allows exact releases."""
    return _budget_public(_privacy(ledger, source_id).budget_of(source_id))


@router.put("/{source_id}/budget", response_model=BudgetPublic, summary="Set a data source's privacy budget")
def set_budget(body: BudgetUpdate, member: Provider, ledger: Ledger, source_id: int = SourceId) -> BudgetPublic:
    """The source's owner raises (or lowers, to no less than spent plus reserved) its ε and δ budget."""
    privacy = _privacy(ledger, source_id)
    owner = to_checksum_address(ledger.registry.source(source_id).owner)
    if owner != member.address:
        raise Forbidden("source.not_owner", f"Source {source_id} belongs to {owner}; only its owner sets its budget.")
    try:
        epsilon, delta = parse_epsilon(body.epsilon), parse_delta(body.delta)
    except ProtocolValueError as exc:
        raise GatewayError("budget.invalid", str(exc)) from None
    privacy.set_budget(source_id, epsilon, delta, body.exact_allowed)
    return _budget_public(privacy.budget_of(source_id))
