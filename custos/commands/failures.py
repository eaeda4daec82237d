"""Turning the errors users cause into one line and an exit status, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer


@contextmanager
def user_errors() -> Iterator[None]:
    """Print compute and ledger errors (keystore errors included) as `error: …` and exit 1."""
    from compute.errors import ComputeError
    from ledger.errors import LedgerError

    try:
        yield
    except (ComputeError, LedgerError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


WORKSPACE = typer.Option(..., "--workspace", "-w", envvar="CUSTOS_WORKSPACE", help="The party's workspace folder.")
