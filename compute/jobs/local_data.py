"""Reading a party's registered data file into the arrays its protocol role needs."""

from __future__ import annotations

import numpy as np

from compute.errors import InvalidInput
from compute.jobs.commitment import CommitmentError, read_rows
from compute.jobs.vertical import LocalTable
from compute.jobs.workspace import SourceFile


def load_table(source: SourceFile, label_column: str | None) -> LocalTable:
    """Ids, numeric features (every other column) and, if `label_column` is given, 0/1 labels."""
    try:
        columns, rows = read_rows(source.path, source.id_column)
    except CommitmentError as exc:
        raise InvalidInput(str(exc)) from None
    if label_column is not None and label_column not in columns:
        raise InvalidInput(f"{source.path} has no label column {label_column!r}")
    skip = {source.id_column, label_column}
    feature_index = [i for i, c in enumerate(columns) if c not in skip]
    id_index = columns.index(source.id_column)
    try:
        x = np.array([[float(row[i]) for i in feature_index] for row in rows], dtype=np.float64)
        y = None
        if label_column is not None:
            y = np.array([float(row[columns.index(label_column)]) for row in rows], dtype=np.float64)
    except ValueError as exc:
        raise InvalidInput(f"{source.path}: a feature or label is not a number ({exc})") from None
    if y is not None and not set(np.unique(y)) <= {0.0, 1.0}:
        raise InvalidInput(f"{source.path}: labels in {label_column!r} must be 0 or 1")
    return LocalTable(tuple(row[id_index] for row in rows), x.reshape(len(rows), len(feature_index)), y)


def load_ids(source: SourceFile) -> tuple[str, ...]:
    """The join keys of a data file (all PSI needs)."""
    try:
        columns, rows = read_rows(source.path, source.id_column)
    except CommitmentError as exc:
        raise InvalidInput(str(exc)) from None
    position = columns.index(source.id_column)
    return tuple(row[position] for row in rows)


def load_column(source: SourceFile, column: str) -> list[float]:
    """One numeric column of a data file."""
    try:
        columns, rows = read_rows(source.path, source.id_column)
    except CommitmentError as exc:
        raise InvalidInput(str(exc)) from None
    if column not in columns:
        raise InvalidInput(f"{source.path} has no column {column!r}")
    position = columns.index(column)
    try:
        return [float(row[position]) for row in rows]
    except ValueError as exc:
        raise InvalidInput(f"{source.path}: column {column!r} is not numeric ({exc})") from None
