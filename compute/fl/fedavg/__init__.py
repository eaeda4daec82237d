"""FedAvg over several data holders with the same features, each round's aggregate by secure summation.

Security assumption: compute.secagg's (semi-honest, fewer than threshold colluding; a round
survives up to a third of its clients dropping out or straggling); with DP on (the default,
and required for contribution scores), everything any single party sees, the coalition sums
of the contribution phase included, is (ε, δ)-DP for each client, with the ε reported.
"""

from compute.fl.dp import DPParams
from compute.fl.fedavg.params import FedAvgParams, model_hash
from compute.fl.fedavg.protocol import PROTOCOL, FedAvgRun, run_fedavg

__all__ = ["PROTOCOL", "DPParams", "FedAvgParams", "FedAvgRun", "model_hash", "run_fedavg"]
