"""`custos job …`: open a job of any runnable kind, consent to it, run this party's part, show it.

Every step goes through the jobs service (`compute.jobs.service`), as the gateway and the demo do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from custos.commands.failures import WORKSPACE, user_errors
from custos.commands.params import amount, delta, epsilon

app = typer.Typer(name="job", help="Open, consent to, run and show jobs.", no_args_is_help=True)


def _ids(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a comma-separated list of ids") from None


# Options every kind takes; each `job open KIND` command adds its own.
SOURCES = typer.Option(..., "--sources", help="Source ids, comma-separated, in the kind's order (e.g. 0,1,2).")
COMPUTE = typer.Option(..., "--compute", help="Compute party addresses, comma-separated (the first commits).")
BUDGET = typer.Option(..., "--budget", parser=amount, help="Escrow in settlement tokens, exact (e.g. 12.5).")
DEADLINE = typer.Option(600, "--deadline", min=1, help="Seconds from now until a result is due.")

open_app = typer.Typer(
    name="open",
    help="Escrow a budget and open a job of one kind: psi, stats, fedavg or hetero-lr.",
    no_args_is_help=True,
)
app.add_typer(open_app)


def _open(
    kind_name: str,
    sources: str,
    compute: str,
    budget: int,
    deadline: int,
    workspace: Path,
    build: Callable[[list[int]], dict[str, Any]],
    dp: tuple[int, int] | None = None,
) -> None:
    """Build the kind's parameter document, then open through the jobs service; one line out.
    `dp`: (micro-ε per source, atto-δ) a DP job reserves on every source's privacy budget."""
    from compute.jobs.service import OpenRequest, deadline_after, kind_named, open_job
    from compute.jobs.workspace import Workspace

    ids = _ids(sources)
    with user_errors():
        kind = kind_named(kind_name)
        document = build(ids)
        party = Workspace.load(workspace)
        member = party.member()
        request = OpenRequest(
            kind.chain_kind,
            tuple(ids),
            tuple(c.strip() for c in compute.split(",") if c.strip()),
            budget,
            deadline_after(member, deadline),
            document=document,
            epsilons=None if dp is None else (dp[0],) * len(ids),
            delta=0 if dp is None else dp[1],
        )
        opened = open_job(member, request, store=party)
    typer.echo(
        f"job {opened.job_id} opened ({kind.name}); parameters 0x{opened.params_hash.hex()}; "
        f"auto-consented: {list(opened.job.auto_consented)}"
    )


@open_app.command("psi")
def open_psi(
    sources: str = SOURCES,
    compute: str = COMPUTE,
    budget: int = BUDGET,
    workspace: Path = WORKSPACE,
    deadline: int = DEADLINE,
) -> None:
    """PSI on two sources: the first source's owner learns the intersection of the id columns."""
    from compute.jobs.service.documents import psi_document

    _open("psi", sources, compute, budget, deadline, workspace, psi_document)


@open_app.command("stats")
def open_stats(
    sources: str = SOURCES,
    compute: str = COMPUTE,
    budget: int = BUDGET,
    workspace: Path = WORKSPACE,
    deadline: int = DEADLINE,
    column: str = typer.Option("", "--column", help="The numeric column to sum in every source."),
    columns: str = typer.Option("", "--columns", help="Per source instead: 0=revenue,2=card_revenue."),
    epsilon_per_source: int | None = typer.Option(
        None, "--epsilon-per-source", parser=epsilon, help="DP: the ε each source spends (e.g. 0.5); needs --clip."
    ),
    job_delta: int = typer.Option("1e-6", "--delta", parser=delta, help="DP: the δ reserved on each source."),
    clip: str = typer.Option("", "--clip", help="DP: the value range every row is clipped to, e.g. -10,10."),
) -> None:
    """Secure statistics (count, sum, mean) of one numeric column over several sources; the first learns them.
    With --epsilon-per-source every party adds discrete Laplace noise and the job spends privacy budget."""
    from compute.jobs.service.documents import stats_document

    per_source = {}
    for pair in filter(None, (part.strip() for part in columns.split(","))):
        source, _, name = pair.partition("=")
        if not source.strip().isdigit() or not name.strip():
            raise typer.BadParameter(f"--columns takes source=column pairs, not {pair!r}")
        per_source[int(source)] = name.strip()
    privacy: dict[str, Any] = {}
    if epsilon_per_source is not None:
        from ledger.units import format_epsilon

        bounds = [part.strip() for part in clip.split(",")]
        try:
            low, high = float(bounds[0]), float(bounds[1])
        except (IndexError, ValueError):
            raise typer.BadParameter("--epsilon-per-source needs --clip LOW,HIGH (numbers)") from None
        if len(bounds) != 2 or not low < high:
            raise typer.BadParameter("--clip takes LOW,HIGH with LOW < HIGH")
        privacy = {"epsilon": format_epsilon(epsilon_per_source), "clip": [low, high]}
    dp = None if epsilon_per_source is None else (epsilon_per_source, job_delta)
    _open(
        "stats",
        sources,
        compute,
        budget,
        deadline,
        workspace,
        lambda ids: {**stats_document(ids, column, per_source), **privacy},
        dp,
    )


