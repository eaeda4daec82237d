"""Vertical (hetero) logistic regression under Paillier: guest (labels + features), hosts, arbiter (key).

Security assumption: semi-honest guest, hosts and arbiter; the arbiter colludes with no one
(FATE's model); encryption by default uses DJN short-exponent obfuscators (DCR plus DJN's
short-exponent assumption, as SecretFlow HEU's ZPaillier). Rows are aligned beforehand (PSI).
Training minimises a quadratic model of the log loss around the guest's own model
(`schedule`); gradients are masked before the arbiter decrypts them. What each party learns
beyond its own data: the guest, one validation-loss value per iteration, the hosts' scalars
pᵀHp and rᵀz, and (for the joint prediction) the hosts' final partial scores; the hosts, α, β
and whether each iteration improved; the arbiter, masked values only.
"""

from compute.fl.hetero_lr.guest import coalition_aucs
from compute.fl.hetero_lr.protocol import PROTOCOL, HeteroLRRun, run_hetero_lr
from compute.fl.hetero_lr.schedule import HeteroLRParams, reference_training

__all__ = ["PROTOCOL", "HeteroLRParams", "HeteroLRRun", "coalition_aucs", "reference_training", "run_hetero_lr"]
