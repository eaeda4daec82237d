"""`custos audit …`: trails of a job, a source or a member, verified against the chain; checkpoints; bundles.

Exit status: 0 all checks passed; 1 a usage or connection error; 2 bad input; 3 a check
failed (a line `✗ <subject>: <check>: <why>` names it), including a history change seen by
sync (unless `--accept-reorg`) and a chain store that fails verification on open.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(name="audit", help="Query and verify the on-chain audit trail.", no_args_is_help=True)
checkpoint_app = typer.Typer(name="checkpoint", help="Save and check blocks you have seen.", no_args_is_help=True)
export_app = typer.Typer(name="export", help="Write a self-contained evidence bundle.", no_args_is_help=True)
app.add_typer(checkpoint_app, name="checkpoint")
app.add_typer(export_app, name="export")

RPC = typer.Option(
    ["http://127.0.0.1:8545"],
    "--rpc",
    envvar="CUSTOS_RPC",
    help="JSON-RPC endpoint of a node; repeat for several organisations' nodes (all must agree).",
)
CHAIN = typer.Option(
    None,
    "--chain",
    help="Embedded chain directory: its deployment.json, its index, and "
    "the chain itself in-process (verified on open) when no node answers at --rpc.",
)
DEPLOYMENT = typer.Option(None, "--deployment", help="deployment.json (default: ./deployment.json).")
INDEX = typer.Option(None, "--index", help="Local event index (default: audit-index.db beside deployment.json).")
CHECKPOINTS = typer.Option(
    None, "--checkpoints", help="Saved checkpoints (default: audit-checkpoints.json beside deployment.json)."
)
VERIFY = typer.Option(False, "--verify", help="Check every record against the chain and report what failed.")
JSON = typer.Option(False, "--json", help="Print JSON instead of a timeline.")
KIND = typer.Option(None, "--kind", help="Only these events (repeatable), e.g. --kind ConsentGiven.")
STATUS = typer.Option(None, "--status", help="Only jobs in this status (Open, Ready, Committed, Finalized, ...).")
SINCE = typer.Option(None, "--since", help="From this time (ISO date/time UTC, or unix seconds).")
UNTIL = typer.Option(None, "--until", help="Before this time (ISO date/time UTC, or unix seconds).")
NO_SYNC = typer.Option(False, "--no-sync", help="Answer from the local index without reading new blocks.")
ACCEPT_REORG = typer.Option(
    False, "--accept-reorg", help="Re-index when history changed instead of failing (never legitimate when sealed)."
)


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


@contextmanager
def _open(
    rpc: list[str], chain: Path | None, deployment: Path | None, index: Path | None, saved: Path | None
) -> Iterator[Any]:
    """The auditor, closed afterwards; a chain store failing verification is a failed check (exit 3)."""
    from ledger.audit.session import AuditPaths, open_auditor
    from ledger.chain.errors import HistoryError

    try:
        auditor = open_auditor(rpc, chain, AuditPaths.resolve(chain, deployment, index, saved))
    except HistoryError as exc:
        typer.echo(f"✗ chain store: chain store: {exc}")
        raise typer.Exit(3) from None
    try:
        yield auditor
    finally:
        auditor.close()


def _sync(auditor: Any, accept_reorg: bool) -> None:
    from ledger.index import HistoryChanged

    try:
        auditor.sync(accept_reorg=accept_reorg)
    except HistoryChanged as exc:
        typer.echo(f"✗ block {exc.height}: history unchanged: {exc}")
        raise typer.Exit(3) from None


@contextmanager
def audited(
    rpc: list[str],
    chain: Path | None,
    deployment: Path | None,
    index: Path | None,
    saved: Path | None,
    sync: bool = True,
    accept_reorg: bool = False,
) -> Iterator[Any]:
    """The open-and-verify preamble of every audit command: the auditor (a chain store failing verification
    exits 3), synced to the head unless `sync` is False (a history change exits 3), closed afterwards; a
    ledger error on the way or inside the block is one `error:` line and exit 1."""
    from ledger.errors import LedgerError

    try:
        with _open(rpc, chain, deployment, index, saved) as auditor:
            store = auditor.queries.store
            if sync and store.read_only:
                raise _fail(f"the event index {store.path} is read-only: answer from it as it is with --no-sync")
            if sync:
                _sync(auditor, accept_reorg)
            yield auditor
    except LedgerError as exc:
        raise _fail(str(exc)) from None


def _run(what: str, key: Any, options: dict[str, Any]) -> None:
    from ledger.audit import render
    from ledger.audit.envelope import envelope
    from ledger.audit.trails import TrailFilter

    try:
        where = TrailFilter(
            tuple(options["kind"] or ()),
            options["status"],
            _time(options["since"], "--since"),
            _time(options["until"], "--until"),
        )
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    paths = (options["rpc"], options["chain"], options["deployment"], options["index"], options["saved"])
    with audited(*paths, sync=not options["no_sync"], accept_reorg=options["accept_reorg"]) as auditor:
        queries, verifier = auditor.queries, auditor.verifier
        trail = {"job": queries.job_trail, "source": queries.source_trail, "member": queries.member_trail}[what](
            key, where
        )
        report = None
        if options["verify"]:
            report = {
                "job": verifier.verify_job,
                "source": verifier.verify_source,
                "member": verifier.verify_member,
            }[what](key)
        budget = _source_budget(queries, key, where) if what == "source" else None
        if options["as_json"]:
            body = render.trail_json(trail, report)
            if budget is not None:
                body["privacyBudget"] = budget.to_json()
            typer.echo(json.dumps(envelope(auditor.verifier.view, body), indent=1))
        else:
            show: Any = {"job": render.render_job, "source": render.render_source, "member": render.render_member}
            typer.echo(show[what](trail, queries.member_names(), report))
            if budget is not None:
                from ledger.audit.budget import render_history

                typer.echo(render_history(budget))
    if report is not None and not report.ok:
        raise typer.Exit(3)


def _source_budget(queries: Any, source_id: int, where: Any) -> Any:
    """The source's privacy budget in the trail's time window (ledger/audit/budget.py)."""
    from ledger.audit.budget import budget_history, source_budget_events

    return budget_history(source_budget_events(queries, source_id), source_id, where.since, where.until)


@app.command()
def job(
    job_id: int = typer.Argument(..., help="Job id."),
    rpc: list[str] = RPC,
    chain: Path | None = CHAIN,
    deployment: Path | None = DEPLOYMENT,
    index: Path | None = INDEX,
    checkpoints: Path | None = CHECKPOINTS,
    verify: bool = VERIFY,
    as_json: bool = JSON,
    kind: list[str] | None = KIND,
    status: str | None = STATUS,
    since: str | None = SINCE,
    until: str | None = UNTIL,
    no_sync: bool = NO_SYNC,
    accept_reorg: bool = ACCEPT_REORG,
) -> None:
    """Every event of a job in order, with block, time and actor."""
    _run("job", job_id, {**locals(), "saved": checkpoints})


@app.command()
def source(
    source_id: int = typer.Argument(..., help="Data source id."),
    rpc: list[str] = RPC,
    chain: Path | None = CHAIN,
    deployment: Path | None = DEPLOYMENT,
    index: Path | None = INDEX,
    checkpoints: Path | None = CHECKPOINTS,
    verify: bool = VERIFY,
    as_json: bool = JSON,
    kind: list[str] | None = KIND,
    status: str | None = STATUS,
    since: str | None = SINCE,
    until: str | None = UNTIL,
    no_sync: bool = NO_SYNC,
    accept_reorg: bool = ACCEPT_REORG,
) -> None:
    """A data source's versions and every job that used it, with consent and payout."""
    _run("source", source_id, {**locals(), "saved": checkpoints})


