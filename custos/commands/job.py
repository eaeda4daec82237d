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
from custos.commands.params import amount, delta, positive_epsilon

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
    dp_delta: int | None = None,
) -> None:
    """Build the kind's parameter document, then open through the jobs service; one line out.

    `dp_delta`: a DP job. It reserves on every source the ε the accountant computes from the
    document (`compute.dp.budget.job_spend`), exactly what the runners will check, commit and
    attest, and the larger of the mechanism's δ and `dp_delta` (atto-δ)."""
    from compute.dp.budget import job_spend
    from compute.jobs.service import OpenRequest, deadline_after, kind_named, open_job
    from compute.jobs.workspace import Workspace
    from ledger.bindings import budget_refusal
    from ledger.errors import ContractRevert
    from ledger.units import format_epsilon

    ids = _ids(sources)
    reserved = ""
    with user_errors():
        kind = kind_named(kind_name)
        document = build(ids)
        epsilons, job_delta = None, 0
        if dp_delta is not None:
            spend = job_spend(kind.chain_kind, document, len(ids))
            assert spend is not None  # the DP options put the mechanism's parameters in the document
            epsilons, job_delta = spend.epsilons, max(spend.delta, dp_delta)
            reserved = f"; ε reserved per source: {', '.join(format_epsilon(e) for e in epsilons)}"
        party = Workspace.load(workspace)
        member = party.member()
        request = OpenRequest(
            kind.chain_kind,
            tuple(ids),
            tuple(c.strip() for c in compute.split(",") if c.strip()),
            budget,
            deadline_after(member, deadline),
            document=document,
            epsilons=epsilons,
            delta=job_delta,
        )
        try:
            opened = open_job(member, request, store=party)
        except ContractRevert as exc:
            refusal = budget_refusal(exc)
            if refusal is None:
                raise
            typer.echo(f"error: job refused on chain: {refusal}", err=True)
            raise typer.Exit(1) from None
    typer.echo(
        f"job {opened.job_id} opened ({kind.name}); parameters 0x{opened.params_hash.hex()}; "
        f"auto-consented: {list(opened.job.auto_consented)}{reserved}"
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
        None,
        "--epsilon-per-source",
        parser=positive_epsilon,
        help="DP: the ε each source spends (e.g. 0.5); needs --clip.",
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
    _open(
        "stats",
        sources,
        compute,
        budget,
        deadline,
        workspace,
        lambda ids: {**stats_document(ids, column, per_source), **privacy},
        None if epsilon_per_source is None else job_delta,
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
    epsilon_per_source: int | None = typer.Option(
        None,
        "--epsilon-per-source",
        parser=positive_epsilon,
        help="DP: the most ε any source may spend (e.g. 0.5); the accountant picks the noise multiplier. Needs --clip.",
    ),
    noise_multiplier: float | None = typer.Option(
        None, "--noise-multiplier", help="DP: the noise multiplier σ instead of a target ε. Needs --clip."
    ),
    clip: float | None = typer.Option(None, "--clip", help="DP: the L2 norm every round update is clipped to."),
    job_delta: int = typer.Option("1e-6", "--delta", parser=delta, help="DP: the δ of the (ε, δ) guarantee."),
    features: int | None = typer.Option(
        None,
        "--features",
        min=1,
        help="DP: the feature columns every source holds (default: counted in this workspace's copy of a source).",
    ),
) -> None:
    """Horizontal FedAvg over secure aggregation; the first compute party aggregates.

    Without DP options the pool is split by Shapley weights. With --epsilon-per-source (or
    --noise-multiplier) and --clip the updates are clipped and noised, the job reserves on every
    source the ε the accountant computes, and the pool is split equally (no contribution scores)."""
    from compute.dp.budget import fedavg_noise_for
    from compute.fl.dp import DPParams
    from compute.fl.fedavg.params import FedAvgParams
    from compute.jobs.service.documents import fedavg_document
    from ledger.units import format_delta

    dp = epsilon_per_source is not None or noise_multiplier is not None
    if epsilon_per_source is not None and noise_multiplier is not None:
        raise typer.BadParameter("give --epsilon-per-source or --noise-multiplier, not both")
    if dp and clip is None:
        raise typer.BadParameter("a DP FedAvg job needs --clip (the L2 norm every round update is clipped to)")

    def build(ids: list[int]) -> dict[str, Any]:
        if not dp:
            params = FedAvgParams(rounds=rounds, learning_rate=learning_rate, model=model)
            return fedavg_document(ids, label_column, validation, params)
        assert clip is not None  # checked above
        sigma = 1.0 if noise_multiplier is None else noise_multiplier  # a target ε replaces it below
        noise = DPParams(clip, sigma, float(format_delta(job_delta)))
        params = FedAvgParams(rounds=rounds, learning_rate=learning_rate, model=model, dp=noise, contribution=False)
        size = params.build_model(features or _feature_count(workspace, ids, label_column)).size
        document = {**fedavg_document(ids, label_column, validation, params), "dims": size}
        return document if epsilon_per_source is None else fedavg_noise_for(document, len(ids), epsilon_per_source)

    _open("fedavg", sources, compute, budget, deadline, workspace, build, job_delta if dp else None)


def _feature_count(workspace: Path, source_ids: list[int], label_column: str) -> int:
    """The feature columns of the first of the job's sources this workspace holds (every column but id and label)."""
    from compute.errors import InvalidInput
    from compute.jobs.workspace import Workspace

    held = Workspace.load(workspace).sources
    for source_id in source_ids:
        if source_id in held:
            source = held[source_id]
            try:
                with source.path.open(encoding="utf-8") as file:
                    header = [name.strip() for name in file.readline().split(",")]
            except (OSError, UnicodeDecodeError) as exc:
                raise InvalidInput(f"cannot read {source.path} to count its features: {exc}") from None
            return len([name for name in header if name not in (source.id_column, label_column)])
    raise InvalidInput(
        "a DP FedAvg job needs the model's size: give --features (this workspace holds none of the job's sources)"
    )


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
    node_wait: float = typer.Option(
        60.0, "--node-wait", min=0.0, help="Seconds to wait for an unreachable chain node at start before giving up."
    ),
) -> None:
    """Run this party's part of JOB_ID until it is final, with live progress bars in a terminal."""
    from compute.jobs.party_process import run_party
    from custos.progress_view import ProgressView

    view = ProgressView()
    if as_json or not view.console.is_terminal:
        with user_errors():
            raise typer.Exit(run_party(workspace, job_id, 0, protocol_timeout, node_wait=node_wait))
    with user_errors(), view:
        code = run_party(workspace, job_id, 0, protocol_timeout, on_progress=view, node_wait=node_wait)
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
