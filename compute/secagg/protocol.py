"""Secure aggregation over the party transport: clients' vectors summed, none revealed, dropouts survived.

Stages (server S, clients by roster index; the server waits at most `stage_timeout` per stage,
and whoever has not answered by then is dropped for good):
  1 "advertise"  client → S: its X25519 mask public key               → U1
    "roster1"    S → U1: every (index, mask key) in U1
  2 "keyshares"  client → each other client in U1: Shamir shares of its mask private key and self seed
    "shared"     client → S: done sharing                             → U2
    "roster2"    S → U2: U2
  3 "masked"     client → S: y_u (masking.py)                         → U3
    "unmask"     S → U3: U3; each client answers with b-shares for U3 and key shares for U2 \\ U3
  4 "unmasked"   client → S                                           → U4, then S reconstructs
    "done"       S → U4: the result hash and the finishers
Any stage with fewer than `threshold` clients aborts with TooManyDropouts: no partial sum.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from compute.channel import Channel, Job
from compute.errors import InvalidInput, MalformedMessage, NotAParty, ProtocolViolation, TooManyDropouts
from compute.party import Address, Party
from compute.result import PartyMetadata, ProtocolResult, agreed, hash_result
from compute.secagg import masking, shamir
from compute.session import Role, RoleOutput, TransportFactory, run_in_process
from compute.transcript import FailureLog
from compute.transport import InProcessTransport

PROTOCOL = "secure-aggregation-bonawitz"
STAGES = ("advertise", "share", "masked", "unmask")
STEPS = ("advertise", "roster1", "keyshares", "shared", "roster2", "masked", "unmask", "unmasked", "done")


@dataclass(frozen=True)
class AggregationParams:
    """Threshold, vector length, fixed-point bits and the server's per-stage deadline (s)."""

    threshold: int
    dim: int
    fraction_bits: int = 0
    stage_timeout: float = 10.0
    instance: str = ""  # names this aggregation's steps apart from others on the same channel (e.g. "round-3")

    def step(self, name: str) -> str:
        """The protocol step `name` of this instance."""
        return f"{self.instance}/{name}" if self.instance else name


def _json(data: bytes, sender: Address, step: str) -> dict:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise MalformedMessage(sender, step, "payload is not JSON") from exc
    if not isinstance(value, dict):
        raise MalformedMessage(sender, step, "payload is not an object")
    return value


def _indices(message: dict, key: str, sender: Address, step: str) -> list[int]:
    try:
        return sorted({int(i) for i in message[key]})
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedMessage(sender, step, f"{key} is not a list of client indices") from exc


