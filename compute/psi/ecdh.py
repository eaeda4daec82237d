"""PSI by commutative Diffie–Hellman over Curve25519 (the construction of FATE 2.0's PSI).

Security assumption: semi-honest parties, decisional Diffie–Hellman in Curve25519's
prime-order subgroup, the hash to the curve modelled as a random oracle. Each id is hashed to
a curve point by RFC 9380's encoding for curve25519 (suite curve25519_XMD:SHA-512_ELL2_NU_,
compute/psi/hash_to_curve.py; the job id is part of the domain separation tag), so every
input is a point of the curve, never of its twist; X25519 with the party's clamped secret
scalar (a multiple of 8, which clears the cofactor) is a scalar multiplication on the x-line,
and scalar multiplications commute, so X25519(a, X25519(b, H(y))) = X25519(b, X25519(a, H(x)))
exactly when x = y.

The curve arithmetic is OpenSSL's X25519 through `cryptography` (already a dependency,
maintained, constant-time, ~24 µs per scalar multiplication here against ~66 µs for
PyNaCl's ed25519 and no ristretto255 exposed by PyNaCl). Batches run over every core.

Flow (receiver R learns the intersection; sender S at most its size, if configured):
  S → R  "sender-set": X25519(a, H(x)) for x in S's ids, shuffled (sent first, so that R
                       works on it while S doubles R's ids)
  R → S  "blinded":    X25519(b, H(y)) for y in R's ids, in R's order
  S → R  "doubled":    X25519(a, ·) of each, same order
  R: intersection = { y : doubled(y) ∈ { X25519(b, ·) of sender-set } }
  R → S  "size":       |intersection|  (only when `reveal_size` is set)
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Collection, Mapping, Sequence

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from compute.channel import Channel, Job
from compute.errors import InvalidInput, MalformedMessage, NotAParty, ProtocolViolation
from compute.party import Address, Party
from compute.psi.hash_to_curve import encode_to_u
from compute.psi.ids import PsiId, check_ids, id_text
from compute.psi.parallel import map_batches, map_blob
from compute.result import PartyMetadata, ProtocolResult, agreed, hash_result
from compute.session import Role, RoleOutput, TransportFactory, run_in_process
from compute.transcript import FailureLog
from compute.transport import InProcessTransport

PROTOCOL = "psi-ecdh-x25519"
POINT = 32


def hash_to_u(job_id: int, ident: str) -> bytes:
    """The u-coordinate an id hashes to in job `job_id` (RFC 9380 encode_to_curve, cofactor left to X25519)."""
    return encode_to_u(ident.encode(), f"CUSTOS-V02-CS02-with-curve25519_XMD:SHA-512_ELL2_NU_job-{job_id}".encode())


def _hash_and_multiply(scalar: bytes, job_id: int, idents: Sequence[str]) -> bytes:
    key = X25519PrivateKey.from_private_bytes(scalar)
    load, exchange = X25519PublicKey.from_public_bytes, key.exchange
    return b"".join([exchange(load(hash_to_u(job_id, i))) for i in idents])


def _multiply(scalar: bytes, blob: bytes) -> bytes:
    key = X25519PrivateKey.from_private_bytes(scalar)
    load, exchange = X25519PublicKey.from_public_bytes, key.exchange
    try:
        return b"".join([exchange(load(blob[i : i + POINT])) for i in range(0, len(blob), POINT)])
    except ValueError as exc:  # a low-order point gives the all-zero output OpenSSL refuses
        raise ValueError("low-order point") from exc


def check_points(data: bytes, sender: Address, step: str) -> bytes:
    """A payload of concatenated 32-byte points; MalformedMessage if it is not one."""
    if len(data) % POINT:
        raise MalformedMessage(sender, step, f"{len(data)} bytes is not a whole number of points")
    return data


def multiply_all(scalar: bytes, points: bytes, peer: Address, step: str) -> bytes:
    """X25519(scalar, p) for every point of the blob, over every core; ProtocolViolation on a low-order point."""
    try:
        return map_blob(_multiply, points, POINT, scalar)
    except ValueError as exc:
        raise ProtocolViolation(peer, step, "sent a low-order point") from exc


def points_of(blob: bytes) -> list[bytes]:
    """The 32-byte points of a blob, in order."""
    return [blob[i : i + POINT] for i in range(0, len(blob), POINT)]


def receiver_role(ids: Collection[PsiId], sender: Address, reveal_size: bool) -> Role:
    """The party that learns the intersection."""
    originals = check_ids(ids, "this party")
    idents = [id_text(i) for i in originals]

    def role(ch: Channel) -> RoleOutput:
        scalar = secrets.token_bytes(32)
        ch.send(sender, "blinded", b"".join(map_batches(_hash_and_multiply, idents, scalar, ch.job.job_id)))
        theirs = check_points(ch.recv(sender, "sender-set"), sender, "sender-set")
        matches = set(points_of(multiply_all(scalar, theirs, sender, "sender-set")))
        doubled = points_of(check_points(ch.recv(sender, "doubled"), sender, "doubled"))
        if len(doubled) != len(idents):
            raise ProtocolViolation(sender, "doubled", f"returned {len(doubled)} points for {len(idents)}")
        intersection = sorted(o for o, d in zip(originals, doubled, strict=True) if d in matches)
        if reveal_size:
            ch.send(sender, "size", json.dumps(len(intersection)).encode())
        return RoleOutput(intersection, hash_result(intersection), metadata={"rows": len(idents)})

    return role


def sender_role(ids: Collection[PsiId], receiver: Address, reveal_size: bool) -> Role:
    """The party that learns at most the intersection's size."""
    originals = check_ids(ids, "this party")
    idents = [id_text(i) for i in originals]

    def role(ch: Channel) -> RoleOutput:
        scalar = secrets.token_bytes(32)
        # Our own set first: the receiver can work on it while we double its blinded ids.
        shuffled = idents[:]
        secrets.SystemRandom().shuffle(shuffled)
        ch.send(receiver, "sender-set", b"".join(map_batches(_hash_and_multiply, shuffled, scalar, ch.job.job_id)))
        blinded = check_points(ch.recv(receiver, "blinded"), receiver, "blinded")
        ch.send(receiver, "doubled", multiply_all(scalar, blinded, receiver, "blinded"))
        size = None
        if reveal_size:
            try:
                size = int(json.loads(ch.recv(receiver, "size")))
            except (ValueError, TypeError) as exc:
                raise MalformedMessage(receiver, "size", "size is not an integer") from exc
        return RoleOutput(size, None, metadata={"rows": len(idents), "intersection_size": size})

    return role


