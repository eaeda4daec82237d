"""The `custos` command line given what is not a chain: one clear error line and a non-zero exit,
never a traceback, and nothing written where the user pointed by mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_runs import custos_here


@pytest.mark.parametrize(("command", "says"), [("verify", "holds no chain"), ("up", "Not a directory")])
def test_a_chain_command_pointed_at_a_data_file_is_one_error_line(tmp_path: Path, command: str, says: str) -> None:
    data = tmp_path / "bank.csv"
    data.write_text("id,y\n1,0\n")
    done = custos_here("chain", command, str(data), *(("--port", "0") if command == "up" else ()))
    assert done.exit_code == 1, done.output
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], done.output
    assert data.read_text() == "id,y\n1,0\n"


def test_verifying_a_folder_that_holds_no_chain_refuses_and_creates_nothing_there(tmp_path: Path) -> None:
    typo = tmp_path / "chian"
    done = custos_here("chain", "verify", str(typo))
    assert done.exit_code == 1 and f"{typo} holds no chain" in done.output, done.output
    assert not typo.exists(), "verify created an empty chain store where the user mistyped"
    backup = custos_here("chain", "backup", str(typo), str(tmp_path / "copy"))
    assert backup.exit_code == 1 and "holds no chain" in backup.output, backup.output
    assert not (tmp_path / "copy").exists()


def test_auditing_a_folder_that_holds_no_chain_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "deployment.json").write_text("{}")
    done = custos_here("audit", "job", "0", "--chain", str(tmp_path))
    assert done.exit_code != 0, done.output
    assert done.output.strip().splitlines()[-1].startswith("error: "), done.output
    assert not (tmp_path / "chain.lmdb").exists()
