"""`custos demo --nodes N` refuses a node count the demo's consortium cannot give, with one clear line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from custos.cli import app


def test_demo_refuses_more_nodes_than_organisations(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--nodes", "9", "--dir", str(tmp_path / "demo")])

    assert result.exit_code == 1
    assert "--nodes must be between 1 and 5" in result.output and "Traceback" not in result.output
