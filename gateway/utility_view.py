"""The job page's utility table: a participant's result bundle checked against what the chain committed.

The utility table never goes on chain (only its hash does), so the page can show it only where
this gateway's runner kept the job's result bundle (`<workspace>/results/<job>.json`, the
format of `compute.jobs.party_process.save_results`) and only to the job's participants and
auditors (who may read the bundle at `GET /jobs/{id}/result`). Each check says what it compared:

- utility table hash: keccak of the table's canonical JSON is the committed `utilityTableHash`;
- weights follow from the table: the weight rule (replication-robust Shapley, scaled and
  floored) recomputed from the table alone gives the bundle's weights;
- committed weights: the bundle's weights are the ones `ResultCommitted` recorded;
- contribution hash: keccak(abi.encode(weights, table hash)) is the committed `contributionHash`;
- transcript root: the bundle's transcript leaves give the committed `transcriptRoot`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from compute.contribution import UtilityTable
from compute.contribution.report import to_weights
from compute.contribution.robust import robust_shapley
from compute.contribution.shapley import EXACT_LIMIT, leave_one_out
from compute.errors import InvalidInput
from gateway.membership import Member, Role
from gateway.schemas.audit import CheckResult, JobTrail, UtilityEntry, UtilityTableView
from ledger.merkle import MerkleTree, leaf_hash
from ledger.protocol import contribution_hash


def _bytes32(value: object) -> bytes:
    data = bytes.fromhex(str(value).removeprefix("0x"))
    if len(data) != 32:
        raise ValueError(f"{str(value)[:80]!r} is not 32 bytes")
    return data


def _check(name: str, ok: bool, why: str, detail_ok: str = "") -> CheckResult:
    return CheckResult(name=name, status="passed" if ok else "failed", detail=detail_ok if ok else why)


def rule_weights(table: UtilityTable, details: Mapping[str, Any]) -> list[int]:
    """The weights the rule gives for `table`, with the replica groups and owners the bundle names."""
    sources = len(table.sources)
    if sources > EXACT_LIMIT:
        return to_weights(leave_one_out(sources, table))
    groups = details.get("groups", details.get("replica_groups"))
    owners = details.get("owners")
    robust = robust_shapley(
        sources,
        table,
        groups=[[int(k) for k in g] for g in groups] if groups is not None else None,
        owners=[str(o) for o in owners] if owners is not None else None,
    )
    return to_weights(robust.values)


def _section(bundle: Mapping[str, Any]) -> Mapping[str, Any] | None:
    section = bundle.get("contribution")
    if section is None and isinstance(bundle.get("result"), Mapping):
        section = bundle["result"].get("contribution")  # hetero-LR keeps it inside its result
    return section if isinstance(section, Mapping) else None


def utility_view(bundle: Mapping[str, Any], trail: JobTrail) -> UtilityTableView | None:
    """The bundle's utility table with its checks against `trail`; None without a table or a commit."""
    section, terms = _section(bundle), trail.terms
    if section is None or terms is None or terms.utility_table_hash is None:
        return None
    try:
        table = UtilityTable.from_json(section["utility_table"])
        weights = [int(w) for w in section["weights"]]
        details = dict(section.get("details") or {})
        derived = rule_weights(table, details)
    except (InvalidInput, KeyError, TypeError, ValueError) as exc:
        failed = CheckResult(name="utility table", status="failed", detail=f"the bundle's table does not parse: {exc}")
        return UtilityTableView(
            metric="", method="", sources=[], entries=[], scores=[], weights=[], checks=[failed], verified=False
        )
    ids = [s.source_id for s in terms.sources]
    committed = [c.weight for c in trail.contributions]
    table_hash = table.digest()
    checks = [
        _check(
            "utility table hash",
            "0x" + table_hash.hex() == terms.utility_table_hash,
            f"the table hashes to 0x{table_hash.hex()}, the chain committed {terms.utility_table_hash}",
        ),
        _check(
            "weights follow from the table",
            derived == weights,
            f"the rule gives {derived} from this table, the bundle says {weights}",
            f"{section.get('method', 'the rule')} over {len(table.values)} coalitions gives {derived}",
        ),
        _check("committed weights", weights == committed, f"the bundle says {weights}, the chain recorded {committed}"),
        _check(
            "contribution hash",
            "0x" + contribution_hash(weights, table_hash).hex() == terms.contribution_hash,
            f"keccak(weights, table hash) is not the committed {terms.contribution_hash}",
        ),
        _transcript_check(bundle.get("transcript_leaves"), terms.transcript_root),
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
        root = MerkleTree.from_leaves([leaf_hash(_bytes32(m)) for m in leaves]).root
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
        loaded = json.loads((workspace / "results" / f"{job_id}.json").read_bytes())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None
