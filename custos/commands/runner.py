"""`custos runner up`: the long-running job runner of one party."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(name="runner", help="Run this party's part of every job that involves it.", no_args_is_help=True)


@app.command()
def up(
    workspace: Path = typer.Option(..., "--workspace", help="The party's workspace folder (workspace.json)."),
    job: Optional[int] = typer.Option(None, "--job", help="Only this job; exit once it is final."),
    port: int = typer.Option(0, "--port", help="Port of the party endpoint on 127.0.0.1 (0: any free port)."),
    protocol_timeout: float = typer.Option(120.0, "--protocol-timeout", help="Seconds to wait for a silent peer."),
) -> None:
    """Watch the chain, consent, run protocols, commit, attest and finalise; progress as JSON lines."""
    from compute.errors import ComputeError
    from compute.jobs.party_process import run_party
    from ledger.errors import LedgerError
    from ledger.keystore import KeystoreError

    try:
        raise typer.Exit(run_party(workspace, job, port, protocol_timeout))
    except (ComputeError, LedgerError, KeystoreError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
