"""Party transport: the endpoint MPC and FL parties POST their sealed envelopes to.

No request signature here: each envelope is signed by its sending party and encrypted to its
receiver, and the receiving `Channel` (compute) checks both. The gateway only routes bytes
to the mailbox of the (job, party) it hosts, and answers in the gateway's JSON error model.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from compute.transport import MessageEndpoint
from compute.transport.endpoint import EnvelopeTooLarge, read_bounded
from compute.transport.http import MESSAGES_PATH
from gateway.bounded_route import BoundedJsonRoute
from gateway.deps import Services
from gateway.errors import Conflict, ErrorBody, Forbidden, GatewayError, NotFound
from gateway.schemas.transport import DeliveryPublic

router = APIRouter(tags=["transport"], route_class=BoundedJsonRoute)

_ENVELOPE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}
_RESPONSES: dict[int | str, dict] = {
    400: {"model": ErrorBody, "description": "The envelope does not parse"},
    403: {"model": ErrorBody, "description": "Not from the job's roster, or not signed by its sender"},
    404: {"model": ErrorBody, "description": "No such job or party hosted here"},
    409: {"model": ErrorBody, "description": "A replay of an envelope already queued"},
    413: {"model": ErrorBody, "description": "The envelope is too large"},
}


class _BadEnvelope(GatewayError):
    status = 400


class _TooLarge(GatewayError):
    status = 413


def deliver(endpoint: MessageEndpoint, body: bytes) -> None:
    """Hand one envelope to the endpoint, translating its refusals into gateway errors."""
    code, detail = endpoint.handle(body)
    if code == 202:
        return
    if code == 404:
        raise NotFound("transport.no_mailbox", f"This gateway hosts no such party: {detail}.")
    if code == 403:
        raise Forbidden("transport.refused", f"Envelope refused: {detail}.")
    if code == 409:
        raise Conflict("transport.replayed", f"Envelope refused: {detail}.")
    if code == 413:
        raise _TooLarge("transport.too_large", f"Envelope refused: {detail}.")
    raise _BadEnvelope("transport.malformed", f"Envelope refused: {detail}.")


@router.post(
    MESSAGES_PATH,
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryPublic,
    responses=_RESPONSES,
    openapi_extra=_ENVELOPE_BODY,
    summary="Deliver a sealed party envelope",
)
async def receive_envelope(request: Request, services: Services) -> DeliveryPublic:
    """Queue a signed, encrypted envelope for the (job, receiver) party it is addressed to."""
    try:  # the body-limit middleware already refused a longer declared or streamed body; this is compute's own bound
        body = await read_bounded(request.stream())
    except EnvelopeTooLarge as exc:
        raise _TooLarge("transport.too_large", f"Envelope refused: {exc}.") from None
    deliver(services.transport, body)
    return DeliveryPublic()
