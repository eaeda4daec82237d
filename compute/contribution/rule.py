"""The weight rule: the one way a utility table becomes the integer weights a job commits.

Every party that measures a table (the hetero-LR guest, the FedAvg aggregator) derives its
weights here, and every party that signs or checks them (attesters, the committing compute
party, an auditor holding a result bundle) re-derives them here from the table alone. The
rule, stated in docs/protocol.md ("Contribution weights") precisely enough to re-implement:

- replica groups: sources i < j are replicas when, for every coalition S of the others,
  |v(S∪i) − v(S∪j)| ≤ tol and |v(S∪{i,j}) − v(S∪i)| ≤ tol (transitive closure);
- values: up to EXACT_LIMIT sources, exact Shapley over the groups, each group's value split
  equally per distinct owner (compared without case), then per source of that owner;
  beyond, leave-one-out;
- weights: ⌊max(value, 0) / Σ max(value, 0) · WEIGHT_SCALE⌋, all 1 when no value is positive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from compute.contribution.report import ContributionReport
from compute.contribution.robust import robust_shapley
from compute.contribution.shapley import EXACT_LIMIT, leave_one_out
from compute.contribution.utility import UtilityTable
from compute.errors import InvalidInput
from ledger.protocol import contribution_hash

REPLICA_TOLERANCE = 1e-9  # utilities closer than this are equal: well below any AUC difference a row makes
ROBUST = "shapley-replication-robust"
LEAVE_ONE_OUT = "leave-one-out"


def derive_report(
    table: UtilityTable, owners: Sequence[str], tolerance: float = REPLICA_TOLERANCE
) -> ContributionReport:
    """The contribution report the rule gives for `table` (owners name each source's owner, in table order)."""
    sources = len(table.sources)
    if len(owners) != sources:
        raise InvalidInput(f"{len(owners)} owners for {sources} sources in the utility table")
    if not tolerance >= 0:
        raise InvalidInput(f"the replica tolerance must be ≥ 0, not {tolerance}")
    named = list(owners)
    if sources <= EXACT_LIMIT:
        # Owners are addresses: compared without case, so one owner cannot pass for two by spelling.
        robust = robust_shapley(sources, table, tol=tolerance, owners=[o.lower() for o in owners])
        groups = [list(g) for g in robust.groups]
        return ContributionReport.build(
            table, ROBUST, robust.values, robust.error_bound, groups=groups, owners=named, replica_tolerance=tolerance
        )
    scores = leave_one_out(sources, table)
    return ContributionReport.build(table, LEAVE_ONE_OUT, scores, owners=named, replica_tolerance=tolerance)


def contribution_problems(section: Mapping[str, Any]) -> list[str]:
    """What is wrong with a contribution section (`ContributionReport.to_json`): [] when it follows the rule.

    Recomputes the table hash from the table, the weights from the table by the rule (with the
    owners and replica tolerance the section names), and the contribution hash from both.
    """
    try:
        table = UtilityTable.from_json(section["utility_table"])
        details = dict(section.get("details") or {})
        owners = [str(o) for o in details.get("owners", table.sources)]
        tolerance = float(details.get("replica_tolerance", REPLICA_TOLERANCE))
        weights = [int(w) for w in section["weights"]]
        claimed_table = bytes.fromhex(str(section["utility_table_hash"]).removeprefix("0x"))
        claimed_contribution = bytes.fromhex(str(section["contribution_hash"]).removeprefix("0x"))
        derived = derive_report(table, owners, tolerance)
    except (InvalidInput, KeyError, TypeError, ValueError) as exc:
        return [f"the contribution section does not parse: {exc}"]
    problems = []
    if claimed_table != table.digest():
        problems.append("utility_table_hash is not the hash of the utility table")
    if weights != list(derived.weights):
        problems.append(
            f"weights {weights} do not follow from the utility table: the rule gives {list(derived.weights)}"
        )
    if claimed_contribution != contribution_hash(weights, claimed_table):
        problems.append("contribution_hash is not the hash of the weights and the utility table hash")
    return problems
