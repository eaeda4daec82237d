"""`custos`: the command line of a consortium member."""

from __future__ import annotations

import typer

from custos.commands import audit as audit_commands
from custos.commands import audit_budget as _audit_budget  # noqa: F401  # registers `custos audit budget` on the audit app
from custos.commands import chain as chain_commands
from custos.commands import gateway as gateway_commands
from custos.commands import job as job_commands
from custos.commands import payout as payout_commands
from custos.commands import runner as runner_commands
from custos.commands import source as source_commands
from custos.commands.demo import demo as demo_command
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
app.add_typer(runner_commands.app, name="runner")
app.add_typer(source_commands.app, name="source")
app.add_typer(job_commands.app, name="job")
app.add_typer(payout_commands.app, name="payout")
app.command(name="demo")(demo_command)


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
