"""Translating ledger failures at the boundary: a revert is the caller's 409, a dead node a 503."""

from __future__ import annotations

import inspect

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gateway.errors import Conflict, GatewayError, NotFound, Timeout, Unavailable
from ledger.errors import ConnectionFailed, ContractRevert, LedgerError, TransactionRejected, TransactionTimeout


def translate(exc: LedgerError) -> GatewayError:
    """The gateway error for a ledger error."""
    if isinstance(exc, ContractRevert) and "Unknown" in exc.name:  # e.g. JobLedgerUnknownJob(jobId)
        return NotFound(f"contract.{exc.name}", f"No such record on chain: {exc}.")
    if isinstance(exc, ContractRevert):
        return Conflict(f"contract.{exc.name}", f"The chain refused the transaction: {exc}.")
    if isinstance(exc, TransactionRejected):
        return Conflict("transaction.rejected", f"The node rejected the transaction: {exc}.")
    if isinstance(exc, TransactionTimeout):
        return Timeout("transaction.timeout", f"The transaction was sent but not mined in time: {exc}.")
    if isinstance(exc, ConnectionFailed):
        return Unavailable("chain.unavailable", f"The chain node does not answer: {exc}.")
    return Unavailable("chain.error", f"The ledger failed: {exc}.")


def install_ledger_error_handlers(app: FastAPI) -> None:
    """Answer every ledger error with the gateway's JSON error body."""
    gateway_handler = app.exception_handlers[GatewayError]

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LedgerError)
        response = gateway_handler(request, translate(exc))
        assert inspect.isawaitable(response)  # the GatewayError handler is async
        answer = await response
        assert isinstance(answer, JSONResponse)
        return answer

    app.add_exception_handler(LedgerError, handle)
