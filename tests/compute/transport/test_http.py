"""HTTP transport on loopback: what an eavesdropper on the wire sees, refusals, unreachable parties."""

from __future__ import annotations

import contextlib
import socket
import threading

import httpx
import pytest

from compute.channel import Job
from compute.errors import PartyUnreachable, ProtocolAborted
from compute.psi import ecdh
from compute.session import run_in_process
from compute.transport import HttpTransport, MessageEndpoint, serve_endpoint
from compute.transport.http import MESSAGES_PATH
from tests.ledger.audit.anvil import nowhere_url


class Eavesdropper:
    """A TCP relay on loopback that keeps a copy of every byte in both directions."""

    def __init__(self, target_url: str) -> None:
        host, port = target_url.removeprefix("http://").split(":")
        self.target = (host, int(port))
        self.captured = bytearray()
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                with self.lock:
                    self.captured += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def test_eavesdropper_on_loopback_http_sees_ciphertext_only(make_parties) -> None:
    receiver, sender = make_parties(2)
    mine, theirs = [f"alice-secret-{i}" for i in range(30)], [f"alice-secret-{i}" for i in range(20, 50)]
    job = Job(51, ecdh.PROTOCOL, {p.address: p.identity for p in (receiver, sender)}, 20)
    servers, taps = [], []

    def http_network(mailboxes):
        urls = {}
        for address, box in mailboxes.items():
            endpoint = MessageEndpoint()
            endpoint.register(job.job_id, address, box)
            servers.append(serve_endpoint(endpoint))
            taps.append(Eavesdropper(servers[-1].url))
            urls[address] = taps[-1].url
        return HttpTransport(urls)

    roles = {
        receiver.address: ecdh.receiver_role(mine, sender.address, True),
        sender.address: ecdh.sender_role(theirs, receiver.address, True),
    }
    try:
        outcomes = run_in_process(job, [receiver, sender], roles, transport=http_network)
    finally:
        for server in servers:
            server.stop()
    assert outcomes[receiver.address].value == sorted(set(mine) & set(theirs))
    wire = b"".join(bytes(t.captured) for t in taps)
    assert MESSAGES_PATH.encode() in wire and len(wire) > 30 * 32  # the tap did see the traffic
    assert b"alice-secret" not in wire
    assert all(ecdh.hash_to_u(51, i) not in wire for i in mine + theirs)


def test_endpoint_refuses_garbage_and_unknown_jobs(make_parties) -> None:
    endpoint = MessageEndpoint()
    server = serve_endpoint(endpoint)
    try:
        assert httpx.post(server.url + MESSAGES_PATH, content=b"junk").status_code == 400
        from compute.envelope import Header, seal

        a, b = make_parties(2)
        envelope = seal(a, b.identity, Header(9, a.address, b.address, 0, "s"), b"x")
        response = httpx.post(server.url + MESSAGES_PATH, content=envelope)
        assert response.status_code == 404 and "no job 9" in response.text
    finally:
        server.stop()


def test_unreachable_party_aborts_the_run_naming_it(make_parties) -> None:
    receiver, sender = make_parties(2)
    job = Job(52, ecdh.PROTOCOL, {p.address: p.identity for p in (receiver, sender)}, 1)
    dead_url = nowhere_url()  # its port stays held: no other process can start answering there
    endpoint = MessageEndpoint()
    server = serve_endpoint(endpoint)
    roles = {
        receiver.address: ecdh.receiver_role(["a"], sender.address, False),
        sender.address: ecdh.sender_role(["a"], receiver.address, False),
    }

    def transport(mailboxes):  # the receiver is served over HTTP; the sender's endpoint is dead
        endpoint.register(job.job_id, receiver.address, mailboxes[receiver.address])
        return HttpTransport({receiver.address: server.url, sender.address: dead_url}, timeout=2)

    try:
        with pytest.raises(ProtocolAborted) as excinfo:
            run_in_process(job, [receiver, sender], roles, transport=transport)
    finally:
        server.stop()
    # The receiver's first delivery fails at once; the sender only times out a second later.
    assert isinstance(excinfo.value.cause, PartyUnreachable) and excinfo.value.party == sender.address
    assert excinfo.value.step == "deliver"


def test_unsigned_message_from_an_outsider_is_dropped_before_it_is_queued(make_parties) -> None:
    from compute.envelope import Header, seal
    from compute.transport import Mailbox

    alice, bob, outsider = make_parties(3)
    endpoint, mailbox = MessageEndpoint(), Mailbox()
    endpoint.register(7, bob.address, mailbox, roster=[alice.address, bob.address])
    server = serve_endpoint(endpoint)
    try:
        genuine = seal(alice, bob.identity, Header(7, alice.address, bob.address, 0, "s"), b"x")
        unsigned = genuine[:-65] + bytes(65)
        from_outsider = seal(outsider, bob.identity, Header(7, outsider.address, bob.address, 0, "s"), b"x")
        codes = [httpx.post(server.url + MESSAGES_PATH, content=e).status_code for e in (unsigned, from_outsider)]
        assert codes == [403, 403] and endpoint.dropped == 2
        assert mailbox.get(0.0) is None  # nothing reached the party
        assert httpx.post(server.url + MESSAGES_PATH, content=genuine).status_code == 202
        assert mailbox.get(1.0) == genuine
        assert httpx.post(server.url + MESSAGES_PATH, content=genuine).status_code == 409  # a replay: not queued
        assert mailbox.get(0.0) is None and endpoint.dropped == 3
    finally:
        server.stop()


def test_oversized_body_is_refused_before_it_is_buffered() -> None:
    import asyncio

    from compute.transport.endpoint import MAX_ENVELOPE_BYTES, EnvelopeTooLarge, read_bounded

    endpoint = MessageEndpoint()
    server = serve_endpoint(endpoint)
    try:
        # A declared length over the limit is refused on the headers alone: only 10 bytes are ever sent.
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                f"POST {MESSAGES_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_ENVELOPE_BYTES + 1}\r\n\r\n".encode()
                + b"0123456789"
            )
            assert sock.recv(4096).startswith(b"HTTP/1.1 413")
    finally:
        server.stop()

    # An undeclared (chunked) body is read only up to the limit: the rest is never pulled in.
    pulled = 0

    async def chunks():
        nonlocal pulled
        for _ in range(3 * MAX_ENVELOPE_BYTES // (1 << 20)):
            pulled += 1
            yield b"\0" * (1 << 20)

    with pytest.raises(EnvelopeTooLarge):
        asyncio.run(read_bounded(chunks()))
    assert pulled == MAX_ENVELOPE_BYTES // (1 << 20) + 1


def test_size_limit_fits_the_largest_legitimate_message() -> None:
    from compute.transport.endpoint import MAX_ENVELOPE_BYTES

    # hetero-LR on default_credit: one 2,048-bit Paillier ciphertext (1,024 hex digits + JSON punctuation) per row
    rows, per_ciphertext = 30_000, 1_024 + 3
    assert 2 * rows * per_ciphertext <= MAX_ENVELOPE_BYTES <= 128 * 1024 * 1024
