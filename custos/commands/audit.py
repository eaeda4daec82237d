"""`custos audit …`: the trail of a job, a data source or a member, optionally verified against the chain."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(name="audit", help="Query and verify the on-chain audit trail.", no_args_is_help=True)

RPC = typer.Option("http://127.0.0.1:8545", "--rpc", envvar="CUSTOS_RPC", help="JSON-RPC endpoint of a node.")
CHAIN = typer.Option(
    None,
    "--chain",
    help="Embedded chain directory: its deployment.json, its index, and "
    "the chain itself in-process when no node answers at --rpc.",
)
DEPLOYMENT = typer.Option(None, "--deployment", help="deployment.json (default: ./deployment.json).")
INDEX = typer.Option(None, "--index", help="Local event index (default: audit-index.db beside deployment.json).")
VERIFY = typer.Option(False, "--verify", help="Check every record against the chain and report what failed.")
JSON = typer.Option(False, "--json", help="Print JSON instead of a timeline.")
KIND = typer.Option(None, "--kind", help="Only these events (repeatable), e.g. --kind ConsentGiven.")
STATUS = typer.Option(None, "--status", help="Only jobs in this status (Open, Ready, Committed, Finalized, ...).")
SINCE = typer.Option(None, "--since", help="From this time (ISO date/time UTC, or unix seconds).")
UNTIL = typer.Option(None, "--until", help="Before this time (ISO date/time UTC, or unix seconds).")
NO_SYNC = typer.Option(False, "--no-sync", help="Answer from the local index without reading new blocks.")


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _time(value: str | None, option: str) -> int | None:
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _fail(f"{option} {value!r} is neither unix seconds nor an ISO date/time", 2) from None
    return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).timestamp())


def _auditor(rpc: str, chain: Path | None, deployment: Path | None, index: Path | None) -> Any:
    from ledger.audit.auditor import Auditor
    from ledger.client import connect
    from ledger.errors import ConnectionFailed
    from ledger.protocol import Deployment

    deployment = deployment or (chain / "deployment.json" if chain else Path("deployment.json"))
    info = Deployment.load(deployment)
    index = index or deployment.parent / "audit-index.db"
    try:
        w3 = connect(rpc, chain_id=info.chain_id, timeout=5)
    except ConnectionFailed:
        if chain is None:
            raise
        from ledger.chain.node import Node
        from ledger.chain.provider import NodeProvider

        w3 = connect(NodeProvider(Node.open(chain, verify=False)), chain_id=info.chain_id)
    return Auditor.open(w3, info, index)


def _run(
    what: str,
    key: Any,
    rpc: str,
    chain: Path | None,
    deployment: Path | None,
    index: Path | None,
    verify: bool,
    as_json: bool,
    kind: list[str] | None,
    status: str | None,
    since: str | None,
    until: str | None,
    no_sync: bool,
) -> None:
    from ledger.audit import render
    from ledger.audit.trails import TrailFilter
    from ledger.errors import LedgerError

    try:
        where = TrailFilter(tuple(kind or ()), status, _time(since, "--since"), _time(until, "--until"))
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    try:
        auditor = _auditor(rpc, chain, deployment, index)
        if not no_sync:
            auditor.sync()
        queries, verifier = auditor.queries, auditor.verifier
        trail = {"job": queries.job_trail, "source": queries.source_trail, "member": queries.member_trail}[what](
            key, where
        )
        report = None
        if verify:
            report = {"job": verifier.verify_job, "source": verifier.verify_source, "member": verifier.verify_member}[
                what
            ](key)
    except LedgerError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(render.trail_json(trail, report), indent=1, default=str))
    else:
        show = {"job": render.render_job, "source": render.render_source, "member": render.render_member}[what]
        typer.echo(show(trail, queries.member_names(), report))
    if report is not None and not report.ok:
        raise typer.Exit(3)


@app.command()
def job(
    job_id: int = typer.Argument(..., help="Job id."),
    rpc: str = RPC,
    chain: Path | None = CHAIN,
    deployment: Path | None = DEPLOYMENT,
    index: Path | None = INDEX,
    verify: bool = VERIFY,
    as_json: bool = JSON,
    kind: list[str] | None = KIND,
    status: str | None = STATUS,
    since: str | None = SINCE,
    until: str | None = UNTIL,
    no_sync: bool = NO_SYNC,
) -> None:
    """Every event of a job in order, with block, time and actor."""
    _run("job", job_id, rpc, chain, deployment, index, verify, as_json, kind, status, since, until, no_sync)


@app.command()
def source(
    source_id: int = typer.Argument(..., help="Data source id."),
    rpc: str = RPC,
    chain: Path | None = CHAIN,
    deployment: Path | None = DEPLOYMENT,
    index: Path | None = INDEX,
    verify: bool = VERIFY,
    as_json: bool = JSON,
    kind: list[str] | None = KIND,
    status: str | None = STATUS,
    since: str | None = SINCE,
    until: str | None = UNTIL,
    no_sync: bool = NO_SYNC,
) -> None:
    """A data source's versions and every job that used it, with consent and payout."""
    _run("source", source_id, rpc, chain, deployment, index, verify, as_json, kind, status, since, until, no_sync)


@app.command()
def member(
    address: str = typer.Argument(..., help="Member address (0x…)."),
    rpc: str = RPC,
    chain: Path | None = CHAIN,
    deployment: Path | None = DEPLOYMENT,
    index: Path | None = INDEX,
    verify: bool = VERIFY,
    as_json: bool = JSON,
    kind: list[str] | None = KIND,
    status: str | None = STATUS,
    since: str | None = SINCE,
    until: str | None = UNTIL,
    no_sync: bool = NO_SYNC,
) -> None:
    """Everything a member did or was named in, and what it was credited and withdrew."""
    if not (address.startswith("0x") and len(address) == 42):
        raise _fail(f"{address!r} is not an address (0x followed by 40 hex digits)", 2)
    _run("member", address, rpc, chain, deployment, index, verify, as_json, kind, status, since, until, no_sync)
