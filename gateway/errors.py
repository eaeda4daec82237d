"""The gateway's one error tree and the handlers that turn every failure into a JSON body.

    GatewayError                (code, message, status)
    ├── Unauthenticated   401   auth.missing · auth.malformed · auth.stale · auth.bad_signature · auth.replayed
    │                           auth.no_session (explorer)
    ├── Forbidden         403   auth.not_member · auth.wrong_role · auth.not_operator · auth.not_participant
    ├── (HTTP 400)              request.malformed (a body that does not parse) · request.too_deep (JSON nesting)
    ├── NotFound          404   <resource>.not_found · route.not_found
    ├── Conflict          409   contract.<CustomError> (the chain refused: state or arguments) · transaction.rejected
    ├── PayloadTooLarge   413   request.too_large (gateway.body_limit; refused before the body is read)
    ├── RateLimited       429   rate.limited, with Retry-After (gateway.rate_limit)
    ├── Unavailable       503   chain.unavailable · audit.unavailable
    └── Timeout           504   transaction.timeout

Every response body is `{"code": "...", "message": "..."}`: the code is stable (clients branch
on it), the message is for a person. Validation failures are 422 `request.invalid`; an
unexpected exception is 500 `internal` with no trace in the body (it is logged server-side).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.security_headers import PLAIN_HEADERS

log = logging.getLogger("custos.gateway")


class ErrorBody(BaseModel):
    """The JSON body of every error response."""

    code: str
    message: str


class GatewayError(Exception):
    """A failure the caller should see, with a stable code and an actionable message."""

    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Unauthenticated(GatewayError):
    """The request's signature headers are missing, malformed, stale, wrong or replayed."""

    status = 401


class Forbidden(GatewayError):
    """The caller is authenticated but not allowed to do this."""

    status = 403


class NotFound(GatewayError):
    """The named resource does not exist."""

    status = 404


class Conflict(GatewayError):
    """The resource exists but its state forbids the request."""

    status = 409


class Unavailable(GatewayError):
    """A service the gateway depends on (the chain node) does not answer."""

    status = 503


class Timeout(GatewayError):
    """A transaction was sent but not mined in time."""

    status = 504


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(ErrorBody(code=code, message=message).model_dump(), status_code=status, headers=headers)


async def _gateway_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatewayError)
    headers = {"WWW-Authenticate": 'Custos-EIP712 realm="custos"'} if exc.status == 401 else None
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers = {"Retry-After": str(retry_after)}
    return _error(exc.status, exc.code, exc.message, headers)


def _describe(error: dict) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "request"
    return f"{where}: {error.get('msg', 'invalid value')}"


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(_describe(error) for error in exc.errors()[:5])
    return _error(422, "request.invalid", f"The request is invalid: {problems}.")


_HTTP_CODES = {400: "request.malformed", 404: "route.not_found", 405: "method.not_allowed"}


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http.{exc.status_code}")
    message = {
        400: "The request body could not be parsed: send JSON as the route's schema (/docs) says.",
        404: "No such route; see /docs for the API.",
        405: "This route does not accept that method.",
    }.get(exc.status_code, str(exc.detail))
    return _error(exc.status_code, code, message, getattr(exc, "headers", None))


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    message = "The gateway failed unexpectedly; the operator can find the details in its log."
    return _error(500, "internal", message, dict(PLAIN_HEADERS))


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception the app can raise to a JSON error body."""
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def _response(description: str) -> dict:
    return {"model": ErrorBody, "description": description}


# Declared on every router so the OpenAPI schema (and schemathesis) knows each error's shape.
ERROR_RESPONSES: dict[int | str, dict] = {
    400: _response("The request body is not parseable (not JSON)"),
    401: _response("Missing, malformed, stale, badly signed or replayed request"),
    403: _response("Not a member, or missing the role this route needs"),
    404: _response("No such resource"),
    409: _response("The chain refused the transaction (contract error named in the code)"),
    413: _response("The request body is larger than the route's limit"),
    422: _response("The request's parameters or body are invalid"),
    429: _response("Too many requests from this caller or IP; see Retry-After"),
    503: _response("The chain node or the audit index is unavailable"),
    504: _response("A transaction was sent but not mined in time"),
}
