"""Salted Merkle commitments over a data source's rows, computed where the data lives.

Leaf `i` is `leaf_hash(salt_i ‖ row_i)` with `salt_i = HMAC-SHA256(secret, i)`: without the
salts a low-entropy row (a taxpayer id and a few small numbers) could be found by guessing
and checking it against a published proof. The secret stays with the data owner; the
chain sees only the root, the schema hash and the row count. Any edit, insertion,
deletion or reordering of rows changes the root.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from eth_utils import keccak

from compute.errors import InvalidInput
from ledger.merkle import MerkleTree, leaf_hash

# Cells are joined with the ASCII unit separator, which CSV cells here never contain,
# so that ("a,b", "c") and ("a", "b,c") cannot commit to the same row.
_CELL_SEPARATOR = "\x1f"


class CommitmentError(InvalidInput):
    """A data file cannot be committed (missing, empty, malformed, bad id column)."""


@dataclass(frozen=True)
class SourceCommitment:
    """What a provider registers on chain for one data file."""

    root: bytes
    schema_hash: bytes
    row_count: int
    columns: tuple[str, ...]


def new_secret() -> bytes:
    """A fresh 32-byte salt secret for a data source."""
    return secrets.token_bytes(32)


def _row_salt(secret: bytes, index: int) -> bytes:
    return hmac.new(secret, index.to_bytes(8, "big"), hashlib.sha256).digest()


def schema_hash(columns: tuple[str, ...]) -> bytes:
    """keccak256 of the column names joined by the unit separator."""
    return keccak(_CELL_SEPARATOR.join(columns).encode())


def read_file(path: Path) -> bytes:
    """A data file's bytes; CommitmentError if it is missing or unreadable."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CommitmentError(f"data file not found: {path}") from None
    except OSError as exc:
        raise CommitmentError(f"{path} cannot be read: {exc.strerror}") from None


def read_rows(path: Path, id_column: str) -> tuple[tuple[str, ...], list[list[str]]]:
    """Read a CSV file: its columns and rows, checking the id column exists and ids are unique."""
    return parse_rows(read_file(path), id_column, str(path))


def parse_rows(raw: bytes, id_column: str, name: str) -> tuple[tuple[str, ...], list[list[str]]]:
    """The columns and rows of CSV bytes (`name` says where they came from, for messages); checks as `read_rows`."""
    try:
        # utf-8-sig: a spreadsheet's "CSV UTF-8" export starts with a byte-order mark, not part of a column name
        reader = csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
        columns = tuple(next(reader, ()))
        rows = [row for row in reader if row]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CommitmentError(f"{name} is not a readable CSV file: {exc}") from None
    if not columns:
        raise CommitmentError(f"{name} is empty")
    if id_column not in columns:
        raise CommitmentError(f"{name} has no column {id_column!r} (columns: {', '.join(columns)})")
    for number, row in enumerate(rows, start=2):
        if len(row) != len(columns):
            raise CommitmentError(f"{name} line {number}: {len(row)} cells, header has {len(columns)}")
    position = columns.index(id_column)
    ids = [row[position] for row in rows]
    if len(set(ids)) != len(ids):
        raise CommitmentError(f"{name}: ids in column {id_column!r} are not unique")
    return columns, rows


def commit_rows(columns: tuple[str, ...], rows: list[list[str]], secret: bytes) -> SourceCommitment:
    """The salted Merkle commitment over `rows` (in order)."""
    if len(secret) < 16:
        raise CommitmentError("the salt secret must be at least 16 bytes")
    leaves = [leaf_hash(_row_salt(secret, i) + _CELL_SEPARATOR.join(row).encode()) for i, row in enumerate(rows)]
    tree = MerkleTree.from_leaves(leaves)
    return SourceCommitment(root=tree.root, schema_hash=schema_hash(columns), row_count=len(rows), columns=columns)


def commit_csv(path: Path, id_column: str, secret: bytes) -> SourceCommitment:
    """Read and commit a CSV data file."""
    columns, rows = read_rows(path, id_column)
    return commit_rows(columns, rows, secret)