def check_psi_inputs(receiver: Party, sender: Party, inputs: Mapping[Address, Collection[PsiId]]) -> None:
    """Refuse inputs owned by anyone but the two parties, or a party without input."""
    for owner in inputs:
        if owner not in (receiver.address, sender.address):
            raise NotAParty(owner, "holds PSI input but is neither receiver nor sender")
    for party in (receiver, sender):
        if party.address not in inputs:
            raise InvalidInput(f"no input for party {party.address}")
        check_ids(inputs[party.address], party.address)
    if receiver.address == sender.address:
        raise InvalidInput("PSI needs two distinct parties")


def psi_ecdh(
    receiver: Party,
    sender: Party,
    inputs: Mapping[Address, Collection[PsiId]],
    *,
    job_id: int,
    reveal_size: bool = False,
    timeout: float = 60.0,
    failure_log: FailureLog | None = None,
    record_view: bool = False,
    transport: TransportFactory = InProcessTransport,
) -> ProtocolResult[list[PsiId]]:
    """Run ECDH PSI in this process: `receiver` learns the intersection, `sender` at most its size."""
    return run_psi(
        PROTOCOL,
        receiver_role,
        sender_role,
        receiver,
        sender,
        inputs,
        job_id=job_id,
        reveal_size=reveal_size,
        timeout=timeout,
        failure_log=failure_log,
        record_view=record_view,
        transport=transport,
    )


def run_psi(
    protocol: str,
    receiver_role: Callable[..., Role],
    holder_role: Callable[..., Role],
    receiver: Party,
    holder: Party,
    inputs: Mapping[Address, Collection[PsiId]],
    *,
    job_id: int,
    reveal_size: bool,
    timeout: float,
    failure_log: FailureLog | None,
    record_view: bool,
    transport: TransportFactory,
) -> ProtocolResult[list[PsiId]]:
    """Run a two-party PSI's roles in this process: `receiver` learns the intersection."""
    check_psi_inputs(receiver, holder, inputs)
    job = Job(job_id, protocol, {p.address: p.identity for p in (receiver, holder)}, timeout, record_view)
    roles = {
        receiver.address: receiver_role(inputs[receiver.address], holder.address, reveal_size),
        holder.address: holder_role(inputs[holder.address], receiver.address, reveal_size),
    }
    outcomes = run_in_process(job, [receiver, holder], roles, failure_log, transport)
    return psi_result(protocol, job_id, outcomes, receiver.address, holder.address, reveal_size)


def psi_result(
    protocol: str, job_id: int, outcomes: Mapping, receiver: Address, sender: Address, reveal_size: bool
) -> ProtocolResult[list[PsiId]]:
    """Assemble the ProtocolResult of a two-party PSI run from both parties' outcomes."""
    transcript, result_hash = agreed(outcomes, protocol)
    r, s = outcomes[receiver], outcomes[sender]
    parties = (
        PartyMetadata(receiver, "receiver", r.metadata["rows"], {"learns": "intersection"}),
        PartyMetadata(
            sender,
            "sender",
            s.metadata["rows"],
            {"learns": "size" if reveal_size else "nothing", "intersection_size": s.metadata["intersection_size"]},
        ),
    )
    return ProtocolResult(protocol, job_id, r.value, result_hash, transcript, parties, {"reveal_size": reveal_size})
