"""Model quality measures in numpy: rank-based AUC (ties averaged), accuracy, log loss."""

from __future__ import annotations

import numpy as np

from compute.errors import InvalidInput


def auc(y: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties counting half."""
    y = np.asarray(y).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != scores.shape:
        raise InvalidInput(f"{y.size} labels for {scores.size} scores")
    positives = int(np.sum(y == 1))
    negatives = y.size - positives
    if positives == 0 or negatives == 0:
        raise InvalidInput("AUC needs both classes among the labels")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(y.size, dtype=np.float64)
    # average rank within each run of tied scores
    boundaries = np.flatnonzero(np.diff(sorted_scores)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [y.size]))
    for start, end in zip(starts, ends):
        ranks[order[start:end]] = (start + end + 1) / 2.0
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def accuracy(y: np.ndarray, probabilities: np.ndarray, threshold: float = 0.5) -> float:
    """Share of rows whose thresholded probability equals the label."""
    return float(np.mean((np.asarray(probabilities) >= threshold) == (np.asarray(y) == 1)))


def log_loss(y: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean binary cross-entropy."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1 - 1e-12)
    y = np.asarray(y, dtype=np.float64)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
