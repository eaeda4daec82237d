"""The node's JSON-RPC endpoint over HTTP/1.1 (POST /): an asyncio server with bounded work.

A connection costs a coroutine, not a thread, so thousands of stalled clients cost little;
still, at most `max_connections` are open at once (more are closed on accept), a request's
headers must arrive within `read_timeout` of its first byte, a kept-alive connection is
closed after `idle_timeout` without a request, and its body within `read_timeout`.
Requests run on three bounded thread pools, so no kind of request can starve another:
reads (most methods), heavy reads (calls, estimates, logs, traces, proofs, and every batch
or large body) and writes (eth_sendRawTransaction, which waits for the node's lock). When a
pool already has `queue_limit` requests waiting, further ones are answered -32005 at once
instead of queueing without bound. (The standard library's thread-per-connection server
this replaces made 1,703 threads for 1,700 stalled connections and had no timeouts.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ledger.chain.node import Node
from ledger.chain.rpc import (
    BATCH_SECONDS,
    HEAVY_METHODS,
    INVALID_REQUEST,
    LIMIT_EXCEEDED,
    MAX_REQUEST_BYTES,
    MAX_RESPONSE_BYTES,
    RPCServer,
    _dump,
    error,
)

log = logging.getLogger(__name__)

_WRITE_METHODS = (b'"eth_sendRawTransaction"',)
_SMALL_BODY = 64 * 1024
_MAX_HEADER_LINE = 8 * 1024
_MAX_HEADERS = 64


@dataclass(frozen=True)
class ServerLimits:
    """How much one server takes on: connections, timeouts (seconds) and workers per pool."""

    max_connections: int = 4096
    read_timeout: float = 10.0
    idle_timeout: float = 30.0
    read_workers: int = 8
    heavy_workers: int = 3
    write_workers: int = 8
    queue_limit: int = 64
    batch_seconds: float = BATCH_SECONDS
    max_response_bytes: int = MAX_RESPONSE_BYTES


class _Pool:
    """A thread pool that refuses work beyond `queue_limit` waiting requests."""

    def __init__(self, name: str, workers: int, queue_limit: int) -> None:
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix=name)
        self.limit = workers + queue_limit
        self.busy = 0


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ChainServer:
    """Serves a node over HTTP and runs its block producer."""

    def __init__(
        self, node: Node, host: str = "127.0.0.1", port: int = 8545, limits: ServerLimits | None = None
    ) -> None:
        self.node = node
        self.limits = limits or ServerLimits()
        # Public so that ledger.consensus can add its methods to the same dispatcher.
        self.rpc = RPCServer(node, self.limits.batch_seconds, self.limits.max_response_bytes)
        self._max_connections = min(self.limits.max_connections, _raise_fd_limit() - 64)
        self._sock = socket.create_server((host, port), reuse_port=False, backlog=1024)
        self._loop = asyncio.new_event_loop()
        self._stopped = asyncio.Event()
        self._thread: threading.Thread | None = None
        self._connections = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        lim = self.limits
        self._pools = {
            "read": _Pool("custos-read", lim.read_workers, lim.queue_limit),
            "heavy": _Pool("custos-heavy", lim.heavy_workers, lim.queue_limit),
            "write": _Pool("custos-write", lim.write_workers, lim.queue_limit),
        }

    @property
    def url(self) -> str:
        """The endpoint URL."""
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def connections(self) -> int:
        """How many client connections are open now."""
        return self._connections

    def start(self) -> None:
        """Serve on a background thread."""
        self.node.start()
        self._thread = threading.Thread(target=self._run, name="custos-http", daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        """Serve on this thread until `stop()` (from another thread) or KeyboardInterrupt."""
        self.node.start()
        self._run()

    def stop(self) -> None:
        """Stop serving and producing."""
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for pool in self._pools.values():
            pool.executor.shutdown(wait=False, cancel_futures=True)
        self.node.stop()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._sock.close()
            self._loop.close()

    async def _serve(self) -> None:
        server = await asyncio.start_server(self._connection, sock=self._sock, limit=_MAX_HEADER_LINE)
        async with server:
            await self._stopped.wait()
            # Closing a transport ends its connection's pending read; the tasks then finish.
            for writer in list(self._writers):
                writer.close()
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=2.0)

    # -- one connection --
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._connections >= self._max_connections:
            writer.close()
            return
        self._connections += 1
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # Headers and body go out in one write, but keep-alive clients still stall on Nagle.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while await self._exchange(reader, writer):
                pass
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            self._connections -= 1
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read one request and answer it; False when the connection should close."""
        lim = self.limits
        request_line = await asyncio.wait_for(reader.readline(), lim.idle_timeout)
        if not request_line:
            return False
        try:
            method, headers = await asyncio.wait_for(_read_head(request_line, reader), lim.read_timeout)
            if method != "POST":
                raise _BadRequest(405, "use POST with a JSON-RPC body")
            length = _content_length(headers)
            if headers.get("expect", "").lower() == "100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = await asyncio.wait_for(reader.readexactly(length), lim.read_timeout)
        except _BadRequest as bad:
            await self._send(writer, bad.status, _dump(error(INVALID_REQUEST, f"invalid request: {bad}")), close=True)
            return False
        peer = writer.get_extra_info("peername")
        status, answer = await self._dispatch(body, peer[0] if peer else "")
        keep = headers.get("connection", "").lower() != "close"
        await self._send(writer, status, answer, close=not keep)
        return keep

    async def _dispatch(self, body: bytes, client: str) -> tuple[int, bytes]:
        pool = self._pools[_pool_for(body)]
        if pool.busy >= pool.limit:
            return 200, _dump(error(LIMIT_EXCEEDED, "server busy: too many requests in progress, try again"))
        pool.busy += 1
        try:
            answer = await self._loop.run_in_executor(pool.executor, self.rpc.handle_bytes, body, client)
        finally:
            pool.busy -= 1
        return (204, b"") if answer is None else (200, answer)

    async def _send(self, writer: asyncio.StreamWriter, status: int, body: bytes, close: bool = False) -> None:
        reason = {200: "OK", 204: "No Content", 400: "Bad Request", 405: "Method Not Allowed"}.get(status, "Error")
        head = [f"HTTP/1.1 {status} {reason}", "Server: custos-chain", "Content-Type: application/json"]
        head.append(f"Content-Length: {len(body)}")
        if close:
            head.append("Connection: close")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await asyncio.wait_for(writer.drain(), self.limits.read_timeout)


async def _read_head(request_line: bytes, reader: asyncio.StreamReader) -> tuple[str, dict[str, str]]:
    parts = request_line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise _BadRequest(400, "malformed request line")
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADERS + 1):
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            return parts[0], headers
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise _BadRequest(400, "malformed header line")
        headers[name.strip().lower()] = value.strip()
    raise _BadRequest(400, f"more than {_MAX_HEADERS} headers")


def _content_length(headers: dict[str, str]) -> int:
    raw = headers.get("content-length")
    if raw is None or not raw.isdigit() or "transfer-encoding" in headers:
        raise _BadRequest(411, "Content-Length required")
    length = int(raw)
    if length > MAX_REQUEST_BYTES:
        raise _BadRequest(413, f"request too large: {length} bytes, limit {MAX_REQUEST_BYTES}")
    return length


def _pool_for(body: bytes) -> str:
    """Which pool a request body goes to, by a cheap look at its bytes (the JSON is parsed on the pool)."""
    if len(body) > _SMALL_BODY or body.lstrip()[:1] == b"[":
        return "heavy"
    if any(name in body for name in _WRITE_METHODS):
        return "write"
    if any(name in body for name in HEAVY_METHODS):
        return "heavy"
    return "read"


def _raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft
