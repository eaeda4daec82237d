"""`custos source …`: register a data file as a source (only its commitment leaves the machine)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from custos.commands.failures import WORKSPACE, user_errors
from custos.commands.params import amount, delta, epsilon, kinds_mask

if TYPE_CHECKING:
    from ledger.bindings import SourceBudget

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
    epsilon_total: int | None = typer.Option(
        None, "--epsilon", parser=epsilon, help="Privacy budget ε for DP jobs (e.g. 8); none: no DP job may use it."
    ),
    delta_total: int = typer.Option("1e-6", "--delta", parser=delta, help="Privacy budget δ for DP jobs."),
    dp_only: bool = typer.Option(False, "--dp-only", help="Refuse jobs that release exact (non-DP) results."),
) -> None:
    """Commit to FILE's rows (salted Merkle root) and register it on chain (and set its privacy budget)."""
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
        snapshot = DataSnapshot.of_file(-1, file.resolve(), id_column)
        # Refused before anything goes on chain: a source nobody can use would stay registered.
        if not snapshot.rows:
            raise InvalidInput(f"{file} has a header but no rows")
        if label_column is not None and label_column not in snapshot.columns:
            raise InvalidInput(f"{file} has no label column {label_column!r} (columns: {', '.join(snapshot.columns)})")
        commitment = snapshot.commitment(secret)
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
        member = party.member()
        registered = member.registry.register_source(spec)
        if epsilon_total is not None or dp_only:
            member.privacy.set_budget(registered.source_id, epsilon_total or 0, delta_total, not dp_only)
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
    if epsilon_total is not None or dp_only:
        _show_budget(member.privacy.budget_of(registered.source_id))


@app.command()
def budget(
    source_id: int = typer.Argument(..., help="The source."),
    workspace: Path = WORKSPACE,
    epsilon_total: int | None = typer.Option(
        None, "--epsilon", parser=epsilon, help="Set the total ε (the owner; not below what is spent + reserved)."
    ),
    delta_total: int | None = typer.Option(None, "--delta", parser=delta, help="Set the total δ (the owner)."),
    exact: bool | None = typer.Option(
        None, "--allow-exact/--dp-only", help="Allow or refuse jobs that release exact results (the owner)."
    ),
) -> None:
    """Show SOURCE_ID's privacy budget (total, spent, reserved, remaining); the owner may change it."""
    from compute.errors import InvalidInput
    from compute.jobs.workspace import Workspace

    with user_errors():
        member = Workspace.load(workspace).member()
        if source_id >= member.registry.source_count():  # the contract answers zeros for a source never registered
            raise InvalidInput(f"no data source {source_id} on this consortium's chain")
        now = member.privacy.budget_of(source_id)
        if epsilon_total is not None or delta_total is not None or exact is not None:
            member.privacy.set_budget(
                source_id,
                now.epsilon_total if epsilon_total is None else epsilon_total,
                now.delta_total if delta_total is None else delta_total,
                now.exact_allowed if exact is None else exact,
            )
            now = member.privacy.budget_of(source_id)
    _show_budget(now)


def _show_budget(b: SourceBudget) -> None:
    from ledger.units import format_delta, format_epsilon

    typer.echo(
        f"source {b.source_id} privacy budget: ε total {format_epsilon(b.epsilon_total)}, "
        f"spent {format_epsilon(b.epsilon_spent)}, reserved {format_epsilon(b.epsilon_reserved)}, "
        f"remaining {format_epsilon(b.epsilon_remaining)}; δ total {format_delta(b.delta_total)}, "
        f"spent {format_delta(b.delta_spent)}, reserved {format_delta(b.delta_reserved)}, "
        f"remaining {format_delta(b.delta_remaining)}; exact releases {'allowed' if b.exact_allowed else 'refused'}"
    )
