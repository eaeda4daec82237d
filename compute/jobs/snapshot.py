"""A data file read once into memory: the bytes consent checks are the bytes the protocol reads.

Consent and compute happen at different times, and a file on disk can change in between.
So a party reads each source file once (`DataSnapshot.read`), checks that snapshot against
what its source committed to on chain (schema hash, salted row root, row count: `check`),
and hands the same snapshot to the protocol's loaders (`compute.jobs.local_data`). Nothing
reads the path again: a file edited after consent either goes unused (the checked
snapshot is kept) or, when a party must read afresh, fails the check and the job aborts.
Never a mix of the two.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from compute.errors import InvalidInput
from compute.jobs.commitment import SourceCommitment, commit_rows, parse_rows, read_file
from compute.jobs.workspace import SourceFile


class DataMismatch(InvalidInput):
    """A snapshot that is not the data its source committed to on chain; the message names the first difference."""


@dataclass(frozen=True)
class RecordedCommitment:
    """What the chain holds for one version of a source: its schema hash, row root and row count."""

    source_id: int
    version: int
    schema_hash: bytes
    root: bytes
    row_count: int


@dataclass(frozen=True)
class DataSnapshot:
    """One read of a data file: its bytes' SHA-256, columns and rows, as the protocol will use them."""

    source_id: int
    name: str  # where the bytes came from, for messages
    id_column: str
    sha256: bytes
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...] = field(repr=False)

    @classmethod
    def read(cls, source: SourceFile) -> DataSnapshot:
        """Read `source`'s file once; `CommitmentError` (an InvalidInput) if it is missing or malformed."""
        return cls.of_file(source.source_id, source.path, source.id_column)

    @classmethod
    def of_file(cls, source_id: int, path: Path, id_column: str) -> DataSnapshot:
        """Read the CSV file at `path` once (source_id -1 for a file that is no registered source)."""
        raw = read_file(path)
        columns, rows = parse_rows(raw, id_column, str(path))
        return cls(source_id, str(path), id_column, hashlib.sha256(raw).digest(), columns, tuple(map(tuple, rows)))

    def commitment(self, secret: bytes) -> SourceCommitment:
        """The salted Merkle commitment over this snapshot's rows."""
        return commit_rows(self.columns, [list(row) for row in self.rows], secret)

    def check(self, secret: bytes, recorded: RecordedCommitment) -> None:
        """DataMismatch unless this snapshot is exactly the data of `recorded` (schema, root, row count)."""
        mine = self.commitment(secret)
        where = f"source {recorded.source_id} v{recorded.version} ({self.name})"
        if mine.schema_hash != recorded.schema_hash:
            raise DataMismatch(f"{where}: the columns {', '.join(self.columns)} are not the registered schema")
        if mine.row_count != recorded.row_count:
            raise DataMismatch(f"{where}: {mine.row_count} rows, the commitment holds {recorded.row_count}")
        if mine.root != recorded.root:
            raise DataMismatch(f"{where}: the rows do not match the commitment root 0x{recorded.root.hex()[:16]}…")


def checked_snapshot(source: SourceFile, recorded: RecordedCommitment) -> DataSnapshot:
    """The one consent check: read `source` once and check it against `recorded` (DataMismatch, CommitmentError)."""
    snapshot = DataSnapshot.read(source)
    snapshot.check(source.secret, recorded)
    return snapshot


@dataclass(frozen=True)
class JobData:
    """What one party brings to one job: checked snapshots of its sources, and its folder for its own files."""

    snapshots: Mapping[int, DataSnapshot]
    folder: Path

    def source(self, source_id: int) -> DataSnapshot:
        """The checked snapshot of `source_id`; InvalidInput if this party holds no checked data for it."""
        try:
            return self.snapshots[source_id]
        except KeyError:
            raise InvalidInput(f"source {source_id}'s data was not checked for this job by this party") from None

    def own_file(self, name: str, id_column: str) -> DataSnapshot:
        """A file of this party's own that is no registered source (a validation split), relative to its folder."""
        return DataSnapshot.of_file(-1, self.folder / name, id_column)
