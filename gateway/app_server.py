"""The gateway app's HTTP server: uvicorn's, ending the live progress streams first on shutdown.

A progress stream (SSE) stays open while its job runs, so uvicorn's graceful shutdown, which
waits for every response to end, would wait its whole grace for them on every SIGTERM. This
server closes the progress bus before that wait: the streams end at once (their clients
reconnect elsewhere or later), ordinary requests still get the grace, and then the app's
lifespan stops the hosted job runner (gateway.hosted_runner).
"""

from __future__ import annotations

import socket

import uvicorn
from fastapi import FastAPI

from gateway.services import GatewayServices


class GatewayServer(uvicorn.Server):
    """`uvicorn.Server` for a gateway app (`gateway.app.create_app`)."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._services: GatewayServices = app.state.services

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """End the progress streams, then shut down as uvicorn does."""
        self._services.progress.close()
        await super().shutdown(sockets)
