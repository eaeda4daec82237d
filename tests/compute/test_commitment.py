"""Row commitments: stable for the same data, different for any change."""

from __future__ import annotations

from pathlib import Path

import pytest

from compute.jobs.commitment import CommitmentError, commit_csv, new_secret

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
