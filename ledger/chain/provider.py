"""An in-process web3.py provider: JSON-RPC straight into the node, no socket.

Requests go through the same JSON encoding and dispatcher as HTTP, so in-process and HTTP
clients see byte-for-byte the same answers.
"""

from __future__ import annotations

from typing import Any

from web3.providers.base import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

from ledger.chain.node import Node
from ledger.chain.rpc import RPCServer


class NodeProvider(JSONBaseProvider):
    """web3.py provider that calls an embedded `Node` in this process."""

    def __init__(self, node: Node, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.node = node
        self.rpc = RPCServer(node)

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        """Encode, dispatch and decode one request."""
        answer = self.rpc.handle_bytes(self.encode_rpc_request(method, params))
        return self.decode_rpc_response(answer or b"null")

    def make_batch_request(self, batch_requests: list[tuple[RPCEndpoint, Any]]) -> list[RPCResponse] | RPCResponse:
        """Encode, dispatch and decode a batch."""
        answer = self.rpc.handle_bytes(self.encode_batch_rpc_request(batch_requests))
        response = self.decode_rpc_response(answer or b"[]")
        if isinstance(response, list):
            return sorted(response, key=lambda r: r.get("id") or 0)
        return response

    def is_connected(self, show_traceback: bool = False) -> bool:
        """Always: the node is in this process."""
        return True
