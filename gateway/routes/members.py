"""Members of the consortium."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.deps import CurrentMember
from gateway.errors import ERROR_RESPONSES
from gateway.schemas.members import MemberPublic

router = APIRouter(prefix="/members", tags=["members"], responses=ERROR_RESPONSES)


@router.get("/me", response_model=MemberPublic, summary="The calling member and its roles")
def read_me(member: CurrentMember) -> MemberPublic:
    """The authenticated caller as the Consortium contract knows it."""
    return MemberPublic.of(member)