def client_role(
    me: int,
    vector: np.ndarray,
    params: AggregationParams,
    clients: Sequence[Address],
    server: Address,
    drop_at: str | None = None,
    late_by: float = 0.0,
) -> Role:
    """Client `me` (its index in `clients`); `drop_at` (a stage name) simulates a client that stops there."""

    def stopped(ch: Channel) -> RoleOutput:
        ch.expire(*map(params.step, STEPS))  # whatever peers still send us for this instance is stale
        return RoleOutput(None, None, finishers=[ch.address], metadata={"rows": 0, "dropped_at": drop_at})

    st = params.step

    def role(ch: Channel) -> RoleOutput:
        ch.reopen(*map(st, STEPS))  # an earlier instance with the same name may have closed them
        wait = ch.job.timeout + params.stage_timeout  # the server may rightly wait out a stage before answering
        x = masking.encode_vector(vector, params.fraction_bits, len(clients))
        if len(x) != params.dim:
            raise InvalidInput(f"vector of length {len(x)}, the job aggregates {params.dim}")
        mask_key = X25519PrivateKey.generate()
        if drop_at == "advertise":
            return stopped(ch)
        ch.send(server, st("advertise"), mask_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
        roster1 = _json(ch.recv(server, st("roster1"), wait), server, st("roster1"))
        try:
            keys = {int(i): bytes.fromhex(k) for i, k in roster1["keys"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MalformedMessage(server, st("roster1"), "key list does not parse") from exc
        if me not in keys or len(keys) < params.threshold or not set(keys) <= set(range(len(clients))):
            raise ProtocolViolation(
                server, st("roster1"), "roster omits us, is below threshold or names unknown clients"
            )
        if drop_at == "share":
            return stopped(ch)
        self_seed, held = _share_secrets(ch, me, mask_key, sorted(keys), params.threshold, clients, st("keyshares"))
        ch.send(server, st("shared"), b"{}")
        u2 = _indices(
            _json(ch.recv(server, st("roster2"), wait), server, st("roster2")), "clients", server, st("roster2")
        )
        if me not in u2 or not set(u2) <= set(keys) or len(u2) < params.threshold:
            raise ProtocolViolation(server, st("roster2"), "U2 omits us, is below threshold or is not within U1")
        if drop_at == "masked":
            return stopped(ch)
        seeds = {v: masking.pair_seed(mask_key, keys[v], me, v) for v in u2 if v != me}
        y = masking.masked_input(x, self_seed, me, seeds)
        if late_by:
            time.sleep(late_by)  # a straggler: its input reaches the server after the stage deadline
            ch.send(server, st("masked"), y.tobytes())
            return stopped(ch)
        ch.send(server, st("masked"), y.tobytes())
        request = _json(ch.recv(server, st("unmask"), wait), server, st("unmask"))
        u3 = _indices(request, "clients", server, st("unmask"))
        if me not in u3 or not set(u3) <= set(u2) or len(u3) < params.threshold:
            raise ProtocolViolation(server, st("unmask"), "U3 omits us, is below threshold or is not within U2")
        held.update(_receive_shares(ch, me, u2, clients, st("keyshares")))
        if drop_at == "unmask":
            return stopped(ch)
        answer = masking.unmask_shares(held, u3, [d for d in u2 if d not in u3])
        ch.send(
            server,
            st("unmasked"),
            json.dumps({k: {str(i): hex(s) for i, s in v.items()} for k, v in answer.items()}).encode(),
        )
        done = _json(ch.recv(server, st("done"), wait), server, st("done"))
        finishers = [clients[i] for i in _indices(done, "clients", server, st("done"))] + [server]
        return RoleOutput(None, None, finishers=finishers, metadata={"rows": 1})

    return role


def _share_secrets(
    ch: Channel,
    me: int,
    mask_key: X25519PrivateKey,
    u1: Sequence[int],
    threshold: int,
    clients: Sequence[Address],
    step: str,
) -> tuple[bytes, dict[int, tuple[int, int]]]:
    """Shamir-share our mask key and a fresh self seed among U1; returns the seed and our own shares."""
    self_seed = secrets.token_bytes(32)
    xs = [i + 1 for i in u1]
    key_shares = shamir.split(int.from_bytes(mask_key.private_bytes_raw(), "big"), xs, threshold)
    seed_shares = shamir.split(int.from_bytes(self_seed, "big"), xs, threshold)
    for i in u1:
        if i != me:
            ch.send(clients[i], step, json.dumps([hex(key_shares[i + 1]), hex(seed_shares[i + 1])]).encode())
    return self_seed, {me: (key_shares[me + 1], seed_shares[me + 1])}


def _receive_shares(
    ch: Channel, me: int, u2: Sequence[int], clients: Sequence[Address], step: str
) -> dict[int, tuple[int, int]]:
    """The (key share, seed share) each other client of U2 sent us."""
    held = {}
    for v in u2:
        if v != me:
            try:
                key_share, seed_share = json.loads(ch.recv(clients[v], step))
                held[v] = (int(key_share, 16), int(seed_share, 16))
            except (TypeError, ValueError) as exc:
                raise MalformedMessage(clients[v], step, "shares do not parse") from exc
    ch.expire(step)  # shares from clients outside U2 are never used
    return held


def _require(survivors: Sequence[int], params: AggregationParams, server: Address, step: str) -> None:
    if len(survivors) < params.threshold:
        raise TooManyDropouts(server, step, f"{len(survivors)} clients left, threshold is {params.threshold}")


def server_role(params: AggregationParams, clients: Sequence[Address]) -> Role:
    """The aggregator: learns the sum of the surviving clients' vectors and nothing else."""
    index = {a: i for i, a in enumerate(clients)}
    st = params.step

    def role(ch: Channel) -> RoleOutput:
        ch.reopen(*map(st, STEPS))
        wait = params.stage_timeout
        got = ch.collect(clients, st("advertise"), wait)
        ch.expire(st("advertise"))  # from here on, a straggler is a dropout: its late messages are set aside
        for a, k in got.items():
            if len(k) != 32:
                raise MalformedMessage(a, st("advertise"), f"a mask key of {len(k)} bytes, not 32")
        keys = {index[a]: k for a, k in got.items()}
        u1 = sorted(keys)
        _require(u1, params, ch.address, st("advertise"))
        for i in u1:
            ch.send(clients[i], st("roster1"), json.dumps({"keys": {str(j): keys[j].hex() for j in u1}}).encode())
        u2 = sorted(index[a] for a in ch.collect([clients[i] for i in u1], st("shared"), wait))
        ch.expire(st("shared"))
        _require(u2, params, ch.address, st("shared"))
        for i in u2:
            ch.send(clients[i], st("roster2"), json.dumps({"clients": u2}).encode())
        masked = {
            index[a]: np.frombuffer(y, dtype=np.uint64)
            for a, y in ch.collect([clients[i] for i in u2], st("masked"), wait).items()
        }
        ch.expire(st("masked"))  # a late masked input is never used, and never unmasked (see masking.py)
        for i, y in masked.items():
            if len(y) != params.dim:
                raise MalformedMessage(clients[i], st("masked"), f"vector of length {len(y)}, expected {params.dim}")
        u3 = sorted(masked)
        _require(u3, params, ch.address, st("masked"))
        for i in u3:
            ch.send(clients[i], st("unmask"), json.dumps({"clients": u3}).encode())
        answers = {
            index[a]: _json(r, a, st("unmasked"))
            for a, r in ch.collect([clients[i] for i in u3], st("unmasked"), wait).items()
        }
        ch.expire(st("unmasked"))
        u4 = sorted(answers)
        _require(u4, params, ch.address, st("unmasked"))
        dropped = [d for d in u2 if d not in u3]
        total = masking.unmask(masked, *_reconstruct(answers, u3, dropped, keys, clients, st("unmasked")), params.dim)
        value = masking.decode_vector(total, params.fraction_bits)
        result_hash = hash_result({"sum": value.tolist(), "clients": u3})
        finishers = [clients[i] for i in u4]
        for a in finishers:
            ch.send(a, st("done"), json.dumps({"clients": u4, "result_hash": result_hash.hex()}).encode())
        return RoleOutput(
            {"sum": value, "clients": u3, "dropped": sorted(set(range(len(clients))) - set(u3))},
            result_hash,
            finishers=[*finishers, ch.address],
        )

    return role


def _reconstruct(
    answers: Mapping[int, dict],
    u3: Sequence[int],
    dropped: Sequence[int],
    keys: Mapping[int, bytes],
    clients: Sequence[Address],
    step: str,
) -> tuple[dict[int, bytes], list[tuple[int, int, bytes]]]:
    """Self seeds of U3 and the pair seeds of (survivor, dropped) from the clients' shares."""

    def collect(kind: str, target: int) -> dict[int, int]:
        shares = {}
        for responder, answer in answers.items():
            try:
                shares[responder + 1] = int(answer[kind][str(target)], 16)
            except (KeyError, TypeError, ValueError) as exc:
                raise MalformedMessage(clients[responder], step, f"no {kind} share for client {target}") from exc
        return shares

    self_seeds = {u: shamir.combine(collect("b", u)).to_bytes(32, "big") for u in u3}
    pairs = []
    for d in dropped:
        key = X25519PrivateKey.from_private_bytes(shamir.combine(collect("key", d)).to_bytes(32, "big"))
        pairs += [(u, d, masking.pair_seed(key, keys[u], u, d)) for u in u3]
    return self_seeds, pairs


def secure_aggregate(
    clients: Sequence[Party],
    server: Party,
    vectors: Mapping[Address, np.ndarray],
    *,
    job_id: int,
    threshold: int,
    fraction_bits: int = 0,
    stage_timeout: float = 10.0,
    timeout: float = 60.0,
    failure_log: FailureLog | None = None,
    drop: Mapping[Address, str] | None = None,
    late: Mapping[Address, float] | None = None,
    record_view: bool = False,
    transport: TransportFactory = InProcessTransport,
) -> ProtocolResult[dict]:
    """Sum the clients' vectors at `server`; survives up to len(clients) − threshold dropouts.

    `drop` (client → stage in STAGES) and `late` (client → seconds) make clients stop or straggle,
    for tests and benchmarks of dropout handling.
    """
    drop, late = dict(drop or {}), dict(late or {})
    order = [c.address for c in clients]
    for owner in [*vectors, *drop, *late]:
        if owner not in order:
            raise NotAParty(owner, "is not a client of this aggregation")
    if not 1 < threshold <= len(order) or server.address in order:
        raise InvalidInput("need 1 < threshold ≤ clients and a server that is not a client")
    dims = {len(np.asarray(v)) for v in vectors.values()}
    if len(dims) != 1 or set(vectors) != set(order):
        raise InvalidInput("every client needs a vector, all of one length")
    params = AggregationParams(threshold, dims.pop(), fraction_bits, stage_timeout)
    job = Job(job_id, PROTOCOL, {p.address: p.identity for p in [*clients, server]}, timeout, record_view)
    roles = {
        a: client_role(i, np.asarray(vectors[a]), params, order, server.address, drop.get(a), late.get(a, 0.0))
        for i, a in enumerate(order)
    }
    roles[server.address] = server_role(params, order)
    outcomes = run_in_process(job, [*clients, server], roles, failure_log, transport)
    value = outcomes[server.address].value
    finishers = {
        a: o for a, o in outcomes.items() if a == server.address or order.index(a) in value["clients"] and o.result_hash
    }
    transcript, result_hash = agreed(finishers, PROTOCOL)
    meta = tuple(
        PartyMetadata(a, "client", 1 if i in value["clients"] else 0, {"dropped": i not in value["clients"]})
        for i, a in enumerate(order)
    )
    return ProtocolResult(
        PROTOCOL,
        job_id,
        value,
        result_hash,
        transcript,
        (*meta, PartyMetadata(server.address, "server", 0)),
        {"threshold": threshold, "fraction_bits": fraction_bits},
    )
