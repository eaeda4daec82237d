"""JSON-RPC 2.0 over bytes: parsing, single and batch dispatch, standard error objects.

Error codes: -32700 parse error, -32600 invalid request (also: too large), -32601 method
not found, -32602 invalid params, -32603 internal error, -32000 rejected transaction or
failed call, -32005 limit exceeded (a budget below; the request may be retried smaller or
later), -32007 sender not permitted (Besu's code), 3 execution reverted with the revert data
in `data` (geth's shape, which web3.py, ethers and cast decode).

Bounds on what one HTTP body may cost: its size (MAX_REQUEST_BYTES), its JSON nesting
(checked by a linear scan before the recursive parser runs: py_ecc raises the recursion
limit, and a deep document used to crash the process), and for a batch its length, its
cost (heavy methods weigh HEAVY_COST), its wall time and the size of its answer.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import orjson

from ledger.bounded_json import JsonTooDeep, loads
from ledger.chain.errors import ChainError
from ledger.chain.methods import Methods
from ledger.chain.params import InvalidParams

if TYPE_CHECKING:
    from ledger.chain.node import Node

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 5 * 1024 * 1024
MAX_BATCH = 1_000
MAX_DEPTH = 32
# A batch may cost at most BATCH_BUDGET, a heavy method HEAVY_COST and any other 1; and it
# must finish within BATCH_SECONDS with at most MAX_RESPONSE_BYTES of answers. What is left
# over is answered -32005, so a client learns to split its batch.
BATCH_BUDGET = 1_000
HEAVY_COST = 50
BATCH_SECONDS = 10.0
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
HEAVY_METHODS = tuple(
    f'"{name}"'.encode()
    for name in (
        "eth_call",
        "eth_estimateGas",
        "eth_createAccessList",
        "eth_getLogs",
        "eth_getFilterLogs",
        "eth_getFilterChanges",
        "eth_getProof",
        "eth_feeHistory",
        "eth_getBlockReceipts",
        "debug_traceTransaction",
    )
)
_HEAVY_NAMES = frozenset(name[1:-1].decode() for name in HEAVY_METHODS)
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = -32700, -32600, -32601, -32602, -32603
LIMIT_EXCEEDED = -32005


def error(code: int, message: str, id_: Any = None, data: Any = None) -> dict[str, Any]:
    """A JSON-RPC error response object."""
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "id": id_, "error": err}


class RPCServer:
    """Dispatches JSON-RPC requests to the node's methods; never raises to its caller."""

    def __init__(
        self, node: Node, batch_seconds: float = BATCH_SECONDS, max_response_bytes: int = MAX_RESPONSE_BYTES
    ) -> None:
        self.node = node
        self.methods = Methods(node)
        self.batch_seconds, self.max_response_bytes = batch_seconds, max_response_bytes
        self._local = threading.local()

    def handle_bytes(self, body: bytes, client: str = "") -> bytes | None:
        """Answer one HTTP body from `client` (its address); None when every request was a notification."""
        self._local.client = client
        if len(body) > MAX_REQUEST_BYTES:
            return _dump(error(INVALID_REQUEST, f"request too large: {len(body)} bytes, limit {MAX_REQUEST_BYTES}"))
        try:
            payload = loads(body, max_depth=MAX_DEPTH)
        except JsonTooDeep as exc:
            return _dump(error(INVALID_REQUEST, f"invalid request: {exc}"))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            return _dump(error(PARSE_ERROR, f"parse error: {exc}"))
        if isinstance(payload, list):
            return self._batch(payload)
        response = self._one(payload)
        return None if response is None else _dump(response)

    def handle(self, payload: Any) -> Any:
        """Answer a decoded request or batch (as Python objects)."""
        if isinstance(payload, list):
            answer = self._batch(payload)
            return None if answer is None else json.loads(answer)
        return self._one(payload)

    def _batch(self, payload: list[Any]) -> bytes | None:
        """Answer a batch within its cost, time and size budgets; the encoded answers, None if all notifications."""
        if not payload:
            return _dump(error(INVALID_REQUEST, "invalid request: empty batch"))
        if len(payload) > MAX_BATCH:
            return _dump(error(INVALID_REQUEST, f"batch too large: {len(payload)} requests, limit {MAX_BATCH}"))
        deadline = time.monotonic() + self.batch_seconds
        spent = size = 0
        parts: list[bytes] = []
        for request in payload:
            method = request.get("method") if isinstance(request, dict) else None
            spent += HEAVY_COST if method in _HEAVY_NAMES else 1
            over = self._over_budget(spent, deadline, size)
            if over is not None:
                notification = isinstance(request, dict) and "id" not in request
                answer: dict[str, Any] | None = None if notification else error(LIMIT_EXCEEDED, over, _id_of(request))
            else:
                answer = self._one(request)
            if answer is not None:
                encoded = _dump(answer)
                size += len(encoded)
                if size > self.max_response_bytes:
                    encoded = _dump(error(LIMIT_EXCEEDED, "batch answer too large: split the batch", _id_of(request)))
                parts.append(encoded)
        return b"[" + b",".join(parts) + b"]" if parts else None

    def _over_budget(self, spent: int, deadline: float, size: int) -> str | None:
        if spent > BATCH_BUDGET:
            return f"batch cost budget exceeded ({BATCH_BUDGET}; {HEAVY_COST} per call, estimate, log or trace query)"
        if time.monotonic() > deadline:
            return f"batch time budget exceeded ({self.batch_seconds:g} s)"
        if size > self.max_response_bytes:
            return f"batch answer exceeds {self.max_response_bytes} bytes: split the batch"
        return None

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
            if getattr(handler, "__self__", None) is self.methods:
                # Reads see the last commit through an LMDB snapshot; writes take the node's lock.
                with self.methods.reading(getattr(self._local, "client", "")):
                    result = handler(params)
            else:
                # A method added from outside (ledger.consensus) reads the live node: under its lock.
                with self.node.lock:
                    result = handler(params)
            return {"jsonrpc": "2.0", "id": id_, "result": result}
        except InvalidParams as exc:
            return error(INVALID_PARAMS, f"invalid params: {exc}", id_)
        except ChainError as exc:
            return error(exc.code, exc.message, id_, exc.data)
        except Exception:  # noqa: BLE001 — a bug must not take the node down; log it, answer -32603
            log.exception("internal error in %s", method)
            return error(INTERNAL_ERROR, f"internal error in {method}", id_)


def _id_of(request: Any) -> Any:
    id_ = request.get("id") if isinstance(request, dict) else None
    return id_ if isinstance(id_, (str, int)) and not isinstance(id_, bool) else None


def _dump(obj: Any) -> bytes:
    try:
        return orjson.dumps(obj)  # ~10x the standard encoder: a getLogs answer holds 10,000 logs
    except TypeError:  # an integer past 64 bits (e.g. a client's request id): the standard encoder takes it
        return json.dumps(obj, separators=(",", ":")).encode()
