"""A party's checked data snapshot as the arrays its protocol role needs (the file is never read again)."""

from __future__ import annotations

import numpy as np

from compute.errors import InvalidInput
from compute.jobs.snapshot import DataSnapshot
from compute.jobs.vertical import LocalTable


def load_table(data: DataSnapshot, label_column: str | None) -> LocalTable:
    """Ids, numeric features (every other column) and, if `label_column` is given, 0/1 labels."""
    columns, rows = data.columns, data.rows
    if label_column is not None and label_column not in columns:
        raise InvalidInput(f"{data.name} has no label column {label_column!r}")
    skip = {data.id_column, label_column}
    feature_index = [i for i, c in enumerate(columns) if c not in skip]
    id_index = columns.index(data.id_column)
    try:
        x = np.array([[float(row[i]) for i in feature_index] for row in rows], dtype=np.float64)
        y = None
        if label_column is not None:
            y = np.array([float(row[columns.index(label_column)]) for row in rows], dtype=np.float64)
    except ValueError as exc:
        raise InvalidInput(f"{data.name}: a feature or label is not a number ({exc})") from None
    if y is not None and not set(np.unique(y)) <= {0.0, 1.0}:
        raise InvalidInput(f"{data.name}: labels in {label_column!r} must be 0 or 1")
    return LocalTable(tuple(row[id_index] for row in rows), x.reshape(len(rows), len(feature_index)), y)


def load_ids(data: DataSnapshot) -> tuple[str, ...]:
    """The join keys of a data file (all PSI needs)."""
    position = data.columns.index(data.id_column)
    return tuple(row[position] for row in data.rows)


def load_column(data: DataSnapshot, column: str) -> list[float]:
    """One numeric column of a data file."""
    if column not in data.columns:
        raise InvalidInput(f"{data.name} has no column {column!r}")
    position = data.columns.index(column)
    try:
        return [float(row[position]) for row in data.rows]
    except ValueError as exc:
        raise InvalidInput(f"{data.name}: column {column!r} is not numeric ({exc})") from None
