"""Explorer sessions: a signed request buys a browser a one-time login link, or ends every session."""

from __future__ import annotations

from fastapi import APIRouter, status

from gateway.bounded_route import BoundedJsonRoute
from gateway.deps import CurrentMember, Services
from gateway.errors import ERROR_RESPONSES
from gateway.schemas.sessions import SessionPublic, SessionsRevokedPublic

router = APIRouter(prefix="/sessions", tags=["sessions"], responses=ERROR_RESPONSES, route_class=BoundedJsonRoute)


@router.post("", response_model=SessionPublic, status_code=status.HTTP_201_CREATED, summary="Open an explorer session")
def create_session(member: CurrentMember, services: Services) -> SessionPublic:
    """Issue a one-time login link to the audit explorer for the calling member."""
    code, expires = services.sessions.issue_code(member.address)
    return SessionPublic(login_path=f"/explorer/login?code={code}", expires_at=expires)


@router.delete("", response_model=SessionsRevokedPublic, summary="End every explorer session of the caller")
def revoke_sessions(member: CurrentMember, services: Services) -> SessionsRevokedPublic:
    """Revoke, on the server, every explorer session and unused login link of the calling member."""
    return SessionsRevokedPublic(revoked=services.sessions.revoke_member(member.address))