@open_app.command("fedavg")
def open_fedavg(
    sources: str = SOURCES,
    compute: str = COMPUTE,
    budget: int = BUDGET,
    workspace: Path = WORKSPACE,
    deadline: int = DEADLINE,
    label_column: str = typer.Option("y", "--label-column", help="The 0/1 label column every source holds."),
    validation: str = typer.Option(
        "validation.csv", "--validation", help="The aggregator's validation file, relative to its workspace."
    ),
    rounds: int = typer.Option(20, "--rounds", min=1),
    learning_rate: float = typer.Option(0.1, "--learning-rate", min=0.0),
    model: str = typer.Option("logistic", "--model", help="'logistic' or 'mlp'."),
) -> None:
    """Horizontal FedAvg over secure aggregation with Shapley weights; the first compute party aggregates."""
    from compute.fl.fedavg.params import FedAvgParams
    from compute.jobs.service.documents import fedavg_document

    def build(ids: list[int]) -> dict[str, Any]:
        params = FedAvgParams(rounds=rounds, learning_rate=learning_rate, model=model)
        return fedavg_document(ids, label_column, validation, params)

    _open("fedavg", sources, compute, budget, deadline, workspace, build)


@open_app.command("hetero-lr")
def open_hetero_lr(
    sources: str = typer.Option(..., "--sources", help="Source ids, the label holder's first: 0,1,2."),
    compute: str = COMPUTE,
    budget: int = BUDGET,
    workspace: Path = WORKSPACE,
    deadline: int = DEADLINE,
    label_column: str = typer.Option("y", "--label-column", help="The label holder's 0/1 label column."),
    epochs: int = typer.Option(4, "--epochs", min=1),
    key_bits: int = typer.Option(2048, "--key-bits", min=512),
) -> None:
    """PSI-aligned hetero-LR (Paillier) with Shapley weights; the first source holds the labels."""
    from compute.fl.hetero_lr.schedule import HeteroLRParams
    from compute.jobs.service.documents import hetero_lr_document

    def build(ids: list[int]) -> dict[str, Any]:
        return hetero_lr_document(ids, label_column, HeteroLRParams(epochs=epochs, n_bits=key_bits))

    _open("hetero-lr", sources, compute, budget, deadline, workspace, build)


@app.command()
def consent(
    job_id: int = typer.Argument(...),
    workspace: Path = WORKSPACE,
) -> None:
    """Consent to JOB_ID for every source of this workspace it uses, after checking the data against its commitment."""
    from compute.jobs.service import consent as consent_to
    from compute.jobs.workspace import Workspace

    with user_errors():
        party = Workspace.load(workspace)
        member = party.member()
        done = consent_to(member, party, member.address, job_id)
    for given in done:
        note = " (already given)" if given.already else ""
        typer.echo(f"consented: job {job_id}, source {given.source_id} v{given.version}{note}")


@app.command()
def run(
    job_id: int = typer.Argument(...),
    workspace: Path = WORKSPACE,
    protocol_timeout: float = typer.Option(120.0, "--protocol-timeout"),
    as_json: bool = typer.Option(False, "--json", help="Progress as JSON lines (the default off a terminal)."),
) -> None:
    """Run this party's part of JOB_ID until it is final, with live progress bars in a terminal."""
    from compute.jobs.party_process import run_party
    from custos.progress_view import ProgressView

    view = ProgressView()
    if as_json or not view.console.is_terminal:
        with user_errors():
            raise typer.Exit(run_party(workspace, job_id, 0, protocol_timeout))
    with user_errors(), view:
        code = run_party(workspace, job_id, 0, protocol_timeout, on_progress=view)
    raise typer.Exit(code)


@app.command()
def show(
    job_id: int = typer.Argument(...), workspace: Path = WORKSPACE, as_json: bool = typer.Option(False, "--json")
) -> None:
    """The job as the chain holds it now (amounts in tokens, exact)."""
    from compute.jobs.workspace import Workspace
    from ledger.protocol import kind_name
    from ledger.units import format_amount

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
