"""The node's JSON-RPC endpoint over HTTP (POST /), on the standard library's threading server."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ledger.chain.node import Node
from ledger.chain.rpc import INVALID_REQUEST, MAX_REQUEST_BYTES, PARSE_ERROR, RPCServer, _dump, error

log = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "custos-chain"
    # Headers and body go out in separate writes; with Nagle on, keep-alive clients stall
    # ~40 ms per request on the delayed ACK.
    disable_nagle_algorithm = True
    rpc: RPCServer

    def do_POST(self) -> None:  # noqa: N802 — http.server's naming
        length_header = self.headers.get("Content-Length")
        if length_header is None or not length_header.isdigit():
            self._send(411, _dump(error(INVALID_REQUEST, "invalid request: Content-Length required")))
            return
        length = int(length_header)
        if length > MAX_REQUEST_BYTES:
            self._send(
                413,
                _dump(error(INVALID_REQUEST, f"request too large: {length} bytes, limit {MAX_REQUEST_BYTES}")),
                close=True,
            )
            return
        body = self.rfile.read(length)
        answer = self.rpc.handle_bytes(body)
        if answer is None:
            self._send(204, b"")
        else:
            self._send(200, answer)

    def do_GET(self) -> None:
        self._send(405, _dump(error(PARSE_ERROR, "use POST with a JSON-RPC body")))

    def _send(self, status: int, body: bytes, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class ChainServer:
    """Serves a node over HTTP and runs its block producer."""

    def __init__(self, node: Node, host: str = "127.0.0.1", port: int = 8545) -> None:
        self.node = node
        # Public so that ledger.consensus can add its methods to the same dispatcher.
        self.rpc = RPCServer(node)
        handler = type("Handler", (_Handler,), {"rpc": self.rpc})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The endpoint URL."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Serve on a background thread."""
        self.node.start()
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), name="custos-http", daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        """Serve on this thread until interrupted."""
        self.node.start()
        self.httpd.serve_forever()

    def stop(self) -> None:
        """Stop serving and producing."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.node.stop()
