"""`custos payout …`: this party's credits from settled jobs, and pulling them out."""

from __future__ import annotations

from pathlib import Path

import typer

from custos.commands.failures import WORKSPACE, user_errors

app = typer.Typer(name="payout", help="Credits from settled jobs.", no_args_is_help=True)


@app.command()
def balance(workspace: Path = WORKSPACE) -> None:
    """Credits waiting to be withdrawn, and the token balance."""
    from compute.jobs.workspace import Workspace
    from ledger.units import format_amount

    with user_errors():
        member = Workspace.load(workspace).member()
        credit = member.settlement.credit_of(member.address)
        held = member.token.balance_of(member.address)
    typer.echo(
        f"{member.address}: credit {format_amount(credit, symbol=True)}, tokens held {format_amount(held, symbol=True)}"
    )


@app.command()
def withdraw(workspace: Path = WORKSPACE) -> None:
    """Withdraw every credit to this party's account (a pull payment)."""
    from compute.jobs.workspace import Workspace
    from ledger.units import format_amount

    with user_errors():
        member = Workspace.load(workspace).member()
        done = member.settlement.withdraw()
    typer.echo(f"withdrew {format_amount(done.amount, symbol=True)} to {member.address}")
