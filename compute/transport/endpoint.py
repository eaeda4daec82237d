"""The receiving side of HTTP transport: a server-independent handler and a FastAPI mount.

`MessageEndpoint.handle(body)` routes an envelope to the mailbox registered for its
(job, receiver) and returns (status, detail); it checks nothing cryptographic (the
receiving `Channel` does). `router(endpoint)` mounts it on any FastAPI app (the gateway
later), `serve_endpoint` runs it alone under uvicorn on loopback (one process per party).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from fastapi import APIRouter, FastAPI, Request, Response

from compute.envelope import parse
from compute.errors import MalformedMessage
from compute.party import Address
from compute.transport.base import Mailbox
from compute.transport.http import MESSAGES_PATH

MAX_ENVELOPE_BYTES = 512 * 1024 * 1024


class MessageEndpoint:
    """Routes incoming envelopes to the mailboxes of the (job, party) pairs hosted here."""

    def __init__(self) -> None:
        self._mailboxes: dict[tuple[int, Address], Mailbox] = {}
        self._lock = threading.Lock()

    def register(self, job_id: int, party: Address, mailbox: Mailbox) -> None:
        """Accept envelopes for `party` in job `job_id` into `mailbox`."""
        with self._lock:
            self._mailboxes[(job_id, party)] = mailbox

    def unregister(self, job_id: int, party: Address) -> None:
        """Stop accepting envelopes for `party` in job `job_id`."""
        with self._lock:
            self._mailboxes.pop((job_id, party), None)

    def handle(self, body: bytes) -> tuple[int, str]:
        """Route one envelope: 202 accepted, 400 unparseable, 404 no such job/party here, 413 too big."""
        if len(body) > MAX_ENVELOPE_BYTES:
            return 413, "envelope too large"
        try:
            header = parse(body).header
        except MalformedMessage as exc:
            return 400, exc.detail
        with self._lock:
            mailbox = self._mailboxes.get((header.job_id, header.receiver))
        if mailbox is None:
            return 404, f"no job {header.job_id} for {header.receiver} here"
        mailbox.put(body)
        return 202, "accepted"


def router(endpoint: MessageEndpoint) -> APIRouter:
    """A FastAPI router exposing `endpoint` at POST /custos/v1/messages."""
    api = APIRouter(tags=["party-messages"])

    @api.post(MESSAGES_PATH, status_code=202)
    async def receive(request: Request) -> Response:
        status, detail = endpoint.handle(await request.body())
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
    endpoint: MessageEndpoint, host: str = "127.0.0.1", port: int = 0, extra: Sequence[APIRouter] = ()
) -> _Server:
    """Run `endpoint` (and any `extra` routers) under uvicorn in a background thread; `.url`, `.stop()`."""
    import socket

    import uvicorn

    app = FastAPI(title="Custos party endpoint")
    app.include_router(router(endpoint))
    for extra_router in extra:
        app.include_router(extra_router)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    return _Server(server, thread, f"http://{host}:{sock.getsockname()[1]}")
