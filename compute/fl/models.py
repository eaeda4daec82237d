"""numpy models as flat parameter vectors (what FedAvg averages): logistic regression and a one-hidden-layer MLP."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compute.errors import InvalidInput


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, overflow-safe."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@dataclass(frozen=True)
class LogisticModel:
    """p = σ(Xw + b); parameters [w, b]."""

    features: int

    @property
    def size(self) -> int:
        """Number of parameters."""
        return self.features + 1

    def init(self, seed: int = 0) -> np.ndarray:
        """Zero weights (the convex problem needs no symmetry breaking)."""
        return np.zeros(self.size)

    def predict(self, params: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Probabilities of class 1."""
        return sigmoid(X @ params[:-1] + params[-1])

    def gradient(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Gradient of the mean log loss."""
        residual = self.predict(params, X) - y
        return np.concatenate((X.T @ residual, [residual.sum()])) / len(y)


@dataclass(frozen=True)
class MLPModel:
    """p = σ(v·tanh(XW + c) + b): one hidden layer of `hidden` units."""

    features: int
    hidden: int = 16

    @property
    def size(self) -> int:
        """Number of parameters."""
        return self.features * self.hidden + 2 * self.hidden + 1

    def _unpack(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        d, h = self.features, self.hidden
        W = params[: d * h].reshape(d, h)
        c = params[d * h : d * h + h]
        v = params[d * h + h : d * h + 2 * h]
        return W, c, v, float(params[-1])

    def init(self, seed: int = 0) -> np.ndarray:
        """Glorot-scaled random weights (seeded: every client starts from the same model)."""
        rng = np.random.default_rng(seed)
        W = rng.normal(scale=np.sqrt(1.0 / self.features), size=(self.features, self.hidden))
        v = rng.normal(scale=np.sqrt(1.0 / self.hidden), size=self.hidden)
        return np.concatenate((W.ravel(), np.zeros(self.hidden), v, [0.0]))

    def predict(self, params: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Probabilities of class 1."""
        W, c, v, b = self._unpack(params)
        return sigmoid(np.tanh(X @ W + c) @ v + b)

    def gradient(self, params: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Gradient of the mean log loss by backpropagation."""
        W, c, v, b = self._unpack(params)
        hidden = np.tanh(X @ W + c)
        residual = sigmoid(hidden @ v + b) - y
        back = np.outer(residual, v) * (1 - hidden**2)
        grads = (X.T @ back, back.sum(axis=0), hidden.T @ residual, [residual.sum()])
        return np.concatenate([np.ravel(g) for g in grads]) / len(y)


Model = LogisticModel | MLPModel


def sgd(
    model: Model,
    params: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
) -> np.ndarray:
    """Plain mini-batch SGD from `params`; returns the new parameters (the local step of FedAvg too)."""
    if len(y) == 0:
        raise InvalidInput("cannot train on zero rows")
    rng = np.random.default_rng(seed)
    params = params.copy()
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch_size):
            rows = order[start : start + batch_size]
            params -= lr * model.gradient(params, X[rows], y[rows])
    return params


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = 1e-4, iterations: int = 50) -> np.ndarray:
    """Centralised plaintext logistic regression by Newton's method (the accuracy baseline): [w, b]."""
    Xb = np.hstack((X, np.ones((len(y), 1))))
    params = np.zeros(Xb.shape[1])
    for _ in range(iterations):
        p = sigmoid(Xb @ params)
        gradient = Xb.T @ (p - y) / len(y) + l2 * params
        hessian = (Xb * (p * (1 - p))[:, None]).T @ Xb / len(y) + l2 * np.eye(Xb.shape[1])
        step = np.linalg.solve(hessian, gradient)
        params -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return params