@app.command()
def member(
    address: str = typer.Argument(..., help="Member address (0x…)."),
    rpc: list[str] = RPC,
    chain: Path | None = CHAIN,
    deployment: Path | None = DEPLOYMENT,
    index: Path | None = INDEX,
    checkpoints: Path | None = CHECKPOINTS,
    verify: bool = VERIFY,
    as_json: bool = JSON,
    kind: list[str] | None = KIND,
    status: str | None = STATUS,
    since: str | None = SINCE,
    until: str | None = UNTIL,
    no_sync: bool = NO_SYNC,
    accept_reorg: bool = ACCEPT_REORG,
) -> None:
    """Everything a member did or was named in, and what it was credited and withdrew."""
    if not (address.startswith("0x") and len(address) == 42):
        raise _fail(f"{address!r} is not an address (0x followed by 40 hex digits)", 2)
    _run("member", address, {**locals(), "saved": checkpoints})


@checkpoint_app.command("save")
def checkpoint_save(
    rpc: list[str] = RPC,
    chain: Path | None = CHAIN,
    deployment: Path | None = DEPLOYMENT,
    checkpoints: Path | None = CHECKPOINTS,
    height: int | None = typer.Option(None, "--height", help="Block to save (default: the head)."),
) -> None:
    """Record (height, hash, seals) of a block every node agrees on and a quorum sealed."""
    from ledger.audit import checkpoints as cp
    from ledger.audit.session import AuditPaths

    paths = AuditPaths.resolve(chain, deployment, None, checkpoints)
    with audited(rpc, chain, deployment, paths.index, paths.checkpoints, sync=False) as auditor:
        saved, report = cp.save(auditor, paths.checkpoints, height)
    _print_report(report)
    if saved is None:
        raise typer.Exit(3)
    typer.echo(f"saved block {saved.height} 0x{saved.hash.hex()} in {paths.checkpoints}")


