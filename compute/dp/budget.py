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
ε is rounded up to whole micro-ε (the chain's unit), δ is exact in atto-δ. A requester that
states a target ε instead of a noise multiplier gets the smallest σ (4 significant digits) whose
spend stays within it (`fedavg_noise_for`); the job then reserves the accountant's figure for that σ.
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


def fedavg_noise_for(doc: Mapping[str, Any], sources: int, target: int) -> dict[str, Any]:
    """The DP FedAvg document `doc` with the smallest noise multiplier (4 significant digits, rounded up)
    at which the accountant spends at most `target` micro-ε on each of `sources` sources."""
    if target <= 0:
        raise InvalidInput("the target epsilon must be more than 0")
    if not dict(doc.get("fedavg", {})).get("dp"):
        raise InvalidInput("the FedAvg document asks for no DP: give its dp parameters")

    def worst(sigma: float) -> int:
        spend = _fedavg_spend(_with_noise(doc, sigma), sources)
        assert spend is not None  # the document states dp
        return max(spend.epsilons)

    low, high = math.log(_SIGMA_RANGE[0]), math.log(_SIGMA_RANGE[1])
    if worst(math.exp(high)) > target:
        raise InvalidInput(f"no noise multiplier up to {_SIGMA_RANGE[1]:g} keeps epsilon within the target")
    for _ in range(60):  # bisection on log σ: the spend falls as σ grows
        middle = (low + high) / 2
        low, high = (middle, high) if worst(math.exp(middle)) > target else (low, middle)
    sigma = Decimal(math.exp(high))
    step = Decimal(1).scaleb(sigma.adjusted() - 3)  # the 4th significant digit
    rounded = sigma.quantize(step, rounding=ROUND_CEILING)  # up: a larger σ spends less, so the target holds
    return _with_noise(doc, float(rounded))


_SIGMA_RANGE = (1e-3, 1e6)  # the noise multipliers `fedavg_noise_for` searches


def _with_noise(doc: Mapping[str, Any], sigma: float) -> dict[str, Any]:
    fedavg = dict(doc.get("fedavg", {}))
    fedavg["dp"] = {**dict(fedavg.get("dp") or {}), "noise_multiplier": sigma}
    return {**doc, "fedavg": fedavg}


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

    try:
        params = FedAvgParams(**dict(doc.get("fedavg", {})))
    except TypeError as exc:
        raise InvalidInput(f"malformed FedAvg parameters: {exc}") from None
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
