"""Request-body limits enforced before anything is buffered: a pure ASGI middleware.

A `Content-Length` above the route's limit is refused with 413 before one byte of the body is
read; a body without a length (chunked) is counted as it arrives and refused as soon as it
passes the limit, so a client never makes the gateway hold more than the limit in memory.
The transport route keeps the envelope limit of `compute.transport.endpoint`; every other
route has the settings' `max_body_bytes`.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from compute.transport.endpoint import MAX_ENVELOPE_BYTES
from compute.transport.http import MESSAGES_PATH
from gateway.errors import GatewayError


class PayloadTooLarge(GatewayError):
    """The request body is larger than the route allows."""

    status = 413


def body_limit(path: str, default: int) -> int:
    """The largest body accepted on `path`."""
    return MAX_ENVELOPE_BYTES if path == MESSAGES_PATH else default


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge("request.too_large", f"The request body is larger than this route's limit of {limit} bytes.")


async def _refuse(send: Send, error: PayloadTooLarge) -> None:
    body = json.dumps({"code": error.code, "message": error.message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    # The rest of the body is never read: tell the client the connection ends here.
    await send({"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Refuses over-long bodies by their declared length, or while they stream in."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["path"], self.max_body_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, _too_large(limit))
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # raised inside the app: its error handler answers 413
                    raise _too_large(limit)
            return message

        await self.app(scope, counted, send)
