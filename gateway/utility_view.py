"""The job page's utility table: a participant's result bundle checked against what the chain committed.

The utility table never goes on chain (only its hash does), so the page can show it only where
this gateway's runner kept the job's result bundle (`compute.jobs.service.ResultStore`, the
format of `compute.bundle.result_bundle`) and only to the job's participants and
auditors (who may read the bundle at `GET /jobs/{id}/result`). Each check says what it compared:

- utility table hash: keccak of the table's canonical JSON is the committed `utilityTableHash`;
- weights follow from the table: `compute.contribution.rule` (the one weight rule) re-derives the
  bundle's weights from the table alone;
- committed weights: the bundle's weights are the ones `ResultCommitted` recorded;
- contribution hash: keccak(abi.encode(weights, table hash)) is the committed `contributionHash`;
- transcript root: the bundle's transcript leaves give the committed `transcriptRoot`;
- bundle adds up: whatever else `compute.bundle.verify_bundle` finds (leaf count, result hash).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from compute.bundle import transcript_root, verify_bundle
from compute.contribution import UtilityTable
from compute.contribution.rule import contribution_problems
from compute.errors import InvalidInput
from compute.jobs.service import ResultStore
from gateway.membership import Member, Role
from gateway.schemas.audit import CheckResult, JobTrail, UtilityEntry, UtilityTableView
from ledger.protocol import contribution_hash


def _check(name: str, ok: bool, why: str, detail_ok: str = "") -> CheckResult:
    return CheckResult(name=name, status="passed" if ok else "failed", detail=detail_ok if ok else why)


def utility_view(bundle: Mapping[str, Any], trail: JobTrail) -> UtilityTableView | None:
    """The bundle's utility table with its checks against `trail`; None without a table or a commit."""
    section, terms = bundle.get("contribution"), trail.terms
    if not isinstance(section, Mapping) or terms is None or terms.utility_table_hash is None:
        return None
    try:
        table = UtilityTable.from_json(section["utility_table"])
        weights = [int(w) for w in section["weights"]]
    except (InvalidInput, KeyError, TypeError, ValueError) as exc:
        failed = CheckResult(name="utility table", status="failed", detail=f"the bundle's table does not parse: {exc}")
        return UtilityTableView(
            metric="", method="", sources=[], entries=[], scores=[], weights=[], checks=[failed], verified=False
        )
    ids = [s.source_id for s in terms.sources]
    committed = [c.weight for c in trail.contributions]
    table_hash = table.digest()
    rule = contribution_problems(section)  # the one weight rule, re-derived from the table alone
    rest = [p for p in verify_bundle(bundle) if p not in rule]
    checks = [
        _check(
            "weights follow from the table",
            not rule,
            "; ".join(rule),
            f"{section.get('method', 'the rule')} over {len(table.values)} coalitions gives {weights}",
        ),
        _check(
            "utility table hash",
            "0x" + table_hash.hex() == terms.utility_table_hash,
            f"the table hashes to 0x{table_hash.hex()}, the chain committed {terms.utility_table_hash}",
        ),
        _check("committed weights", weights == committed, f"the bundle says {weights}, the chain recorded {committed}"),
        _check(
            "contribution hash",
            "0x" + contribution_hash(weights, table_hash).hex() == terms.contribution_hash,
            f"keccak(weights, table hash) is not the committed {terms.contribution_hash}",
        ),
        _transcript_check(bundle.get("transcript_leaves"), terms.transcript_root),
        _check("bundle adds up", not rest, "; ".join(rest)),
    ]
    entries = sorted(table.values.items(), key=lambda e: (len(e[0]), sorted(e[0])))
    return UtilityTableView(
        metric=table.metric,
        method=str(section.get("method", "")),
        sources=[ids[i] if i < len(ids) else i for i in range(len(table.sources))],
        entries=[
            UtilityEntry(coalition=[ids[i] if i < len(ids) else i for i in sorted(k)], utility=v) for k, v in entries
        ],
        scores=[float(s) for s in section.get("scores", [])],
        weights=weights,
        checks=checks,
        verified=all(c.status != "failed" for c in checks),
    )


def _transcript_check(leaves: object, committed: str | None) -> CheckResult:
    if not isinstance(leaves, Sequence) or isinstance(leaves, str):
        return CheckResult(name="transcript root", status="not applicable", detail="the bundle lists no leaves")
    try:
        root = transcript_root([str(m) for m in leaves])
    except ValueError as exc:
        return CheckResult(name="transcript root", status="failed", detail=f"a leaf does not parse: {exc}")
    return _check(
        "transcript root",
        "0x" + root.hex() == committed,
        f"the {len(leaves)} leaves give 0x{root.hex()}, the chain committed {committed}",
        f"{len(leaves)} leaves",
    )


def readable_by(who: Member, trail: JobTrail) -> bool:
    """Whether `who` may see the job's result bundle: a participant or an auditor."""
    return who.address in trail.job.participants or who.holds(Role.AUDITOR)


def kept_bundle(workspace: Path | None, job_id: int) -> dict[str, Any] | None:
    """This gateway's runner's result bundle of the job, or None (no runner, no result, unreadable)."""
    if workspace is None:
        return None
    try:
        return ResultStore(workspace).load(job_id)
    except (InvalidInput, OSError):
        return None
