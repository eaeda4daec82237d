"""`custos job …`: open a job, consent to it, run this party's part, show it."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from custos.commands.failures import WORKSPACE, user_errors
from custos.commands.params import amount, delta, epsilon, job_kind

app = typer.Typer(name="job", help="Open, consent to, run and show jobs.", no_args_is_help=True)


def _ids(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a comma-separated list of ids") from None


@app.command("open")
def open_job(
    kind: str = typer.Argument(..., help="Job kind; the CLI opens 'hetero-lr' (PSI-aligned) jobs."),
    sources: str = typer.Option(..., "--sources", help="Source ids, the label holder's first: 0,1,2."),
    compute: str = typer.Option(..., "--compute", help="Compute party addresses, comma-separated (first commits)."),
    budget: int = typer.Option(..., "--budget", parser=amount, help="Escrow in settlement tokens (e.g. 12.5)."),
    workspace: Path = WORKSPACE,
    deadline: int = typer.Option(600, "--deadline", help="Seconds from now until a result is due."),
    epochs: int = typer.Option(4, "--epochs"),
    key_bits: int = typer.Option(2048, "--key-bits"),
    epsilon_per_source: int | None = typer.Option(
        None, "--epsilon-per-source", parser=epsilon, help="A DP job: the ε reserved on each source (e.g. 0.5)."
    ),
    job_delta: int = typer.Option("1e-6", "--delta", parser=delta, help="A DP job: the δ reserved on each source."),
) -> None:
    """Escrow BUDGET and open a job on SOURCES; its parameter document stays in the workspace."""
    import time

    from compute.fl.hetero_lr.schedule import HeteroLRParams
    from compute.jobs.vertical import VerticalParams
    from compute.jobs.workspace import Workspace
    from ledger.protocol import JobKind

    if epsilon_per_source is not None and not job_kind(kind).is_dp:
        raise typer.BadParameter(f"{kind} jobs release exact results; --epsilon-per-source is for DP kinds")
    if job_kind(kind) is not JobKind.HETERO_LR:
        raise typer.BadParameter(
            f"`custos job open` opens hetero-lr jobs; {kind!r} jobs are not opened from the CLI yet"
        )
    ids = _ids(sources)
    if len(ids) < 2:
        raise typer.BadParameter("--sources needs the label holder's source and at least one more")
    with user_errors():
        party = Workspace.load(workspace)
        member = party.member()
        params = VerticalParams(ids[0], tuple(ids[1:]), lr=HeteroLRParams(epochs=epochs, n_bits=key_bits))
        digest = party.put_params(params.to_json())
        member.token.approve(member.settlement.address, budget)
        due = max(member.latest_timestamp(), int(time.time())) + deadline
        dp = {} if epsilon_per_source is None else {"epsilons": [epsilon_per_source] * len(ids), "delta": job_delta}
        opened = member.jobs.open_job(
            JobKind.HETERO_LR, ids, digest, [c.strip() for c in compute.split(",")], budget, due, **dp
        )
    typer.echo(
        f"job {opened.job_id} opened; parameters 0x{digest.hex()}; auto-consented: {list(opened.auto_consented)}"
    )


@app.command()
def consent(
    job_id: int = typer.Argument(...),
    workspace: Path = WORKSPACE,
) -> None:
    """Consent to JOB_ID for every source of this workspace it uses, after re-checking the data."""
    from compute.jobs.commitment import commit_csv
    from compute.jobs.workspace import Workspace

    with user_errors():
        party = Workspace.load(workspace)
        member = party.member()
        source_ids, versions, owners, _ = member.jobs.job_sources(job_id)
        mine = [(s, v) for s, v, o in zip(source_ids, versions, owners) if o == member.address]
        if not mine:
            typer.echo(f"error: job {job_id} uses no source of {party.name}", err=True)
            raise typer.Exit(1)
        for source_id, version in mine:
            local = party.sources.get(source_id)
            recorded = member.registry.commitment_at(source_id, version)
            if local is None or commit_csv(local.path, local.id_column, local.secret).root != recorded.commitment:
                typer.echo(f"error: source {source_id}'s file no longer matches its commitment v{version}", err=True)
                raise typer.Exit(1)
            if not member.jobs.has_consented(job_id, source_id):
                member.jobs.consent(job_id, source_id)
            typer.echo(f"consented: job {job_id}, source {source_id} v{version}")


@app.command()
def run(
    job_id: int = typer.Argument(...),
    workspace: Path = WORKSPACE,
    protocol_timeout: float = typer.Option(120.0, "--protocol-timeout"),
) -> None:
    """Run this party's part of JOB_ID until it is final (progress as JSON lines)."""
    from compute.jobs.party_process import run_party

    with user_errors():
        raise typer.Exit(run_party(workspace, job_id, 0, protocol_timeout))


@app.command()
def show(
    job_id: int = typer.Argument(...), workspace: Path = WORKSPACE, as_json: bool = typer.Option(False, "--json")
) -> None:
    """The job as the chain holds it now (amounts in tokens, exact)."""
    from compute.jobs.workspace import Workspace
    from ledger.protocol import format_amount, kind_name

    with user_errors():
        member = Workspace.load(workspace).member()
        job = member.jobs.job(job_id)
        source_ids, versions, owners, prices = member.jobs.job_sources(job_id)
        compute, weights, attesters = member.jobs.job_parties(job_id)
    view = {
        "job": job_id,
        "status": job.status.name,
        "kind": kind_name(job.kind),
        "requester": job.requester,
        "budget": format_amount(job.budget),
        "deadline": job.deadline,
        "sources": [
            {"id": s, "version": v, "owner": o, "price": format_amount(p)}
            for s, v, o, p in zip(source_ids, versions, owners, prices)
        ],
        "compute": list(compute),
        "weights": list(weights),
        "attested": f"{job.attestations}/{len(attesters)}",
        "result_hash": "0x" + job.result_hash.hex(),
        "transcript_root": "0x" + job.transcript_root.hex(),
    }
    if as_json:
        typer.echo(json.dumps(view, indent=1))
        return
    for key, value in view.items():
        typer.echo(f"{key:<16} {value}")
