"""`custos source …`: register a data file as a source (only its commitment leaves the machine)."""

from __future__ import annotations

from pathlib import Path

import typer

from custos.commands.failures import WORKSPACE, user_errors

app = typer.Typer(
    name="source", help="Register data sources (only commitments leave the machine).", no_args_is_help=True
)
KINDS = {"PSI": 0, "SECURE_STATS": 1, "SECURE_AGGREGATION": 2, "FEDAVG": 3, "HETERO_LR": 4}


def kind_mask(kinds: str) -> int:
    """The allowedKinds bitmask of a comma-separated list of kind names."""
    mask = 0
    for name in filter(None, (k.strip().upper() for k in kinds.split(","))):
        if name not in KINDS:
            raise typer.BadParameter(f"unknown job kind {name!r} (known: {', '.join(KINDS)})")
        mask |= 1 << KINDS[name]
    if not mask:
        raise typer.BadParameter("name at least one job kind")
    return mask


@app.command()
def register(
    file: Path = typer.Argument(..., help="The CSV data file (stays here)."),
    workspace: Path = WORKSPACE,
    id_column: str = typer.Option("id", "--id-column", help="Column holding the join key."),
    label_column: str | None = typer.Option(None, "--label-column", help="Column holding labels, if any."),
    price: float = typer.Option(0.0, "--price", help="Price per use, in settlement tokens."),
    kinds: str = typer.Option("HETERO_LR", "--kinds", help="Job kinds allowed, comma-separated."),
    policy: str = typer.Option(
        "runner",
        "--policy",
        help="Consent by 'runner' (after its data check), "
        "'explicit' (`custos job consent` per job) or 'auto' (on chain, at opening).",
    ),
) -> None:
    """Commit to FILE's rows (salted Merkle root) and register it on chain."""
    from compute.jobs.commitment import commit_csv, new_secret
    from compute.jobs.workspace import SourceFile, Workspace
    from ledger.bindings import SourceSpec

    if policy not in ("runner", "explicit", "auto"):
        raise typer.BadParameter("--policy is 'runner', 'explicit' or 'auto'")
    mask = kind_mask(kinds)
    with user_errors():
        party = Workspace.load(workspace)
        secret = new_secret()
        commitment = commit_csv(file.resolve(), id_column, secret)
        spec = SourceSpec(
            commitment.schema_hash,
            commitment.root,
            commitment.row_count,
            file.resolve().as_uri(),
            int(round(price * 10**18)),
            mask,
            True,
            mask if policy == "auto" else 0,
        )
        registered = party.member().registry.register_source(spec)
        party.add_source(
            SourceFile(
                registered.source_id,
                file.resolve(),
                id_column,
                secret,
                label_column,
                runner_consents=policy == "runner",
            )
        )
    typer.echo(f"source {registered.source_id}: {commitment.row_count} rows, commitment 0x{commitment.root.hex()}")
