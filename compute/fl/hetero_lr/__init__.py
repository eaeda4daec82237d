"""Vertical (hetero) logistic regression under Paillier: guest (labels + features), hosts, arbiter (key).

Security assumption: semi-honest guest, hosts and arbiter; the arbiter colludes with no one
(FATE's model). Rows are aligned beforehand (PSI). Gradients use the first-order Taylor
approximation of the logistic loss and are masked before the arbiter decrypts them.
"""

from compute.fl.hetero_lr.guest import coalition_aucs
from compute.fl.hetero_lr.protocol import PROTOCOL, HeteroLRRun, run_hetero_lr
from compute.fl.hetero_lr.schedule import HeteroLRParams, reference_training

__all__ = ["PROTOCOL", "HeteroLRParams", "HeteroLRRun", "coalition_aucs", "reference_training", "run_hetero_lr"]
