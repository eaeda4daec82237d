"""The receiving side of HTTP transport: a server-independent handler and a FastAPI mount.

`MessageEndpoint.handle(body)` admits an envelope into the mailbox registered for its
(job, receiver) only if it parses, its sender is on that job's roster and the sender's chain
key signed it; anything else is dropped and logged here, before it is queued, so an outsider
cannot fill a party's mailbox or disturb its run (the receiving `Channel` checks again, and
also drops replays). Bodies above `MAX_ENVELOPE_BYTES` are refused before they are buffered.
`router(endpoint)` mounts it on any FastAPI app, `serve_endpoint` runs it alone under uvicorn
on loopback (one process per party).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Collection, Sequence

from fastapi import APIRouter, FastAPI, Request, Response

from compute.envelope import parse, verify_signature
from compute.errors import MalformedMessage, SignatureInvalid
from compute.party import Address
from compute.transport.base import Mailbox
from compute.transport.http import MESSAGES_PATH

log = logging.getLogger(__name__)

# The largest legitimate protocol message is hetero-LR's encrypted per-row vector: one Paillier
# ciphertext (mod n², 4,096 bits at 2,048-bit keys = 1,024 hex digits in JSON, ~1,027 bytes with
# quotes and comma) per training row. default_credit's 30,000 rows unpacked make ~31 MB (packed,
# about 12 MB); 64 MiB leaves twice that worst case. Secure aggregation of 1M float64 weights is 8 MB.
MAX_ENVELOPE_BYTES = 64 * 1024 * 1024


class EnvelopeTooLarge(Exception):
    """A request body longer than MAX_ENVELOPE_BYTES (raised while reading, before it is all buffered)."""


async def read_bounded(chunks: AsyncIterator[bytes], limit: int = MAX_ENVELOPE_BYTES) -> bytes:
    """The body from `chunks`, refusing with EnvelopeTooLarge as soon as it passes `limit` bytes."""
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise EnvelopeTooLarge(f"envelope larger than {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


class MessageEndpoint:
    """Routes authentic envelopes to the mailboxes of the (job, party) pairs hosted here."""

    def __init__(self) -> None:
        self._mailboxes: dict[tuple[int, Address], tuple[Mailbox, frozenset[Address] | None]] = {}
        self._seen: dict[tuple[int, Address], set[tuple[Address, int, int]]] = {}  # (sender, seq, kind) queued
        self._lock = threading.Lock()
        self.dropped = 0  # envelopes refused after parsing (outsider, bad signature): counted, logged

    def register(
        self, job_id: int, party: Address, mailbox: Mailbox, roster: Collection[Address] | None = None
    ) -> None:
        """Accept envelopes for `party` in job `job_id` into `mailbox`, from senders on `roster` only.

        Without a roster any correctly signed sender is queued (the Channel still drops outsiders).
        """
        with self._lock:
            self._mailboxes[(job_id, party)] = (mailbox, None if roster is None else frozenset(roster))
            self._seen[(job_id, party)] = set()

    def unregister(self, job_id: int, party: Address) -> None:
        """Stop accepting envelopes for `party` in job `job_id`."""
        with self._lock:
            self._mailboxes.pop((job_id, party), None)
            self._seen.pop((job_id, party), None)

    def handle(self, body: bytes) -> tuple[int, str]:
        """Route one envelope: 202 accepted, 400 unparseable, 403 not from the roster or not signed by its
        sender, 404 no such job/party here, 409 a replay of one already queued, 413 too big. Nothing but
        202 reaches a mailbox."""
        if len(body) > MAX_ENVELOPE_BYTES:
            return 413, "envelope too large"
        try:
            envelope = parse(body)
        except MalformedMessage as exc:
            return 400, exc.detail
        header = envelope.header
        with self._lock:
            hosted = self._mailboxes.get((header.job_id, header.receiver))
        if hosted is None:
            return 404, f"no job {header.job_id} for {header.receiver} here"
        mailbox, roster = hosted
        try:
            if roster is not None and header.sender not in roster:
                return self._drop(403, f"{header.sender} is not on job {header.job_id}'s roster")
            verify_signature(envelope)
        except SignatureInvalid as exc:
            return self._drop(403, exc.detail)
        key = (header.sender, header.seq, header.kind)
        with self._lock:
            seen = self._seen.get((header.job_id, header.receiver))
            if seen is None:
                return 404, f"no job {header.job_id} for {header.receiver} here"
            if key in seen:  # (sender, seq) names one message: a second copy is a replay, however it is signed
                replayed = True
            else:
                replayed = False
                seen.add(key)
        if replayed:
            return self._drop(409, f"sequence {header.seq} from {header.sender} already queued")
        mailbox.put(body)
        return 202, "accepted"

    def _drop(self, status: int, detail: str) -> tuple[int, str]:
        self.dropped += 1
        log.warning("party endpoint dropped an envelope: %s", detail)
        return status, detail


def router(endpoint: MessageEndpoint) -> APIRouter:
    """A FastAPI router exposing `endpoint` at POST /custos/v1/messages."""
    api = APIRouter(tags=["party-messages"])

    @api.post(MESSAGES_PATH, status_code=202)
    async def receive(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_ENVELOPE_BYTES:
            return Response(content="envelope too large", status_code=413, media_type="text/plain")
        try:
            body = await read_bounded(request.stream())
        except EnvelopeTooLarge as exc:
            return Response(content=str(exc), status_code=413, media_type="text/plain")
        status, detail = endpoint.handle(body)
        return Response(content=detail, status_code=status, media_type="text/plain")

    return api


class _Server:
    def __init__(self, server: object, thread: threading.Thread, url: str) -> None:
        self._server, self._thread, self.url = server, thread, url

    def stop(self) -> None:
        """Shut the server down and wait for its thread."""
        self._server.should_exit = True  # type: ignore[attr-defined]  # uvicorn's Server has should_exit; the attribute is typed on a base it lacks
        self._thread.join(timeout=10)


def serve_endpoint(
    endpoint: MessageEndpoint,
    host: str = "127.0.0.1",
    port: int = 0,
    extra: Sequence[APIRouter] = (),
    listener: socket.socket | None = None,
    start_timeout: float = 60.0,
) -> _Server:
    """Run `endpoint` (and any `extra` routers) under uvicorn in a background thread; `.url`, `.stop()`.

    It listens on `listener` if given (a socket the caller bound, e.g. to know the URL before the
    routes exist), else on `host`:`port` (0: a free port). RuntimeError if it does not serve within
    `start_timeout` seconds.
    """
    import uvicorn

    app = FastAPI(title="Custos party endpoint")
    app.include_router(router(endpoint))
    for extra_router in extra:
        app.include_router(extra_router)
    if listener is None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
    bound_host, bound_port = listener.getsockname()[:2]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the party endpoint on {bound_host}:{bound_port} did not start")
        time.sleep(0.01)  # the poll interval of a bounded wait
    return _Server(server, thread, f"http://{bound_host}:{bound_port}")
