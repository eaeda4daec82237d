"""`write_durably`: the whole file or nothing, readable by its owner only, no partial file left behind."""

from __future__ import annotations

import stat
from pathlib import Path

from compute.jobs.checked_runs import CheckedRuns
from compute.jobs.workspace import write_durably


def test_a_private_output_is_written_whole_for_its_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "results" / "7.output.json"
    write_durably(target, b'{"intersection": ["a"]}')
    write_durably(target, b'{"intersection": ["a", "b"]}')  # replaced whole, mode kept
    assert target.read_bytes() == b'{"intersection": ["a", "b"]}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["7.output.json"]


def test_a_kept_run_is_not_readable_by_other_accounts(tmp_path: Path) -> None:
    runs = CheckedRuns(tmp_path)
    runs.save(3, {"job_id": 3}, {"intersection": ["x"]})
    assert stat.S_IMODE(runs.path(3).stat().st_mode) == 0o600
