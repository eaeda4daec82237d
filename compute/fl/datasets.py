"""The benchmark data sets: FATE's vertical splits shipped in compute/fl/data, and horizontal non-IID parts of them."""

from __future__ import annotations

import csv
import io
import lzma
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from compute.errors import InvalidInput

SHIPPED_DATA_DIR = Path(__file__).resolve().parent / "data"
DATA_DIR_ENV = "CUSTOS_DATA_DIR"
SPLITS = {"breast": "breast_hetero", "default_credit": "default_credit_hetero"}


class DatasetMissing(InvalidInput):
    """A benchmark CSV is not where it should be."""


def data_dir() -> Path:
    """Where the split CSVs live: $CUSTOS_DATA_DIR if set, else the copies shipped in compute/fl/data."""
    override = os.environ.get(DATA_DIR_ENV)
    return Path(override) if override else SHIPPED_DATA_DIR


@dataclass(frozen=True)
class VerticalSplit:
    """Rows aligned by id: the guest's labels and features, and each host's features."""

    ids: tuple[str, ...]
    y: np.ndarray
    guest: np.ndarray
    hosts: tuple[np.ndarray, ...]

    def joined(self) -> np.ndarray:
        """All features side by side (the centralised baseline's view)."""
        return np.hstack([self.guest, *self.hosts])


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    """The rows of `path` (a .csv), or of `path`.xz beside it when only the compressed copy exists."""
    packed = path.with_name(path.name + ".xz")
    if path.is_file():
        text = path.read_text()
    elif packed.is_file():
        text = lzma.decompress(packed.read_bytes()).decode()
    else:
        raise DatasetMissing(
            f"neither {path} nor {packed.name} found: set ${DATA_DIR_ENV} to the folder holding FATE's split CSVs"
        )
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if len(rows) < 2:
        raise DatasetMissing(f"{path} has no data rows")
    return rows[0], rows[1:]


def load_vertical(name: str) -> VerticalSplit:
    """FATE's guest/host split `name` ('breast' or 'default_credit'), host rows aligned to the guest's ids."""
    if name not in SPLITS:
        raise InvalidInput(f"unknown data set {name!r}; known: {sorted(SPLITS)}")
    stem = data_dir() / SPLITS[name]
    guest_header, guest_rows = _read(stem.with_name(stem.name + "_guest.csv"))
    _, host_rows = _read(stem.with_name(stem.name + "_host.csv"))
    if guest_header[:2] != ["id", "y"]:
        raise DatasetMissing(f"{name}: guest file must start with columns id,y")
    host_by_id = {row[0]: row[1:] for row in host_rows}
    ids = tuple(row[0] for row in guest_rows if row[0] in host_by_id)
    guest_by_id = {row[0]: row for row in guest_rows}
    y = np.array([float(guest_by_id[i][1]) for i in ids])
    guest = np.array([[float(v) for v in guest_by_id[i][2:]] for i in ids])
    host = np.array([[float(v) for v in host_by_id[i]] for i in ids])
    return VerticalSplit(ids, y, guest, (host,))


def split_hosts(split: VerticalSplit, parts: int) -> VerticalSplit:
    """The same rows with the host features cut column-wise among `parts` hosts."""
    features = np.hstack(split.hosts)
    if not 1 <= parts <= features.shape[1]:
        raise InvalidInput(f"cannot cut {features.shape[1]} host features among {parts} hosts")
    return VerticalSplit(split.ids, split.y, split.guest, tuple(np.array_split(features, parts, axis=1)))


def non_iid_parts(
    X: np.ndarray, y: np.ndarray, parts: int, alpha: float = 0.5, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rows dealt to `parts` holders, label proportions drawn from Dirichlet(alpha): label skew, none empty."""
    if parts < 1:
        raise InvalidInput("at least one part")
    rng = np.random.default_rng(seed)
    owners = np.empty(len(y), dtype=int)
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        shares = rng.dirichlet(np.full(parts, alpha))
        cuts = (np.cumsum(shares)[:-1] * len(rows)).astype(int)
        for owner, chunk in enumerate(np.split(rows, cuts)):
            owners[chunk] = owner
    for owner in range(parts):  # a holder with no rows cannot train: give it a few
        if not np.any(owners == owner):
            owners[rng.choice(len(y), size=max(1, len(y) // (10 * parts)), replace=False)] = owner
    return [(X[owners == k], y[owners == k]) for k in range(parts)]


@dataclass(frozen=True)
class RandomVerticalSplit:
    """A random vertical partition of a data set's pooled features, with an 80/20 train/test cut of its rows."""

    seed: int
    guest_columns: np.ndarray
    host_columns: tuple[np.ndarray, ...]
    train: np.ndarray  # row indices the parties train on (the guest holds out part of them itself)
    test: np.ndarray  # row indices nobody trains on

    def parts(self, X: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """(guest features, host features) of the rows of X, by this split's columns."""
        return X[:, self.guest_columns], tuple(X[:, c] for c in self.host_columns)


def random_vertical_split(
    features: int, rows: int, seed: int, max_hosts: int = 2, test_fraction: float = 0.2
) -> RandomVerticalSplit:
    """Columns dealt at random to a guest and 1..max_hosts hosts (each at least one), rows cut train/test."""
    if not 1 <= max_hosts < features or not 0 < test_fraction < 1 or rows < 10:
        raise InvalidInput("a random split needs 1 ≤ max_hosts < features, 0 < test_fraction < 1 and ≥ 10 rows")
    rng = np.random.default_rng(seed)
    hosts = int(rng.integers(1, max_hosts + 1))
    columns = rng.permutation(features)
    cuts = np.sort(rng.choice(np.arange(1, features), size=hosts, replace=False))
    parts = np.split(columns, cuts)
    order = rng.permutation(rows)
    test = int(round(rows * test_fraction))
    return RandomVerticalSplit(
        seed, np.sort(parts[0]), tuple(np.sort(p) for p in parts[1:]), order[test:], order[:test]
    )
