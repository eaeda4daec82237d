"""The pure parts of hetero-LR: parameters, row split, the surrogate, its solver, the plaintext reference.

The log loss ℓ(u) = log(1 + e^u) − y·u cannot be evaluated under additive encryption, so
training minimises a quadratic model of it around a starting score u₀ that the guest knows
in plaintext: its own logistic regression on its own features (the hosts start at zero).
With Δ = u − u₀ (u = Σ_parties X_p w_p),

    Q(w) = (1/n) Σ_i [ℓ'(u₀_i)·Δ_i + ½·c_i·Δ_i²] + (λ/2)·|w|²,   c_i = max(σ'(u₀_i), CURVATURE_FLOOR),

one Newton step of logistic regression from the guest-only model (c floored so that rows the
guest alone already classifies confidently still let the hosts correct it). Its gradient is
Xᵀd/n + λw with residual d = ℓ'(u₀) + c⊙Δ: linear in every host's partial score, so the
guest forms [[d]] from the hosts' [[X_h w_h]] with per-row plaintext weights c.

Q is minimised by preconditioned conjugate gradients over full passes (one encrypted pass
per iteration, rows streamed in `batch_size` chunks): each party preconditions its own block
with its own block of the Hessian (`PCGBlock`; hosts, who do not know c, use the upper bound
¼), and only scalars (pᵀHp, rᵀz per party; α, β) cross between parties. After every
iteration the guest measures the same quadratic model of the log loss on its held-out rows,
under the protocol (`validation`); it stops once that validation loss has not improved by a
relative `tolerance` for `patience` iterations or the surrogate's decrease is below
`tolerance`, and every party keeps its weights from the best iteration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from compute.errors import InvalidInput
from compute.fl.models import fit_logistic, sigmoid

CURVATURE_FLOOR = 0.05  # smallest row weight c: a confident guest-only row still counts
CURVATURE_EXPONENT = -5  # c on the grid 16^-5 (encoded exactly when the guest weights [[Σu_h]])
HOST_CURVATURE = 0.25  # hosts do not know c; they precondition with its upper bound σ' ≤ ¼
RIDGE = 1e-9  # keeps a block invertible when a party holds a constant or duplicated column
LOG2 = float(np.log(2.0))


@dataclass(frozen=True)
class HeteroLRParams:
    """Training parameters every party agrees on (part of the job's parameter hash)."""

    epochs: int = 25  # conjugate-gradient iterations (one encrypted pass each) at most; early stopping ends sooner
    batch_size: int = 1024  # rows per message while streaming a pass
    l2: float | None = None  # None: 1/training rows (scikit-learn's default C = 1)
    validation_fraction: float = 0.1  # rows the guest holds out for early stopping and contribution scores
    patience: int = 10
    tolerance: float = 1e-4  # relative improvement that counts as progress (validation bound, surrogate)
    seed: int = 0
    n_bits: int = 2048
    cipher: str = "fast"  # "fast" (compute.paillier) or "phe" (straightforward baseline)
    obfuscation: str = "short-exponent"  # DJN h_s^a as in SecretFlow HEU's ZPaillier; "fresh" = r^n (phe's)
    workers: int = 1

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or (self.l2 or 0.0) < 0:
            raise InvalidInput("hetero-LR needs epochs ≥ 1, batch_size ≥ 1, l2 ≥ 0")
        if not 0 < self.validation_fraction < 0.5 or self.patience < 1 or self.tolerance < 0:
            raise InvalidInput("hetero-LR needs 0 < validation_fraction < 0.5, patience ≥ 1, tolerance ≥ 0")

    def to_json(self) -> dict[str, object]:
        """The parameters as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class RowSplit:
    """Aligned row indices: the rows trained on and the guest's held-out validation rows."""

    train: np.ndarray
    validation: np.ndarray


def split_rows(rows: int, params: HeteroLRParams) -> RowSplit:
    """The same seeded split at every party (hosts know which rows are held out, never their labels)."""
    held_out = int(round(rows * params.validation_fraction))
    if held_out < 2 or rows - held_out < 2:
        raise InvalidInput(f"{rows} rows are too few for a validation split of {params.validation_fraction}")
    order = np.random.default_rng([params.seed, 1]).permutation(rows)
    return RowSplit(np.sort(order[held_out:]), np.sort(order[:held_out]))


def chunks(split: RowSplit, params: HeteroLRParams) -> list[np.ndarray]:
    """The training rows of one pass, in `batch_size` chunks (one message each)."""
    return [split.train[start : start + params.batch_size] for start in range(0, len(split.train), params.batch_size)]


def chunks_per_pass(rows: int, params: HeteroLRParams) -> int:
    """How many chunks one pass has over `rows` aligned rows."""
    return len(chunks(split_rows(rows, params), params))


def l2_of(params: HeteroLRParams, split: RowSplit) -> float:
    """The L2 weight: as given, or 1/training rows."""
    return params.l2 if params.l2 is not None else 1.0 / len(split.train)


def guest_start(X: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """The guest's own logistic regression on its training rows (X with the intercept column last)."""
    return fit_logistic(X[:, :-1], y, l2=l2)


def curvature(start_score: np.ndarray) -> np.ndarray:
    """Per-row weights c = max(σ'(u₀), floor), on the grid 16^CURVATURE_EXPONENT so that encrypted and plain agree."""
    p = sigmoid(start_score)
    scale = 16.0**-CURVATURE_EXPONENT
    weights: np.ndarray = np.rint(np.maximum(p * (1 - p), CURVATURE_FLOOR) * scale) / scale
    return weights


def start_slope(start_score: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ℓ'(u₀) = σ(u₀) − y."""
    slope: np.ndarray = sigmoid(start_score) - y
    return slope


class PCGBlock:
    """One party's block of preconditioned conjugate gradients on the surrogate Q.

    It holds its weights w, residual r = −∇Q, preconditioned residual z = M⁻¹r and direction
    p; every iteration it learns ∇Q at the probe w + p from an encrypted pass, so that
    Hp = ∇Q(w + p) + r (Q is quadratic), and shares only pᵀHp and rᵀz.
    """

    def __init__(
        self, X: np.ndarray, weights: np.ndarray, row_weight: float | np.ndarray, l2: float, penalised: np.ndarray
    ) -> None:
        self._penalised, self._l2 = penalised.astype(np.float64), l2
        weighted = X * np.broadcast_to(np.asarray(row_weight, dtype=np.float64), (len(X),))[:, None]
        hessian = weighted.T @ X / len(X) + np.diag(l2 * self._penalised + RIDGE)
        self._inverse = np.linalg.inv(hessian)
        self.weights = weights.astype(np.float64)
        width = len(weights)
        self.r, self.z, self.p, self._hp = np.zeros(width), np.zeros(width), np.zeros(width), np.zeros(width)

    def gradient(self, gradient_sum: np.ndarray, rows: int, at: np.ndarray) -> np.ndarray:
        """∇Q_block at `at` from Σ_rows x·d (the decrypted pass)."""
        gradient: np.ndarray = gradient_sum / rows + self._l2 * self._penalised * at
        return gradient

    def start(self, gradient: np.ndarray) -> float:
        """From ∇Q at the start: r, z, p; returns this block's rᵀz."""
        self.r = -gradient
        self.z = self._inverse @ self.r
        self.p = self.z.copy()
        return float(self.r @ self.z)

    def probe(self) -> np.ndarray:
        """Where the next pass evaluates ∇Q: w + p."""
        return self.weights + self.p

    def curvature(self, probe_gradient: np.ndarray) -> float:
        """Hp = ∇Q(w + p) + r; returns this block's pᵀHp."""
        self._hp = probe_gradient + self.r
        return float(self.p @ self._hp)

    def advance(self, alpha: float) -> float:
        """w += αp, r −= αHp, z = M⁻¹r; returns this block's new rᵀz."""
        self.weights = self.weights + alpha * self.p
        self.r = self.r - alpha * self._hp
        self.z = self._inverse @ self.r
        return float(self.r @ self.z)

    def turn(self, beta: float) -> None:
        """p = z + βp."""
        self.p = self.z + beta * self.p


class EarlyStopping:
    """The guest's rule: remember the best validation bound; stop after `patience` epochs without progress."""

    def __init__(self, params: HeteroLRParams) -> None:
        self.best, self.best_epoch, self._stale, self._params = float("inf"), -1, 0, params

    def update(self, loss: float, epoch: int, converged: bool = False) -> tuple[bool, bool]:
        """(improved, stop) after `epoch` measured `loss`; `converged` when the training objective stalled."""
        improved = loss < self.best - self._params.tolerance * abs(self.best) if self.best_epoch >= 0 else True
        if improved:
            self.best, self.best_epoch, self._stale = loss, epoch, 0
        else:
            self._stale += 1
        return improved, converged or self._stale >= self._params.patience or epoch + 1 >= self._params.epochs


def with_intercept(X: np.ndarray) -> np.ndarray:
    """X with a column of ones (the guest's intercept)."""
    return np.hstack((X, np.ones((X.shape[0], 1))))


def intercept_mask(width: int) -> np.ndarray:
    """The guest's L2 mask: every weight but the last (the intercept)."""
    mask = np.ones(width)
    mask[-1] = 0.0
    return mask


def step_length(rho: float, curvature: float) -> float:
    """α = rᵀz / pᵀHp, or 0 once the direction has no curvature left (converged)."""
    return rho / curvature if curvature > 0 else 0.0


def validation_terms(
    start_score: np.ndarray, guest_delta: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """The surrogate on validation rows, split by who can compute what.

    Σ_i ℓ(u₀) + ℓ'(u₀)(Δ_g + U) + ½c(Δ_g + U)² = plain + Σ linear_i·U_i + Σ square_i·U_i²,
    with U the hosts' summed scores: (plain, linear, square) for the guest's rows.
    """
    slope, c = start_slope(start_score, y), curvature(start_score)
    loss = np.logaddexp(0.0, start_score) - y * start_score
    return float(np.sum(loss + slope * guest_delta + 0.5 * c * guest_delta**2)), slope + c * guest_delta, 0.5 * c


def reference_training(
    guest: np.ndarray, hosts: Sequence[np.ndarray], y: np.ndarray, params: HeteroLRParams
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The protocol's arithmetic in plaintext (no encryption): what the encrypted run must reproduce."""
    if len(np.unique(y)) != 2 or not set(np.unique(y)) <= {0.0, 1.0}:
        raise InvalidInput("labels must be 0/1 with both classes present")
    split = split_rows(len(y), params)
    t, v = split.train, split.validation
    Xg, l2 = with_intercept(guest), l2_of(params, split)
    w0 = guest_start(Xg[t], y[t], l2)
    c, slope = curvature(Xg[t] @ w0), start_slope(Xg[t] @ w0, y[t])
    blocks = [PCGBlock(Xg[t], w0, c, l2, intercept_mask(Xg.shape[1]))]
    blocks += [PCGBlock(h[t], np.zeros(h.shape[1]), HOST_CURVATURE, l2, np.ones(h.shape[1])) for h in hosts]
    features = [Xg, *hosts]

    def gradients(points: Sequence[np.ndarray]) -> list[np.ndarray]:
        d = slope + c * (Xg[t] @ (points[0] - w0) + sum(h[t] @ q for h, q in zip(hosts, points[1:])))
        return [b.gradient(X[t].T @ d, len(t), q) for b, X, q in zip(blocks, features, points)]

    rho = sum(b.start(g) for b, g in zip(blocks, gradients([b.weights for b in blocks])))
    best, stopping, objective = [b.weights for b in blocks], EarlyStopping(params), 0.0
    for epoch in range(params.epochs):
        probes = [b.probe() for b in blocks]
        alpha = step_length(rho, sum(b.curvature(g) for b, g in zip(blocks, gradients(probes))))
        new_rho = sum(b.advance(alpha) for b in blocks)
        decrease, objective = 0.5 * alpha * rho, objective - 0.5 * alpha * rho
        plain, linear, square = validation_terms(Xg[v] @ w0, Xg[v] @ (blocks[0].weights - w0), y[v])
        U = sum(h[v] @ b.weights for h, b in zip(hosts, blocks[1:]))
        loss = (plain + float(linear @ U) + float(square @ (U * U))) / len(v)
        improved, stop = stopping.update(loss, epoch, decrease <= params.tolerance * abs(objective))
        if improved:
            best = [b.weights for b in blocks]
        if stop:
            break
        beta, rho = new_rho / rho if rho > 0 else 0.0, new_rho
        for b in blocks:
            b.turn(beta)
    return best[0], best[1:]
