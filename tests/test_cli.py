"""The `custos` console script as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CUSTOS = Path(sys.executable).with_name("custos")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CUSTOS), *args], capture_output=True, text=True, timeout=300)


def test_help_lists_the_subcommands() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    for command in ("demo", "artifacts"):
        assert command in proc.stdout


def test_unknown_subcommand_is_an_error_not_a_traceback() -> None:
    proc = run("no-such-command")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
