"""Explorer sessions: a signed request buys a browser a one-time login link."""

from __future__ import annotations

from fastapi import APIRouter, status

from gateway.deps import CurrentMember, Services
from gateway.errors import ERROR_RESPONSES
from gateway.schemas.sessions import SessionPublic

router = APIRouter(prefix="/sessions", tags=["sessions"], responses=ERROR_RESPONSES)


@router.post("", response_model=SessionPublic, status_code=status.HTTP_201_CREATED, summary="Open an explorer session")
def create_session(member: CurrentMember, services: Services) -> SessionPublic:
    """Issue a one-time login link to the audit explorer for the calling member."""
    code, expires = services.sessions.issue_code(member.address)
    return SessionPublic(login_path=f"/explorer/login?code={code}", expires_at=expires)
