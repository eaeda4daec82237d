"""Secure statistics among n parties: count, sum, mean, variance and histogram of their columns.

Each party encodes its column in fixed point, computes local aggregates (count, Σx, Σx²,
histogram counts), optionally adds its own full discrete Laplace noise (compute/stats/noise.py:
ε-DP towards every single party, the receiver included), splits the vector into n
additive shares (compute/stats/sharing.py) and sends one to each party ("shares"). Each
party adds what it holds and sends that partial sum to the receiver ("partial"), who alone
reconstructs. No party sees another's column or local aggregates; the receiver sees only
the totals. Security assumption: semi-honest parties, no collusion of all but one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from compute.channel import Channel, Job
from compute.errors import EncodingOverflow, InvalidInput, MalformedMessage, NotAParty
from compute.party import Address, Party
from compute.result import PartyMetadata, ProtocolResult, agreed, hash_result
from compute.session import Role, RoleOutput, TransportFactory, run_in_process
from compute.stats.fixedpoint import DEFAULT_FRACTION_BITS, DEFAULT_MAX_ABS, encode
from compute.stats.noise import party_noise
from compute.stats.sharing import MODULUS, add, check_headroom, share, to_signed
from compute.transcript import FailureLog
from compute.transport import InProcessTransport

PROTOCOL = "secure-stats-additive"


@dataclass(frozen=True)
class StatsParams:
    """What to compute: histogram bin edges, fixed-point bits, value bound, optional DP epsilon and clip range."""

    bins: tuple[float, ...] = ()
    fraction_bits: int = DEFAULT_FRACTION_BITS
    max_abs: float = DEFAULT_MAX_ABS
    epsilon: float | None = None
    clip: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if list(self.bins) != sorted(self.bins) or len(set(self.bins)) != len(self.bins):
            raise InvalidInput("histogram bin edges must be strictly increasing")
        if self.epsilon is not None and (self.epsilon <= 0 or self.clip is None):
            raise InvalidInput("differential privacy needs epsilon > 0 and a clip range (lo, hi)")

    def sensitivities(self) -> list[int]:
        """How much one row can move each encoded aggregate: count 1, Σx and Σx² by the clip bound, histogram 1 (L1)."""
        bound = max(abs(self.clip[0]), abs(self.clip[1])) if self.clip else self.max_abs
        encoded = math.ceil(bound * (1 << self.fraction_bits))  # rounding may add up to ½ unit
        return [1, encoded, encoded * encoded] + [1] * self.histogram_size

    def noise_scales(self) -> list[Fraction]:
        """Each party's discrete Laplace scale per aggregate (encoded units): ε split evenly over count, sum,
        sum of squares and histogram, scale = sensitivity / (ε/4)."""
        if self.epsilon is None or self.clip is None:
            return [Fraction(0)] * (3 + self.histogram_size)
        per_statistic = Fraction(self.epsilon) / 4
        return [Fraction(d) / per_statistic for d in self.sensitivities()]

    @property
    def histogram_size(self) -> int:
        """Number of bins: len(edges) − 1, values outside the edges are not counted."""
        return max(len(self.bins) - 1, 0)

    def to_json(self) -> dict[str, object]:
        """The parameters as recorded with the result."""
        return {
            "bins": list(self.bins),
            "fraction_bits": self.fraction_bits,
            "epsilon": self.epsilon,
            "epsilon_per_statistic": None if self.epsilon is None else self.epsilon / 4,
            "noise": None if self.epsilon is None else "discrete Laplace, full scale from every party",
            "clip": list(self.clip) if self.clip else None,
        }


@dataclass(frozen=True)
class Statistics:
    """The released statistics (noisy when epsilon is set)."""

    count: float
    sum: float
    mean: float | None
    variance: float | None
    histogram: tuple[float, ...] = field(default=())
    epsilon: float | None = None  # the DP budget spent on this release (None: exact, no noise)

    def to_json(self) -> dict[str, object]:
        """JSON form, the basis of the result hash."""
        return {
            "count": self.count,
            "sum": self.sum,
            "mean": self.mean,
            "variance": self.variance,
            "histogram": list(self.histogram),
            "epsilon": self.epsilon,
        }


def local_aggregates(column: Sequence[float], params: StatsParams, parties: int) -> list[int]:
    """[count, Σx, Σx², bin counts…] of one party's column, encoded and (if DP) noised."""
    if params.clip is not None:
        lo, hi = params.clip
        column = [min(max(x, lo), hi) for x in column]
    encoded = encode(column, params.fraction_bits, params.max_abs)
    hist = [0] * params.histogram_size
    for x in column:
        for b in range(params.histogram_size):
            if params.bins[b] <= x < params.bins[b + 1] or (b == params.histogram_size - 1 and x == params.bins[-1]):
                hist[b] += 1
                break
    values = [len(encoded), sum(encoded), sum(v * v for v in encoded), *hist]
    values = [v + party_noise(s) for v, s in zip(values, params.noise_scales(), strict=True)]
    check_headroom(values, parties)
    return values


