"""Members of the consortium."""

from __future__ import annotations

from eth_utils import to_checksum_address
from fastapi import APIRouter, Path

from gateway.bounded_route import BoundedJsonRoute
from gateway.deps import CurrentMember, Ledger
from gateway.errors import ERROR_RESPONSES, NotFound
from gateway.schemas.fields import show
from gateway.schemas.members import MemberPublic, MemberRecord

router = APIRouter(prefix="/members", tags=["members"], responses=ERROR_RESPONSES, route_class=BoundedJsonRoute)
MemberAddress = Path(pattern=r"^0x[0-9a-fA-F]{40}$", description="A member's address")


@router.get("/me", response_model=MemberPublic, summary="The calling member and its roles")
def read_me(member: CurrentMember) -> MemberPublic:
    """The authenticated caller as the Consortium contract knows it."""
    return MemberPublic.of(member)


def _record(ledger: Ledger, address: str) -> MemberRecord:
    m = ledger.consortium.member(address)
    if m.roles == 0:
        raise NotFound("member.not_found", f"{address} is not a member of this consortium.")
    return MemberRecord(
        address=address, name=m.name, role_bits=m.roles, transport_key=show(m.transport_key), endpoint=m.endpoint
    )


@router.get("", response_model=list[MemberRecord], summary="Every active member")
def list_members(member: CurrentMember, ledger: Ledger) -> list[MemberRecord]:
    """Every active member with its roles and published endpoint."""
    return [_record(ledger, to_checksum_address(address)) for address in ledger.consortium.members()]


@router.get("/{address}", response_model=MemberRecord, summary="One member")
def read_member(member: CurrentMember, ledger: Ledger, address: str = MemberAddress) -> MemberRecord:
    """A member's roles, name, transport key and endpoint."""
    return _record(ledger, to_checksum_address(address))
