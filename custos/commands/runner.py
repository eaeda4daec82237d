"""`custos runner up`: the long-running job runner of one party."""

from __future__ import annotations

from pathlib import Path

import typer

from custos.commands.failures import WORKSPACE

app = typer.Typer(name="runner", help="Run this party's part of every job that involves it.", no_args_is_help=True)


@app.command()
def init(
    workspace: Path = typer.Option(..., "--workspace", "-w", help="New workspace folder."),
    name: str = typer.Option(..., "--name", help="The organisation's key name in the keystore."),
    chain: Path | None = typer.Option(None, "--chain", help="Chain directory (keystore/ and deployment.json)."),
    keystore: Path | None = typer.Option(None, "--keystore", help="Keystore folder (default: CHAIN/keystore)."),
    deployment: Path | None = typer.Option(None, "--deployment", help="deployment.json (default: CHAIN's)."),
    rpc: str = typer.Option("http://127.0.0.1:8545", "--rpc", help="JSON-RPC URL of a node."),
) -> None:
    """Create a party workspace (fresh transport key; secrets in secrets.json, mode 0600)."""
    from compute.jobs.workspace import Workspace
    from ledger.keystore import Keystore

    keystore = keystore or (chain / "keystore" if chain else None)
    deployment = deployment or (chain / "deployment.json" if chain else None)
    if keystore is None or deployment is None:
        raise typer.BadParameter("give --chain, or both --keystore and --deployment")
    if (workspace / "workspace.json").exists():
        typer.echo(f"error: {workspace} already holds a workspace", err=True)
        raise typer.Exit(1)
    # Checked now, not at the first job: a typo here would otherwise surface much later, in another command.
    if not deployment.is_file():
        typer.echo(f"error: no deployment file at {deployment}", err=True)
        raise typer.Exit(1)
    if name not in Keystore(keystore).names():
        typer.echo(f"error: no key '{name}' in the keystore {keystore}", err=True)
        raise typer.Exit(1)
    Workspace.create(workspace, name, keystore.resolve(), rpc, deployment.resolve())
    typer.echo(f"workspace for {name} in {workspace}")


@app.command()
def up(
    workspace: Path = WORKSPACE,
    job: int | None = typer.Option(None, "--job", help="Only this job; exit once it is final."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address the party endpoint listens on."),
    port: int = typer.Option(0, "--port", help="Port of the party endpoint (0: any free port)."),
    public_url: str | None = typer.Option(
        None, "--public-url", help="URL peers reach the endpoint at, published on chain (default: the bound one)."
    ),
    protocol_timeout: float = typer.Option(120.0, "--protocol-timeout", help="Seconds to wait for a silent peer."),
) -> None:
    """Watch the chain, consent, run protocols, commit, attest and finalise; progress as JSON lines."""
    import gc

    from compute.jobs.party_process import run_party
    from custos.commands.failures import user_errors

    with user_errors():
        code = run_party(workspace, job, port, protocol_timeout, host=host, public_url=public_url)
    gc.freeze()  # the runner is closed: no final collection over its heap to delay the exit (see `gateway up`)
    raise typer.Exit(code)
