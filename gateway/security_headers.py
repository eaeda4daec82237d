"""Security headers on every response: what a browser may load, frame, sniff, refer and cache.

The explorer is server-rendered with one same-origin script and one stylesheet, so the
content security policy allows only 'self' (no inline script, no eval, no framing). API
answers and explorer pages carry signed or session-bound data: `Cache-Control: no-store`;
the packaged static assets are the only thing a cache may keep.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_ALWAYS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_STATIC_PREFIXES = ("/static/",)
#: For responses built outside the middleware (the last-resort 500 handler runs outside it).
PLAIN_HEADERS = {k.decode(): v.decode() for k, v in _ALWAYS} | {"cache-control": "no-store"}


class SecurityHeadersMiddleware:
    """Adds the headers to every HTTP response; HSTS too when the gateway serves HTTPS."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.extra = [(b"strict-transport-security", b"max-age=31536000")] if hsts else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope["path"].startswith(_STATIC_PREFIXES)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers += _ALWAYS + self.extra
                headers.append((b"cache-control", b"public, max-age=3600" if cacheable else b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
