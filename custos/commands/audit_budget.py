"""`custos audit budget`: a source's privacy budget over a time window, from the index, verified on chain.

Registered on the `custos audit` app (custos/cli.py imports this module); options, exit
status and the auditor session are those of `custos audit …` (custos/commands/audit.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from custos.commands.audit import (
    ACCEPT_REORG,
    CHAIN,
    CHECKPOINTS,
    DEPLOYMENT,
    INDEX,
    JSON,
    NO_SYNC,
    RPC,
    SINCE,
    UNTIL,
    VERIFY,
    _fail,
    _time,
    app,
    audited,
)


@app.command()
def budget(
    source_id: int = typer.Option(..., "--source", help="Data source id."),
    rpc: list[str] = RPC,
    chain: Path | None = CHAIN,
    deployment: Path | None = DEPLOYMENT,
    index: Path | None = INDEX,
    checkpoints: Path | None = CHECKPOINTS,
    verify: bool = VERIFY,
    as_json: bool = JSON,
    since: str | None = SINCE,
    until: str | None = UNTIL,
    no_sync: bool = NO_SYNC,
    accept_reorg: bool = ACCEPT_REORG,
) -> None:
    """How much of a source's privacy budget was reserved, spent and released, by which job and when."""
    from ledger.audit.budget import (
        budget_history,
        budget_on_chain,
        check_budget,
        render_history,
        source_budget_events,
    )
    from ledger.audit.envelope import envelope

    start, end = _time(since, "--since"), _time(until, "--until")
    checks: list[Any] = []
    with audited(rpc, chain, deployment, index, checkpoints, sync=not no_sync, accept_reorg=accept_reorg) as auditor:
        events = source_budget_events(auditor.queries, source_id)
        history = budget_history(events, source_id, start, end)
        if verify:
            view = auditor.verifier.view_factory()
            address = auditor.deployment.privacy_budget

            def call(request: dict[str, str], block: int, subject: str) -> Any:
                return view.ask("eth_call", [request, hex(block)], subject)

            checks = auditor.verifier.trust_checks() + auditor.verifier.check_events(events)
            checks += check_budget(history, lambda b: budget_on_chain(call, address, source_id, b), view.head())
        if as_json:
            out = history.to_json()
            if verify:
                out["verification"] = {
                    "ok": all(c.status != "failed" for c in checks),
                    "checks": [{"check": c.check_id, "subject": c.subject, "status": c.status} for c in checks],
                }
            typer.echo(json.dumps(envelope(auditor.verifier.view, out), indent=1))
        else:
            typer.echo(render_history(history))
            for check in checks:
                if check.status == "failed":
                    typer.echo(f"✗ {check.subject}: {check.name}: {check.detail}")
            if verify:
                typer.echo(f"verified: {len(checks)} checks, {sum(c.status == 'failed' for c in checks)} failed")
    if any(c.status == "failed" for c in checks):
        raise typer.Exit(3)


def privacy_evidence(document_path: Path, opened: Any) -> dict[str, Any]:
    """The `privacy` section of a job's evidence bundle: its parameter document (checked against the
    job's recorded paramsHash), its DP parameters and the accountant's computation of the spend."""
    from eth_utils import keccak

    from compute.dp.budget import job_spend
    from compute.errors import InvalidInput
    from compute.result import canonical_json

    try:
        document = json.loads(document_path.read_text())
    except (OSError, ValueError) as exc:
        raise _fail(f"--params {document_path}: {exc}", 2) from None
    digest = "0x" + keccak(canonical_json(document)).hex()
    if digest != opened.args["paramsHash"]:
        raise _fail(f"--params {document_path} hashes to {digest}, the job recorded {opened.args['paramsHash']}", 2)
    try:
        spend = job_spend(opened.args["kind"], document, len(opened.args["sourceIds"]))
    except InvalidInput as exc:
        raise _fail(f"--params {document_path}: {exc}", 2) from None
    if spend is None:
        return {"parameters": document, "dp": False}
    return {
        "parameters": document,
        "dp": True,
        "epsilonsMicros": list(spend.epsilons),
        "deltaAtto": spend.delta,
        "accountant": dict(spend.accountant),
    }