def finalize(totals: Sequence[int], params: StatsParams) -> Statistics:
    """The statistics from reconstructed totals, computed exactly on the encoded values."""
    count, s1, s2, *hist = (to_signed(t) for t in totals)
    scale = 1 << params.fraction_bits
    mean = variance = None
    if count > 0:
        mean = float(Fraction(s1, count * scale))
        variance = max(float(Fraction(count * s2 - s1 * s1, count * count * scale * scale)), 0.0)
    return Statistics(
        float(count), float(Fraction(s1, scale)), mean, variance, tuple(float(h) for h in hist), params.epsilon
    )


def _decode_vector(data: bytes, size: int, sender: Address, step: str) -> list[int]:
    try:
        values = [int(v, 16) for v in json.loads(data)]
    except (ValueError, TypeError) as exc:
        raise MalformedMessage(sender, step, "share vector does not parse") from exc
    if len(values) != size or any(not 0 <= v < MODULUS for v in values):
        raise MalformedMessage(sender, step, f"expected {size} ring elements")
    return values


def party_role(column: Sequence[float], params: StatsParams, order: Sequence[Address], receiver: Address) -> Role:
    """One data holder's role (the receiver is also a data holder)."""

    def role(ch: Channel) -> RoleOutput:
        size = 3 + params.histogram_size
        shares = share(local_aggregates(column, params, len(order)), len(order))
        for peer, vector in zip(order, shares, strict=True):
            if peer != ch.address:
                ch.send(peer, "shares", json.dumps([hex(v) for v in vector]).encode())
        held = [shares[order.index(ch.address)]] + [
            _decode_vector(ch.recv(p, "shares"), size, p, "shares") for p in order if p != ch.address
        ]
        partial = add(held)
        if ch.address != receiver:
            ch.send(receiver, "partial", json.dumps([hex(v) for v in partial]).encode())
            return RoleOutput(None, None, metadata={"rows": len(column)})
        partials = [partial] + [
            _decode_vector(ch.recv(p, "partial"), size, p, "partial") for p in order if p != receiver
        ]
        stats = finalize(add(partials), params)
        return RoleOutput(stats, hash_result(stats.to_json()), metadata={"rows": len(column)})

    return role


def secure_stats(
    parties: Sequence[Party],
    columns: Mapping[Address, Sequence[float]],
    *,
    job_id: int,
    params: StatsParams | None = None,
    receiver: Address | None = None,
    timeout: float = 60.0,
    failure_log: FailureLog | None = None,
    record_view: bool = False,
    transport: TransportFactory = InProcessTransport,
) -> ProtocolResult[Statistics]:
    """Run secure statistics in this process; only `receiver` (default: first party) learns them."""
    params = params or StatsParams()
    order = [p.address for p in parties]
    receiver = receiver or order[0]
    check_stats_inputs(order, columns, receiver)
    for owner in order:
        try:
            encode(columns[owner], params.fraction_bits, params.max_abs)  # NaN, text, range: refused before sending
        except (EncodingOverflow, TypeError) as exc:
            raise InvalidInput(f"the column of {owner}: {exc}") from exc
    job = Job(job_id, PROTOCOL, {p.address: p.identity for p in parties}, timeout, record_view)
    roles = {a: party_role(columns[a], params, order, receiver) for a in order}
    outcomes = run_in_process(job, parties, roles, failure_log, transport)
    transcript, result_hash = agreed(outcomes, PROTOCOL)
    meta = tuple(
        PartyMetadata(a, "receiver" if a == receiver else "contributor", outcomes[a].metadata["rows"]) for a in order
    )
    return ProtocolResult(PROTOCOL, job_id, outcomes[receiver].value, result_hash, transcript, meta, params.to_json())


def check_stats_inputs(order: Sequence[Address], columns: Mapping[Address, Sequence[float]], receiver: Address) -> None:
    """Refuse columns of outsiders, parties without a column, a receiver outside, fewer than 2 parties."""
    if len(order) < 2 or len(set(order)) != len(order):
        raise InvalidInput("secure statistics needs at least two distinct parties")
    for owner in columns:
        if owner not in order:
            raise NotAParty(owner, "holds a column but is not a party")
    for a in order:
        if a not in columns:
            raise InvalidInput(f"no column for party {a}")
    if receiver not in order:
        raise NotAParty(receiver, "the receiver must be one of the parties")
