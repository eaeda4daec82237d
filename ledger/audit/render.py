"""Rendering trails for people (an aligned timeline) and for programs (JSON)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from ledger.audit.report import FAILED, VerificationReport
from ledger.audit.trails import JobTrail, MemberTrail, SourceTrail
from ledger.audit.verify import describe
from ledger.index.store import IndexedEvent
from ledger.protocol import kind_name
from ledger.units import format_amount

_QUIET = {"jobId"}  # said once in the heading, not on every line
_AMOUNTS = {"amount", "budget", "escrow", "pricePerUse", "refund"}  # token base units


def tokens(units: int) -> str:
    """A token amount in whole tokens, exact (`11.766666666666666666 CST`)."""
    return format_amount(units, symbol=True)


def _value(key: str, value: Any, names: Mapping[str, str]) -> str:
    if key in _AMOUNTS and isinstance(value, int):
        return tokens(value)
    if key == "kind" and isinstance(value, int):
        return kind_name(value)
    return short(value, names)


def reason_text(value: str) -> str:
    """A bytes32 abort reason as the text it encodes (zero-padded UTF-8), or its hex if it is not text."""
    raw = bytes.fromhex(value[2:]).rstrip(b"\x00")
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return value
    return repr(text) if text.isprintable() else value


def short(value: Any, names: Mapping[str, str]) -> str:
    """A compact, readable form of one argument value (member names for known addresses)."""
    if isinstance(value, list):
        return "[" + ", ".join(short(v, names) for v in value) + "]"
    if isinstance(value, str) and value.startswith("0x"):
        name = names.get(value.lower())
        if name:
            return name
        return value if len(value) <= 14 else f"{value[:8]}…{value[-4:]}"
    return str(value)


def _when(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def timeline(
    events: Sequence[IndexedEvent], names: Mapping[str, str], report: VerificationReport | None = None
) -> list[str]:
    """One aligned line per event: time, block, event, actor, details (and a verdict when verified)."""
    failed: dict[str, list[str]] = {}
    if report is not None:
        for check in report.failures:
            failed.setdefault(check.subject, []).append(check.name)
    header = ["time (UTC)", "block", "event", "actor", "details"]
    rows = []
    for event in events:
        details = " ".join(f"{k}={_value(k, v, names)}" for k, v in event.args.items() if k not in _QUIET)

        details = " ".join(f"{k}={_detail(event.event, k, v, names)}" for k, v in event.args.items() if k not in _QUIET)
        row = [_when(event.block_time), str(event.block_number), event.event, short(event.actor, names), details]
        if report is not None:
            problems = failed.get(describe(event))
            row.insert(0, "✗ " + ",".join(problems) if problems else "✓")
        rows.append(row)
    if report is not None:
        header.insert(0, "ok")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [c.ljust(w) if i != header.index("block") else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells + [row[-1]]).rstrip())
    return lines


def _detail(event: str, key: str, value: Any, names: Mapping[str, str]) -> str:
    if key in _AMOUNTS and isinstance(value, int):
        return tokens(value)
    if event == "JobAborted" and key == "reason":
        return reason_text(value)
    return short(value, names)


def verdict(report: VerificationReport) -> list[str]:
    """The report's summary: one line per check, then each failure."""
    lines = [f"verification of {report.subject}: {'OK' if report.ok else 'FAILED'}"]
    for name, counts in report.summary().items():
        lines.append(f"  {name:<22} " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    warnings = sorted({c.detail for c in report.checks if c.name == "seal quorum" and "could rewrite" in c.detail})
    lines += [f"  ! finality: {w}" for w in warnings]
    lines += [f"  ✗ {c.subject}: {c.name}: {c.detail}" for c in report.checks if c.status == FAILED]
    return lines


def render_job(trail: JobTrail, names: Mapping[str, str], report: VerificationReport | None = None) -> str:
    """A job's heading and timeline."""
    opened = next((e for e in trail.events if e.event == "JobOpened"), None)
    heading = f"job {trail.job_id} · {trail.status}"
    if opened is not None:
        heading += (
            f" · {kind_name(opened.args['kind'])} · requester "
            f"{short(opened.args['requester'], names)} · budget {tokens(opened.args['budget'])}"
        )
    lines = [heading, "", *timeline(trail.events, names, report)]
    return "\n".join(lines + ([""] + verdict(report) if report else []))


def render_source(trail: SourceTrail, names: Mapping[str, str], report: VerificationReport | None = None) -> str:
    """A source's versions, uses and timeline."""
    lines = [f"data source {trail.source_id} · owner {short(trail.owner, names)}", "", "versions:"]
    lines += [
        f"  v{v.version}  {short(v.commitment, names)}  {v.row_count} rows  ({_when(v.event.block_time)})"
        for v in trail.versions
    ]
    lines += (
        ["", "used by:"]
        + [
            f"  job {u.job_id:<5} v{u.version}  {u.status:<10} consent: "
            f"{('auto' if u.consent.args['automatic'] else 'explicit') if u.consent else 'none':<8}"
            f" paid {tokens(u.paid)}"
            for u in trail.uses
        ]
        + ["", *timeline(trail.events, names, report)]
    )
    return "\n".join(lines + ([""] + verdict(report) if report else []))


def render_member(trail: MemberTrail, names: Mapping[str, str], report: VerificationReport | None = None) -> str:
    """A member's totals and timeline."""
    who = names.get(trail.address.lower())
    lines = [
        f"member {trail.address}"
        + (f" ({who})" if who else "")
        + f" · credited {tokens(trail.credited)} · withdrawn {tokens(trail.withdrawn)}",
        "",
        *timeline(trail.events, names, report),
    ]
    return "\n".join(lines + ([""] + verdict(report) if report else []))


def event_json(event: IndexedEvent) -> dict[str, Any]:
    """An event as JSON: position, time, contract, event, actor, arguments."""
    return {
        "block": event.block_number,
        "logIndex": event.log_index,
        "tx": "0x" + event.tx_hash.hex(),
        "blockHash": "0x" + event.block_hash.hex(),
        "time": event.block_time,
        "contract": event.contract,
        "event": event.event,
        "actor": event.actor,
        "args": json_args(event.event, event.args),
    }


def json_args(event: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """An event's arguments as JSON: amounts and large integers as decimal strings, reasons as text too."""
    return {k: _json_value(event, k, v) for k, v in args.items()}


def _json_value(event: str, key: str, value: Any) -> Any:
    """Integers as decimal strings when they may exceed what a double holds exactly (and amounts always)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and (key in _AMOUNTS or abs(value) >= 2**53):
        return str(value)
    if isinstance(value, list):
        return [_json_value(event, key, v) for v in value]
    if event == "JobAborted" and key == "reason":
        return {"hex": value, "text": reason_text(value).strip("'")}
    return value


def trail_json(trail: JobTrail | SourceTrail | MemberTrail, report: VerificationReport | None) -> dict[str, Any]:
    """A trail (and its verification) as JSON."""
    out: dict[str, Any] = {"events": [event_json(e) for e in trail.events]}
    if isinstance(trail, JobTrail):
        out.update(job=trail.job_id, status=trail.status)
    elif isinstance(trail, SourceTrail):
        out.update(
            source=trail.source_id,
            owner=trail.owner,
            versions=[{"version": v.version, "commitment": v.commitment, "rows": v.row_count} for v in trail.versions],
            uses=[
                {
                    "job": u.job_id,
                    "version": u.version,
                    "status": u.status,
                    "paid": str(u.paid),
                    "consent": None
                    if u.consent is None
                    else ("automatic" if u.consent.args["automatic"] else "explicit"),
                }
                for u in trail.uses
            ],
        )
    else:
        out.update(member=trail.address, credited=str(trail.credited), withdrawn=str(trail.withdrawn))
    if report is not None:
        out["verification"] = report.to_json()
    return out
