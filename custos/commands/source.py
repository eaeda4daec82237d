"""`custos source …`: register a data file as a source (only its commitment leaves the machine)."""

from __future__ import annotations

from pathlib import Path

import typer

from custos.commands.failures import WORKSPACE, user_errors
from custos.commands.params import amount, kinds_mask

app = typer.Typer(
    name="source", help="Register data sources (only commitments leave the machine).", no_args_is_help=True
)


@app.command()
def register(
    file: Path = typer.Argument(..., help="The CSV data file (stays here)."),
    workspace: Path = WORKSPACE,
    id_column: str = typer.Option("id", "--id-column", help="Column holding the join key."),
    label_column: str | None = typer.Option(None, "--label-column", help="Column holding labels, if any."),
    price: int = typer.Option("0", "--price", parser=amount, help="Price per use, in settlement tokens (e.g. 2.5)."),
    kinds: int = typer.Option(
        "hetero-lr", "--kinds", parser=kinds_mask, help="Job kinds allowed, comma-separated (e.g. psi,hetero-lr)."
    ),
    policy: str = typer.Option(
        "runner",
        "--policy",
        help="Consent by 'runner' (after its data check), "
        "'explicit' (`custos job consent` per job) or 'auto' (on chain, at opening).",
    ),
) -> None:
    """Commit to FILE's rows (salted Merkle root) and register it on chain."""
    from compute.errors import InvalidInput
    from compute.jobs.commitment import new_secret
    from compute.jobs.service import ConsentPolicy
    from compute.jobs.snapshot import DataSnapshot
    from compute.jobs.workspace import SourceFile, Workspace
    from ledger.bindings import SourceSpec

    try:
        consent_policy = ConsentPolicy.parse(policy)
    except InvalidInput as exc:
        raise typer.BadParameter(str(exc)) from None
    mask = kinds
    with user_errors():
        party = Workspace.load(workspace)
        secret = new_secret()
        commitment = DataSnapshot.of_file(-1, file.resolve(), id_column).commitment(secret)
        spec = SourceSpec(
            commitment.schema_hash,
            commitment.root,
            commitment.row_count,
            file.resolve().as_uri(),
            price,
            mask,
            True,
            consent_policy.auto_consent_kinds(mask),
        )
        registered = party.member().registry.register_source(spec)
        party.add_source(
            SourceFile(
                registered.source_id,
                file.resolve(),
                id_column,
                secret,
                label_column,
                runner_consents=consent_policy.runner_consents,
            )
        )
    typer.echo(f"source {registered.source_id}: {commitment.row_count} rows, commitment 0x{commitment.root.hex()}")
