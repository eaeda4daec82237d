"""`custos`: the command line of a consortium member."""

from __future__ import annotations

import typer

from custos.commands import audit as audit_commands
from custos.commands import chain as chain_commands
from custos.commands import gateway as gateway_commands
from custos.commands.deploy import deploy as deploy_command

app = typer.Typer(
    name="custos",
    help="Audit and incentive ledger for privacy-preserving computation.",
    no_args_is_help=True,
    add_completion=False,
)

app.add_typer(chain_commands.app, name="chain")
app.command(name="deploy")(deploy_command)
app.add_typer(audit_commands.app, name="audit")
app.add_typer(gateway_commands.app, name="gateway")


@app.command()
def demo() -> None:
    """Run the end-to-end demo (for now: deploy a contract on an in-process chain)."""
    from ledger.smoke import run_smoke

    result = run_smoke()
    typer.echo(f"in-process py-evm chain: Beacon deployed at {result.address} ({result.deploy_gas} gas)")
    typer.echo(f"ping(42) → count() = {result.count}")


@app.command()
def artifacts(
    check: bool = typer.Option(False, "--check", help="Only check that committed artifacts are fresh."),
) -> None:
    """Compile the contracts with solc-js into ledger/abi (needs contracts/node_modules)."""
    from ledger import artifacts as arts

    raise typer.Exit(arts.main(["check" if check else "build"]))


def main() -> None:
    """Console-script entry point."""
    app()