@checkpoint_app.command("check")
def checkpoint_check(
    rpc: list[str] = RPC,
    chain: Path | None = CHAIN,
    deployment: Path | None = DEPLOYMENT,
    checkpoints: Path | None = CHECKPOINTS,
) -> None:
    """Check that history at every saved height is unchanged on every node."""
    from ledger.audit import checkpoints as cp
    from ledger.audit.session import AuditPaths

    paths = AuditPaths.resolve(chain, deployment, None, checkpoints)
    with audited(rpc, chain, deployment, paths.index, paths.checkpoints, sync=False) as auditor:
        report = cp.check(auditor)
    _print_report(report)
    if not report.ok:
        raise typer.Exit(3)


@export_app.command("job")
def export_job(
    job_id: int = typer.Argument(..., help="Job id."),
    out: Path = typer.Option(..., "--out", help="Bundle file to write."),
    rpc: list[str] = RPC,
    chain: Path | None = CHAIN,
    deployment: Path | None = DEPLOYMENT,
    index: Path | None = INDEX,
    checkpoints: Path | None = CHECKPOINTS,
    utility_table: Path | None = typer.Option(
        None, "--utility-table", help="The job's utility table (JSON, as committed) if you hold it."
    ),
    transcript_leaves: Path | None = typer.Option(
        None, "--transcript-leaves", help="The job's transcript message hashes (JSON list of 0x-hex) if you hold them."
    ),
    params: Path | None = typer.Option(
        None, "--params", help="The job's parameter document (JSON): adds its DP parameters and the accountant's ε."
    ),
    accept_reorg: bool = ACCEPT_REORG,
) -> None:
    """Write job N's evidence (headers, seals, txs, receipts with proofs, events, payout) to one file."""
    from ledger.audit.bundle import export_job as export

    if out.is_dir() or not out.parent.is_dir():  # refused before the chain is read and verified, not after
        raise _fail(f"cannot write {out}: {'a folder' if out.is_dir() else 'its folder does not exist'}", 2)
    with audited(rpc, chain, deployment, index, checkpoints, accept_reorg=accept_reorg) as auditor:
        report = auditor.verifier.verify_job(job_id)
        if not report.ok:
            _print_report(report)
            typer.echo("error: the job does not verify against the chain; no bundle written", err=True)
            raise typer.Exit(3)
        privacy = None
        if params is not None:
            from custos.commands.audit_budget import privacy_evidence

            opened = next(e for e in auditor.queries.job_events(job_id) if e.event == "JobOpened")
            privacy = privacy_evidence(params, opened)
        bundle = export(auditor, job_id, _json_file(utility_table), _json_file(transcript_leaves), privacy=privacy)
    try:
        out.write_text(json.dumps(bundle, indent=1))
    except OSError as exc:  # no permission, a full disk
        raise _fail(f"cannot write {out}: {exc}", 2) from None
    typer.echo(f"wrote {out}: job {job_id}, {len(bundle['headers'])} headers, {len(bundle['events'])} events")


def _json_file(path: Path | None) -> Any:
    if path is None:
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise _fail(f"cannot read {path}: {exc}", 2) from None


@app.command("verify-bundle")
def verify_bundle(
    bundle: Path = typer.Argument(..., help="An evidence bundle written by `custos audit export`."),
    deployment: Path | None = typer.Option(
        None, "--deployment", help="Your deployment.json: the bundle's genesis must be the one it pins."
    ),
    as_json: bool = JSON,
) -> None:
    """Check an evidence bundle with no node and no network; the same checks as --verify."""
    from ledger.audit import render
    from ledger.audit.bundle import BundleError, load_bundle, verify
    from ledger.deployment import Deployment
    from ledger.errors import LedgerError

    try:
        loaded = load_bundle(bundle)
        pin = Deployment.load(deployment).genesis if deployment else None
    except (BundleError, LedgerError) as exc:
        raise _fail(str(exc), 2) from None
    if deployment and not pin:
        raise _fail(f"{deployment} pins no genesis", 2)
    result = verify(loaded, bytes.fromhex(str(pin["hash"])[2:]) if pin else None)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=1))
    else:
        typer.echo(render.render_job(result.trail, result.names, result.report))
    if not result.report.ok:
        raise typer.Exit(3)


def _print_report(report: Any) -> None:
    from ledger.audit import render

    typer.echo("\n".join(render.verdict(report)))
