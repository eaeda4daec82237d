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
    closed = socket.create_server(("127.0.0.1", 0))
    dead_url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
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
