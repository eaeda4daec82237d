"""Data-contribution scores: utility tables, Shapley values (exact, Monte Carlo, leave-one-out),
a replication-robust variant, and the integer weights + hashes a job commits on chain.
"""

from compute.contribution.report import WEIGHT_SCALE, ChainCommit, ContributionReport, to_weights
from compute.contribution.robust import RobustShapley, replica_groups, robust_shapley
from compute.contribution.rule import REPLICA_TOLERANCE, contribution_problems, derive_report
from compute.contribution.shapley import (
    EXACT_LIMIT,
    MonteCarloEstimate,
    exact_shapley,
    leave_one_out,
    monte_carlo_shapley,
)
from compute.contribution.utility import CachedUtility, UtilityTable, complete_table

__all__ = [
    "EXACT_LIMIT",
    "REPLICA_TOLERANCE",
    "WEIGHT_SCALE",
    "CachedUtility",
    "ChainCommit",
    "ContributionReport",
    "MonteCarloEstimate",
    "RobustShapley",
    "UtilityTable",
    "complete_table",
    "contribution_problems",
    "derive_report",
    "exact_shapley",
    "leave_one_out",
    "monte_carlo_shapley",
    "replica_groups",
    "robust_shapley",
    "to_weights",
]
