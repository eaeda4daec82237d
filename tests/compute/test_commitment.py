"""Row commitments: stable for the same data, different for any change; snapshots: checked once, read from memory."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from compute.errors import InvalidInput
from compute.jobs.commitment import CommitmentError, commit_csv, new_secret
from compute.jobs.local_data import load_column, load_ids, load_table
from compute.jobs.snapshot import DataMismatch, RecordedCommitment, checked_snapshot
from compute.jobs.workspace import SourceFile

CSV = "id,y,x\nA,1,0.5\nB,0,0.25\nC,1,-1\n"


def write(tmp_path: Path, text: str, name: str = "d.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_same_data_and_secret_give_the_same_commitment(tmp_path: Path) -> None:
    secret = new_secret()
    a = commit_csv(write(tmp_path, CSV, "a.csv"), "id", secret)
    b = commit_csv(write(tmp_path, CSV, "b.csv"), "id", secret)
    assert a == b
    assert a.row_count == 3 and a.columns == ("id", "y", "x")


def test_a_spreadsheet_export_with_a_byte_order_mark_commits_like_the_same_file_without(tmp_path: Path) -> None:
    secret = new_secret()
    plain = commit_csv(write(tmp_path, CSV, "plain.csv"), "id", secret)
    marked = tmp_path / "excel.csv"
    marked.write_bytes(b"\xef\xbb\xbf" + CSV.encode())
    assert commit_csv(marked, "id", secret) == plain  # the first column is 'id', not '\ufeffid'


@pytest.mark.parametrize(
    "changed",
    [
        CSV.replace("0.25", "0.26"),  # an edited cell
        CSV + "D,0,1\n",  # an added row
        "id,y,x\nB,0,0.25\nA,1,0.5\nC,1,-1\n",  # reordered rows
        "id,y,x\nA,1,0.5\nC,1,-1\n",  # a deleted row
    ],
)
def test_any_change_to_the_rows_changes_the_root(tmp_path: Path, changed: str) -> None:
    secret = new_secret()
    original = commit_csv(write(tmp_path, CSV, "a.csv"), "id", secret)
    assert commit_csv(write(tmp_path, changed, "b.csv"), "id", secret).root != original.root


def test_a_different_secret_hides_the_same_rows(tmp_path: Path) -> None:
    path = write(tmp_path, CSV)
    assert commit_csv(path, "id", new_secret()).root != commit_csv(path, "id", new_secret()).root


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("", "id", "is empty"),
        (CSV, "taxpayer", "no column 'taxpayer'"),
        ("id,x\nA,1\nA,2\n", "id", "not unique"),
        ("id,x\nA,1,9\n", "id", "line 2: 3 cells"),
    ],
)
def test_bad_files_get_a_clear_error(tmp_path: Path, text: str, column: str, message: str) -> None:
    with pytest.raises(CommitmentError, match=message):
        commit_csv(write(tmp_path, text), column, new_secret())


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommitmentError, match="not found"):
        commit_csv(tmp_path / "nope.csv", "id", new_secret())


def _recorded(path: Path, secret: bytes, version: int = 1) -> RecordedCommitment:
    c = commit_csv(path, "id", secret)
    return RecordedCommitment(7, version, c.schema_hash, c.root, c.row_count)


def test_snapshot_checked_at_consent_is_what_the_loaders_read_after_the_file_changes(tmp_path: Path) -> None:
    path, secret = write(tmp_path, CSV), new_secret()
    source = SourceFile(7, path, "id", secret, "y")
    snapshot = checked_snapshot(source, _recorded(path, secret))

    path.write_text("id,y,x\nA,0,9\nZ,1,9\n")  # the owner edits the file after consent

    assert load_ids(snapshot) == ("A", "B", "C")
    labels = load_table(snapshot, "y").y
    assert labels is not None and labels.tolist() == [1.0, 0.0, 1.0]
    assert snapshot.sha256 == hashlib.sha256(CSV.encode()).digest()
    path.unlink()
    assert load_column(snapshot, "x") == [0.5, 0.25, -1.0]  # the file is never read again


@pytest.mark.parametrize(
    ("edited", "message"),
    [
        ("id,y,x\nA,1,0.5\nB,0,0.25\n", "2 rows, the commitment holds 3"),
        ("id,y,x\nA,1,0.5\nB,0,0.25\nC,1,-2\n", "do not match the commitment root"),
        ("id,y,z\nA,1,0.5\nB,0,0.25\nC,1,-1\n", "are not the registered schema"),
        ("id,y,x\nB,0,0.25\nA,1,0.5\nC,1,-1\n", "do not match the commitment root"),  # the same rows, reordered
    ],
)
def test_a_fresh_snapshot_of_an_edited_file_fails_the_consent_check(tmp_path: Path, edited: str, message: str) -> None:
    path, secret = write(tmp_path, CSV), new_secret()
    recorded = _recorded(path, secret)
    path.write_text(edited)
    with pytest.raises(DataMismatch, match=message):
        checked_snapshot(SourceFile(7, path, "id", secret), recorded)


def test_a_commitment_error_is_invalid_input_so_every_front_end_reports_it_as_one_line() -> None:
    assert issubclass(CommitmentError, InvalidInput) and issubclass(DataMismatch, InvalidInput)
