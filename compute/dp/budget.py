"""What a DP job spends of each source's privacy budget, computed from its parameter document alone.

Every party derives the same figures from the same document, so the chain's numbers are checked
three times: before consenting (the reservation on chain must cover what the mechanism will
spend), at commit (the committing party reports exactly these figures) and at attestation
(an attester signs only a commit whose reported spend equals its own recomputation).

Mechanisms and accounting:
- secure statistics (`compute/stats`): every party adds a full discrete Laplace noise of scale
  Δ/(ε/4) to each of four aggregates, so the release is pure ε-DP towards any single party
  (basic composition over the four; δ = 0) and spends ε on each source. The document states
  `epsilon` (and `clip`); ε is taken exactly as written in decimal.
- FedAvg (`compute/fl/dp.py`): clipping to C, discrete Gaussian noise of multiplier σ, ρ-zCDP per
  release composed over `rounds` training releases with every client in (dropouts only lower
  the spend, so the figure is the reservation a full run needs), converted to (ε, δ) by the
  accountant of `compute.dp.accounting`. The coalition sums of the contribution phase add
  releases: a document asking for contribution scores is refused here (not budgeted yet).
ε is rounded up to whole micro-ε (the chain's unit), δ is exact in atto-δ.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from compute.dp.accounting import epsilon_from_rho
from compute.errors import InvalidInput
from ledger.errors import ProtocolValueError
from ledger.protocol import JobKind, privacy_hash
from ledger.units import EPSILON_UNIT, parse_delta


@dataclass(frozen=True)
class PrivacySpend:
    """A DP job's spend: micro-ε per source (aligned with the job's sources), atto-δ, and how it was computed."""

    epsilons: tuple[int, ...]
    delta: int
    accountant: Mapping[str, Any]

    @property
    def privacy_hash(self) -> bytes:
        """The hash the job's attestation covers (`ledger.protocol.privacy_hash`)."""
        return privacy_hash(self.epsilons, self.delta)


def job_spend(kind: int, doc: Mapping[str, Any], sources: int) -> PrivacySpend | None:
    """The spend of a job of chain kind `kind` with parameter document `doc` on `sources` sources;
    None when the document asks for no DP (an exact release). InvalidInput for a malformed document."""
    if kind == JobKind.SECURE_STATS:
        return _stats_spend(doc, sources)
    if kind == JobKind.FEDAVG:
        return _fedavg_spend(doc, sources)
    return None


def reservation_shortfall(
    spend: PrivacySpend | None, reserved: Sequence[int], reserved_delta: int, dp_job: bool
) -> str | None:
    """Why a party must not consent to a DP job (`dp_job`: it reserved budget), or None: its parameters
    ask for no DP, or the mechanism spends more than the job reserved on some source. A job that
    reserved nothing is an exact release, which the contract already allowed (or refused)."""
    if not dp_job:
        return None
    if spend is None:
        return "PRIVACY the job reserves budget but its parameters ask for no DP"
    if len(reserved) != len(spend.epsilons):
        return "PRIVACY the reservation does not cover every source"
    for i, (need, have) in enumerate(zip(spend.epsilons, reserved, strict=True)):
        if need > have:
            return f"PRIVACY source #{i}: the mechanism spends {need} micro-epsilon, the job reserved {have}"
    if spend.delta > reserved_delta:
        return f"PRIVACY delta {spend.delta} above the reserved {reserved_delta}"
    return None


def _epsilon_exact(value: Any, what: str) -> int:
    """Micro-ε of a document's ε, rounded up; the decimal text as written (no float rounding)."""
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise InvalidInput(f"{what} {value!r} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise InvalidInput(f"{what} must be a positive number, not {value!r}")
    return int((number * EPSILON_UNIT).to_integral_value(rounding=ROUND_CEILING))


def _delta_exact(value: Any) -> int:
    try:
        return parse_delta(str(value))
    except ProtocolValueError as exc:
        raise InvalidInput(str(exc)) from None


def _stats_spend(doc: Mapping[str, Any], sources: int) -> PrivacySpend | None:
    if doc.get("epsilon") is None:
        return None
    epsilon = _epsilon_exact(doc["epsilon"], "epsilon")
    accountant = {
        "mechanism": "discrete Laplace, full scale from every party, on count, sum, sum of squares and histogram",
        "composition": "basic: ε/4 per aggregate, 4 aggregates",
        "epsilon": str(doc["epsilon"]),
        "delta": "0",
        "clip": doc.get("clip"),
        "epsilonMicros": epsilon,
    }
    return PrivacySpend((epsilon,) * sources, 0, accountant)


def _fedavg_spend(doc: Mapping[str, Any], sources: int) -> PrivacySpend | None:
    from compute.fl.dp import release_rho
    from compute.fl.fedavg.client import FRACTION_BITS, aggregation
    from compute.fl.fedavg.params import FedAvgParams

    params = FedAvgParams(**dict(doc.get("fedavg", {})))
    if params.dp is None:
        return None
    if params.contribution:
        raise InvalidInput("a DP FedAvg job with contribution scores is not budgeted yet: open it without them")
    dims = int(doc.get("dims", 0))
    if dims < 1:
        raise InvalidInput("a DP FedAvg document states the model's parameter count (dims ≥ 1)")
    clients = [str(i) for i in range(sources)]  # the sources' owners, in source order
    rho = [0.0] * sources
    for t in range(params.rounds):
        sampled = params.sampled(t, clients)
        threshold = aggregation(len(sampled), dims, params, f"round-{t}").threshold
        for client in sampled:
            rho[int(client)] += release_rho(params.dp, dims, threshold, FRACTION_BITS)
    epsilons = [epsilon_from_rho(r, params.dp.delta) if r > 0 else 0.0 for r in rho]
    micros = tuple(max(1, math.ceil(e * EPSILON_UNIT)) for e in epsilons)
    accountant = {
        "mechanism": "clipped updates, discrete Gaussian noise shares, secure aggregation (compute/fl/dp.py)",
        "accountant": "rho-zCDP per release, composed over the rounds a source is sampled in, "
        "converted to (epsilon, delta) (Canonne, Kamath and Steinke 2020, Prop. 12)",
        "clipNorm": params.dp.clip_norm,
        "noiseMultiplier": params.dp.noise_multiplier,
        "rounds": params.rounds,
        "dims": dims,
        "rho": rho,
        "delta": str(params.dp.delta),
        "epsilon": epsilons,
        "epsilonMicros": list(micros),
    }
    return PrivacySpend(micros, _delta_exact(params.dp.delta), accountant)
