"""Secure aggregation of a 100,000-dimensional vector among 10 clients, 2 dropping out and 1 straggling.

Baseline in the same run: plaintext aggregation over the same signed, encrypted channels
(each client sends its raw vector to the server, which adds them), i.e. the cost of the
transport alone. The dropouts leave after advertising their keys and sharing them, before
sending masked input, so the server must reconstruct their mask keys and strip their pair
masks: the most expensive kind of dropout. The server waits out one stage deadline
(`STAGE_TIMEOUT`) for them; the line without dropouts shows the protocol's own cost. The
straggler is an honest client on a slow link: its masked input reaches the server only after
the server has closed that stage (held on the wire until the server's first "unmask"), so it
is dropped, told so, and its late input set aside unread.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from report import emit

from compute.channel import Channel, Job
from compute.envelope import parse
from compute.party import Party
from compute.secagg import secure_aggregate
from compute.session import RoleOutput, run_in_process
from compute.transport import InProcessTransport, Mailbox

DIM, CLIENTS, THRESHOLD, STAGE_TIMEOUT = 100_000, 10, 6, 1.0


def plaintext_seconds(clients: list[Party], server: Party, vectors: dict) -> float:
    """Wall time of summing the raw vectors at the server over the same channels."""
    job = Job(1, "plaintext-sum", {p.address: p.identity for p in [*clients, server]}, 120)

    def client(vector):
        def role(ch: Channel) -> RoleOutput:
            ch.send(server.address, "vector", vector.astype(np.int64).tobytes())
            return RoleOutput(None, None, finishers=[ch.address])

        return role

    def aggregate(ch: Channel) -> RoleOutput:
        total = sum(np.frombuffer(ch.recv(c.address, "vector"), dtype=np.int64) for c in clients)
        return RoleOutput(total, None, finishers=[ch.address])

    roles = {c.address: client(vectors[c.address]) for c in clients} | {server.address: aggregate}
    start = time.perf_counter()
    run_in_process(job, [*clients, server], roles)
    return time.perf_counter() - start


class SlowLink:
    """In-process delivery where one client's masked input is held until the server sends its first "unmask"."""

    def __init__(self, mailboxes: dict[str, Mailbox], straggler: str, server: str) -> None:
        self.inner, self.straggler, self.server = InProcessTransport(mailboxes), straggler, server
        self.held: list[tuple[str, bytes]] = []

    def deliver(self, receiver: str, envelope: bytes) -> None:
        header = parse(envelope).header
        if header.sender == self.straggler and header.step == "masked":
            self.held.append((receiver, envelope))
            return
        if header.sender == self.server and header.step == "unmask":
            while self.held:
                self.inner.deliver(*self.held.pop())
        self.inner.deliver(receiver, envelope)


def secagg_seconds(clients: list[Party], server: Party, vectors: dict, drop: dict, straggler: str = "") -> float:
    """Wall time of one secure aggregation, checked exact against the plaintext sum of survivors."""
    start = time.perf_counter()
    result = secure_aggregate(
        clients,
        server,
        vectors,
        job_id=2,
        threshold=THRESHOLD,
        stage_timeout=STAGE_TIMEOUT,
        drop=drop,
        timeout=120,
        transport=lambda boxes: SlowLink(dict(boxes), straggler, server.address),
    )
    elapsed = time.perf_counter() - start
    expected = sum(v for a, v in vectors.items() if a not in drop and a != straggler)
    assert np.array_equal(result.value["sum"], expected), "secure sum differs from plaintext"
    return elapsed


def main() -> None:
    parties = [Party.generate() for _ in range(CLIENTS + 1)]
    clients, server = parties[:CLIENTS], parties[CLIENTS]
    rng = np.random.default_rng(0)
    vectors = {c.address: rng.integers(-(2**20), 2**20, size=DIM) for c in clients}
    baseline = plaintext_seconds(clients, server, vectors)
    emit(
        "secagg_100k_10clients_0dropouts",
        secagg_seconds(clients, server, vectors, {}),
        "s",
        "plaintext sum over the same channels",
        baseline,
    )
    drop = {clients[1].address: "masked", clients[7].address: "masked"}
    emit(
        "secagg_100k_10clients_2dropouts",
        secagg_seconds(clients, server, vectors, drop),
        "s",
        "plaintext sum over the same channels",
        baseline,
    )
    emit(
        "secagg_100k_10clients_2dropouts_1straggler",
        secagg_seconds(clients, server, vectors, drop, straggler=clients[4].address),
        "s",
        "plaintext sum over the same channels",
        baseline,
    )


if __name__ == "__main__":
    main()
