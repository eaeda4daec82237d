"""Every API route parses its JSON body through `ledger.bounded_json`: deep nesting is refused first.

Importing py_ecc raises Python's recursion limit, so the standard parser would recurse on a
body of `[[[[…` until the process dies. `BoundedJsonRoute` reads the body once (within the
size limit the body-limit middleware enforces), measures its nesting with a linear scan and
answers 400 `request.too_deep` before any parser runs; the request the route sees parses
JSON with the same bound.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from gateway.errors import GatewayError
from ledger.bounded_json import DEFAULT_MAX_DEPTH, loads, nesting_depth


class BodyTooDeep(GatewayError):
    """The JSON body nests deeper than the gateway allows."""

    status = 400


def _max_depth(request: Request) -> int:
    services = getattr(request.app.state, "services", None)
    return services.settings.max_json_depth if services is not None else DEFAULT_MAX_DEPTH


class BoundedJsonRequest(Request):
    """A request whose `json()` refuses documents nested past the gateway's bound."""

    async def json(self) -> Any:
        """The body parsed with the nesting bound."""
        if not hasattr(self, "_json"):
            self._json = loads(await self.body(), max_depth=_max_depth(self))
        return self._json


class BoundedJsonRoute(APIRoute):
    """An API route whose body is depth-checked before parsing."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, behind the nesting check."""
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            request = BoundedJsonRequest(request.scope, request.receive)
            body = await request.body()
            limit = _max_depth(request)
            # FastAPI parses a body as JSON unless it is declared otherwise (the transport's envelopes).
            binary = request.headers.get("content-type", "").startswith("application/octet-stream")
            if body and not binary and nesting_depth(body, stop_after=limit) > limit:
                raise BodyTooDeep("request.too_deep", f"The JSON body nests deeper than {limit} levels.")
            return await handler(request)

        return bounded
