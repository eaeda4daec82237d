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
Stragglers (Bonawitz et al. semantics): a client that misses a stage's deadline is dropped from
the round for good. The server sets its late messages aside unread and sends it "dropped" in
place of the next message it awaits, so an honest but slow client learns the round ended
without it and returns (in FedAvg, to take part in the next round) instead of timing out.
Any stage with fewer than `threshold` clients aborts with TooManyDropouts naming the first
client that missed the deadline: no partial sum.

Floats are encoded in fixed point with `fraction_bits` bits (default `FLOAT_FRACTION_BITS` for
float vectors, 0 for integer ones): each entry is rounded to a multiple of 2^-f, so the sum of n
vectors is within n·2^-(f+1) of the real sum per entry; `fraction_bits=0` with non-integral
floats is refused (EncodingOverflow), never silently rounded.
"""

from __future__ import annotations

import json
import secrets
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
STEPS = ("advertise", "roster1", "keyshares", "shared", "roster2", "masked", "unmask", "unmasked", "done", "dropped")
FLOAT_FRACTION_BITS = 32  # float vectors by default: entries rounded to 2^-33, sums within n·2^-33


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
) -> Role:
    """Client `me` (its index in `clients`); `drop_at` (a stage name) simulates a client that stops there.

    Its output's value is {"accepted": U3, the clients whose inputs are in the sum}; a client that
    was dropped (or stopped) also gets "dropped_at", with "accepted" None unless its input was
    already in U3 when it stopped.
    """

    st = params.step

    def stopped(ch: Channel, at: str, accepted: list[int] | None = None) -> RoleOutput:
        ch.expire(*map(st, STEPS))  # whatever peers still send us for this instance is stale
        return RoleOutput(
            {"accepted": accepted, "dropped_at": at},
            None,
            finishers=[ch.address],
            metadata={"rows": 0, "dropped_at": at},
        )

    def from_server(ch: Channel, step: str, wait: float) -> dict | None:
        """The server's message at `step`, or None if it told us we were dropped."""
        got, data = ch.recv_one_of(server, (st(step), st("dropped")), wait)
        return None if got == st("dropped") else _json(data, server, got)

    def role(ch: Channel) -> RoleOutput:
        ch.reopen(*map(st, STEPS))  # an earlier instance with the same name may have closed them
        wait = ch.job.timeout + params.stage_timeout  # the server may rightly wait out a stage before answering
        x = masking.encode_vector(vector, params.fraction_bits, len(clients))
        if len(x) != params.dim:
            raise InvalidInput(f"vector of length {len(x)}, the job aggregates {params.dim}")
        mask_key = X25519PrivateKey.generate()
        if drop_at == "advertise":
            return stopped(ch, "advertise")
        ch.send(server, st("advertise"), mask_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
        roster1 = from_server(ch, "roster1", wait)
        if roster1 is None:
            return stopped(ch, "advertise")
        try:
            keys = {int(i): bytes.fromhex(k) for i, k in roster1["keys"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MalformedMessage(server, st("roster1"), "key list does not parse") from exc
        if me not in keys or len(keys) < params.threshold or not set(keys) <= set(range(len(clients))):
            raise ProtocolViolation(
                server, st("roster1"), "roster omits us, is below threshold or names unknown clients"
            )
        if drop_at == "share":
            return stopped(ch, "share")
        self_seed, held = _share_secrets(ch, me, mask_key, sorted(keys), params.threshold, clients, st("keyshares"))
        ch.send(server, st("shared"), b"{}")
        roster2 = from_server(ch, "roster2", wait)
        if roster2 is None:
            return stopped(ch, "share")
        u2 = _indices(roster2, "clients", server, st("roster2"))
        if me not in u2 or not set(u2) <= set(keys) or len(u2) < params.threshold:
            raise ProtocolViolation(server, st("roster2"), "U2 omits us, is below threshold or is not within U1")
        if drop_at == "masked":
            return stopped(ch, "masked")
        seeds = {v: masking.pair_seed(mask_key, keys[v], me, v) for v in u2 if v != me}
        ch.send(server, st("masked"), masking.masked_input(x, self_seed, me, seeds).tobytes())
        request = from_server(ch, "unmask", wait)
        if request is None:
            return stopped(ch, "masked")
        u3 = _indices(request, "clients", server, st("unmask"))
        if me not in u3 or not set(u3) <= set(u2) or len(u3) < params.threshold:
            raise ProtocolViolation(server, st("unmask"), "U3 omits us, is below threshold or is not within U2")
        held.update(_receive_shares(ch, me, u2, clients, st("keyshares")))
        if drop_at == "unmask":
            return stopped(ch, "unmask", u3)  # our input is in U3: the sum includes it
        answer = masking.unmask_shares(held, u3, [d for d in u2 if d not in u3])
        ch.send(
            server,
            st("unmasked"),
            json.dumps({k: {str(i): hex(s) for i, s in v.items()} for k, v in answer.items()}).encode(),
        )
        done = from_server(ch, "done", wait)
        if done is None:
            return stopped(ch, "unmask", u3)
        finishers = [clients[i] for i in _indices(done, "clients", server, st("done"))] + [server]
        return RoleOutput({"accepted": u3}, None, finishers=finishers, metadata={"rows": 1})

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


def _next_stage(
    ch: Channel,
    before: Sequence[int],
    after: Sequence[int],
    params: AggregationParams,
    clients: Sequence[Address],
    step: str,
) -> None:
    """Tell the clients of `before` missing from `after` that the round goes on without them; abort below threshold.

    The first client that missed the deadline is named as the party at fault, not the server.
    """
    missing = [i for i in before if i not in after]
    if len(after) < params.threshold:
        culprit = clients[missing[0]] if missing else ch.address
        raise TooManyDropouts(
            culprit,
            step,
            f"{len(after)} clients left, threshold is {params.threshold};"
            f" missed the deadline: {', '.join(clients[i] for i in missing)}",
        )
    for i in missing:
        ch.send(clients[i], params.step("dropped"), json.dumps({"stage": step}).encode())


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
        _next_stage(ch, range(len(clients)), u1, params, clients, st("advertise"))
        for i in u1:
            ch.send(clients[i], st("roster1"), json.dumps({"keys": {str(j): keys[j].hex() for j in u1}}).encode())
        u2 = sorted(index[a] for a in ch.collect([clients[i] for i in u1], st("shared"), wait))
        ch.expire(st("shared"))
        _next_stage(ch, u1, u2, params, clients, st("shared"))
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
        _next_stage(ch, u2, u3, params, clients, st("masked"))
        for i in u3:
            ch.send(clients[i], st("unmask"), json.dumps({"clients": u3}).encode())
        answers = {
            index[a]: _json(r, a, st("unmasked"))
            for a, r in ch.collect([clients[i] for i in u3], st("unmasked"), wait).items()
        }
        ch.expire(st("unmasked"))
        u4 = sorted(answers)
        _next_stage(ch, u3, u4, params, clients, st("unmasked"))
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
    fraction_bits: int | None = None,
    stage_timeout: float = 10.0,
    timeout: float = 60.0,
    failure_log: FailureLog | None = None,
    drop: Mapping[Address, str] | None = None,
    record_view: bool = False,
    transport: TransportFactory = InProcessTransport,
) -> ProtocolResult[dict]:
    """Sum the clients' vectors at `server`; survives up to len(clients) − threshold dropouts or stragglers.

    `fraction_bits`: None picks FLOAT_FRACTION_BITS if any vector is float, else 0 (see the module
    docstring for the precision). `drop` (client → stage in STAGES) makes clients stop there, for
    tests and benchmarks of dropout handling.
    """
    drop = dict(drop or {})
    order = [c.address for c in clients]
    for owner in [*vectors, *drop]:
        if owner not in order:
            raise NotAParty(owner, "is not a client of this aggregation")
    if not 1 < threshold <= len(order) or server.address in order or len(set(order)) != len(order):
        raise InvalidInput("need 1 < threshold ≤ clients, distinct clients and a server that is not a client")
    if set(vectors) != set(order):
        raise InvalidInput("every client needs a vector")
    arrays = {a: check_vector(v, a) for a, v in vectors.items()}
    dims = {len(v) for v in arrays.values()}
    if len(dims) != 1:
        raise InvalidInput(f"every vector must have one length, got lengths {sorted(dims)}")
    if fraction_bits is None:
        fraction_bits = FLOAT_FRACTION_BITS if any(v.dtype.kind == "f" for v in arrays.values()) else 0
    params = AggregationParams(threshold, dims.pop(), fraction_bits, stage_timeout)
    job = Job(job_id, PROTOCOL, {p.address: p.identity for p in [*clients, server]}, timeout, record_view)
    for a, v in arrays.items():
        masking.encode_vector(v, fraction_bits, len(order), owner=a)  # refuse before anything is sent
    roles = {a: client_role(i, arrays[a], params, order, server.address, drop.get(a)) for i, a in enumerate(order)}
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
        {"threshold": threshold, "fraction_bits": fraction_bits, "precision": len(order) * 2.0 ** -(fraction_bits + 1)},
    )


def check_vector(vector: object, owner: Address) -> np.ndarray:
    """One client's input as a non-empty 1-d numeric array; InvalidInput naming the owner otherwise."""
    try:
        array = np.asarray(vector)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"the vector of {owner} is not an array: {exc}") from exc
    if array.ndim != 1 or array.size == 0:
        raise InvalidInput(f"the vector of {owner} must be one-dimensional and non-empty, has shape {array.shape}")
    if array.dtype.kind not in "iuf" or array.dtype == np.bool_:
        raise InvalidInput(f"the vector of {owner} holds {array.dtype}, not numbers")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise InvalidInput(f"the vector of {owner} has NaN or infinite entries")
    return array
