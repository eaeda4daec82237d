"""JSON-RPC 2.0 over bytes: parsing, single and batch dispatch, standard error objects.

Error codes: -32700 parse error, -32600 invalid request (also: too large), -32601 method
not found, -32602 invalid params, -32603 internal error, -32000 rejected transaction or
failed call, -32007 sender not permitted (Besu's code), 3 execution reverted with the
revert data in `data` (geth's shape, which web3.py, ethers and cast decode).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from ledger.chain.errors import ChainError
from ledger.chain.methods import Methods
from ledger.chain.params import InvalidParams

if TYPE_CHECKING:
    from ledger.chain.node import Node

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 5 * 1024 * 1024
MAX_BATCH = 1_000
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = -32700, -32600, -32601, -32602, -32603


def error(code: int, message: str, id_: Any = None, data: Any = None) -> dict[str, Any]:
    """A JSON-RPC error response object."""
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": id_, "error": err}


class RPCServer:
    """Dispatches JSON-RPC requests to the node's methods; never raises to its caller."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.methods = Methods(node)

    def handle_bytes(self, body: bytes) -> bytes | None:
        """Answer one HTTP body; None when every request was a notification."""
        if len(body) > MAX_REQUEST_BYTES:
            return _dump(error(INVALID_REQUEST, f"request too large: {len(body)} bytes, limit {MAX_REQUEST_BYTES}"))
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return _dump(error(PARSE_ERROR, f"parse error: {exc}"))
        response = self.handle(payload)
        return None if response is None else _dump(response)

    def handle(self, payload: Any) -> Any:
        """Answer a decoded request or batch."""
        if isinstance(payload, list):
            if not payload:
                return error(INVALID_REQUEST, "invalid request: empty batch")
            if len(payload) > MAX_BATCH:
                return error(INVALID_REQUEST, f"batch too large: {len(payload)} requests, limit {MAX_BATCH}")
            answers = [a for a in (self._one(r) for r in payload) if a is not None]
            return answers or None
        return self._one(payload)

    def _one(self, request: Any) -> dict[str, Any] | None:
        if not isinstance(request, dict):
            return error(INVALID_REQUEST, "invalid request: expected an object")
        id_ = request.get("id")
        if not isinstance(id_, (str, int, type(None))) or isinstance(id_, bool):
            return error(INVALID_REQUEST, "invalid request: id must be a string, number or null")
        method = request.get("method")
        if request.get("jsonrpc") != "2.0" or not isinstance(method, str):
            return error(INVALID_REQUEST, 'invalid request: needs jsonrpc "2.0" and a method name', id_)
        params = request.get("params", [])
        handler = self.methods.table.get(method)
        response = self._call(handler, method, params, id_)
        return None if "id" not in request else response

    def _call(self, handler: Any, method: str, params: Any, id_: Any) -> dict[str, Any]:
        if handler is None:
            return error(METHOD_NOT_FOUND, f"the method {method} does not exist/is not available", id_)
        if not isinstance(params, list):
            return error(INVALID_PARAMS, "invalid params: params must be an array", id_)
        try:
            # Reads see the last commit through an LMDB snapshot; writes take the node's lock.
            with self.methods.reading():
                result = handler(params)
            return {"jsonrpc": "2.0", "id": id_, "result": result}
        except InvalidParams as exc:
            return error(INVALID_PARAMS, f"invalid params: {exc}", id_)
        except ChainError as exc:
            return error(exc.code, exc.message, id_, exc.data)
        except Exception:  # noqa: BLE001 — a bug must not take the node down; log it, answer -32603
            log.exception("internal error in %s", method)
            return error(INTERNAL_ERROR, f"internal error in {method}", id_)


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()
