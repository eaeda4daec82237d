"""Request dependencies as `Annotated` aliases: the services, and the authenticated member."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from gateway import auth
from gateway.errors import Forbidden, Unauthenticated, Unavailable
from gateway.membership import Member, Role
from gateway.services import GatewayServices, LedgerHandles
from gateway.sessions import COOKIE


def get_services(request: Request) -> GatewayServices:
    """The app's services."""
    return request.app.state.services


Services = Annotated[GatewayServices, Depends(get_services)]


def _target(request: Request) -> str:
    # The raw request target as the client sent it, so both sides sign the same bytes.
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    return (raw + b"?" + query if query else raw).decode("latin-1")


def _member_or_refuse(services: GatewayServices, address: str) -> Member:
    member = services.membership.member(address)
    if member is None:
        raise Forbidden("auth.not_member", f"{address} is not an active member of this consortium.")
    return member


def _verify(
    services: GatewayServices, signed: auth.SignedHeaders, method: str, target: str, body: bytes, now: float
) -> Member:
    auth.check_signature(signed, services.domain, method, target, body)
    services.throttle.check_caller(signed.caller)  # only a verified caller spends its own budget
    member = _member_or_refuse(services, signed.caller)
    if not services.nonces.claim(signed.caller, signed.nonce, signed.timestamp, now):
        raise Unauthenticated("auth.replayed", "This nonce was already used: every request needs a fresh nonce.")
    return member


async def current_member(request: Request, services: Services) -> Member:
    """Authenticate a signed request: headers, freshness, signature, membership, then its nonce."""
    signed = auth.parse_headers(request.headers)
    now = services.clock.now()
    auth.check_fresh(signed, now, services.settings.freshness_seconds)
    body = await request.body()  # bounded by gateway.body_limit before it was buffered
    # Recovery, the chain lookup and the durable nonce write block: keep them off the event loop.
    return await run_in_threadpool(_verify, services, signed, request.method, _target(request), body, now)


CurrentMember = Annotated[Member, Depends(current_member)]


def require_roles(roles: Role) -> Callable[[Member], Member]:
    """A dependency that lets through only members holding every bit of `roles`."""

    def check(member: CurrentMember) -> Member:
        if not member.holds(roles):
            needed = "|".join(str(role.name) for role in Role if role & roles)
            raise Forbidden("auth.wrong_role", f"This needs the {needed} role; {member.address} does not hold it.")
        return member

    return check


def ledger_handles(services: Services) -> LedgerHandles:
    """The operator's contract bindings, or 503 when the gateway runs without a chain."""
    if services.ledger is None:
        raise Unavailable("chain.unavailable", "This gateway runs without a chain.")
    return services.ledger


Ledger = Annotated[LedgerHandles, Depends(ledger_handles)]


def require_operator(roles: Role | None = None) -> Callable[..., Member]:
    """A dependency for writes: the caller holds `roles` and is the member whose key this gateway holds."""

    def check(member: CurrentMember, ledger: Ledger) -> Member:
        if roles is not None:
            require_roles(roles)(member)
        if member.address != ledger.operator:
            raise Forbidden(
                "auth.not_operator",
                f"This gateway acts for {ledger.operator}; {member.address} must use its own organisation's gateway.",
            )
        return member

    return check


def session_member(request: Request, services: Services) -> Member:
    """The member behind the explorer's session cookie."""
    session = services.sessions.lookup(request.cookies.get(COOKIE, ""))
    if session is None:
        raise Unauthenticated("auth.no_session", "Sign in first: run `custos gateway explorer-login` for a link.")
    return _member_or_refuse(services, session.address)


SessionMember = Annotated[Member, Depends(session_member)]
