"""Explorer sessions: a browser cannot sign each request, so a member signs once for a session.

A signed `POST /sessions` returns a one-time login code; `GET /explorer/login?code=...`
exchanges it for an HttpOnly cookie holding a random session token. The token maps to the
member's address; the member's on-chain membership is checked again on every page, so a
removed member loses the explorer as soon as the membership cache expires. Sessions live in
memory: a restart signs everyone out, which is the safe direction. A session ends early on
logout (`POST /explorer/logout` revokes its token on the server, not just the cookie) or
when its member revokes every session it holds (signed `DELETE /sessions`).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from gateway.clock import Clock

COOKIE = "custos_session"
_CODE_TTL = 120


@dataclass(frozen=True)
class Session:
    """A browser session of one member."""

    address: str
    expires_at: float


class SessionStore:
    """One-time login codes and the session tokens they turn into."""

    def __init__(self, clock: Clock, ttl_seconds: int) -> None:
        self._clock, self._ttl = clock, ttl_seconds
        self._codes: dict[str, Session] = {}
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def issue_code(self, address: str) -> tuple[str, float]:
        """A fresh one-time login code for `address` and when it expires."""
        code = secrets.token_urlsafe(24)
        expires = self._clock.now() + _CODE_TTL
        with self._lock:
            self._drop_expired()
            self._codes[code] = Session(address, expires)
        return code, expires

    def redeem(self, code: str) -> tuple[str, Session] | None:
        """Exchange a login code (once) for a session token; None if unknown or expired."""
        with self._lock:
            pending = self._codes.pop(code, None)
            if pending is None or pending.expires_at < self._clock.now():
                return None
            token = secrets.token_urlsafe(32)
            session = Session(pending.address, self._clock.now() + self._ttl)
            self._sessions[token] = session
            return token, session

    def lookup(self, token: str) -> Session | None:
        """The live session behind a token, or None."""
        with self._lock:
            session = self._sessions.get(token)
        if session is None or session.expires_at < self._clock.now():
            return None
        return session

    def revoke(self, token: str) -> bool:
        """End one session on the server; whether it existed."""
        with self._lock:
            return self._sessions.pop(token, None) is not None

    def revoke_member(self, address: str) -> int:
        """End every session and pending login code of `address`; how many sessions ended."""
        with self._lock:
            tokens = [t for t, s in self._sessions.items() if s.address == address]
            for token in tokens:
                del self._sessions[token]
            for code in [c for c, s in self._codes.items() if s.address == address]:
                del self._codes[code]
        return len(tokens)

    def _drop_expired(self) -> None:
        now = self._clock.now()
        for table in (self._codes, self._sessions):
            for key in [k for k, s in table.items() if s.expires_at < now]:
                del table[key]
