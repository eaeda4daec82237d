"""The `custos` command as the end-to-end tests run it: in its own process, or in this one (fast)."""

from __future__ import annotations

import os
import subprocess
import sys

from click.testing import Result
from typer.testing import CliRunner

from ledger.keystore import DEV_PASSWORD, PASSWORD_ENV


def custos(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m custos ARGS` with the demo keystore's password; wide output, so no wrapped error boxes."""
    env = {**os.environ, PASSWORD_ENV: DEV_PASSWORD, "COLUMNS": "400"}
    return subprocess.run([sys.executable, "-m", "custos", *args], capture_output=True, text=True, env=env, timeout=120)


def custos_here(*args: str) -> Result:
    """The CLI in this process (fast); an exception it lets escape fails the test, as a traceback would show."""
    from custos import cli

    return CliRunner().invoke(cli.app, list(args), catch_exceptions=False, env={"COLUMNS": "400"})
