"""FedAvg over several data holders with the same features, each round's aggregate by secure summation.

Security assumption: compute.secagg's (semi-honest, fewer than threshold colluding; a round
survives up to a third of its clients dropping out of the aggregation); with DP on, the
aggregate is (ε, δ)-DP towards anyone who sees it.
"""

from compute.fl.dp import DPParams, epsilon
from compute.fl.fedavg.params import FedAvgParams, model_hash
from compute.fl.fedavg.protocol import PROTOCOL, FedAvgRun, run_fedavg

__all__ = ["PROTOCOL", "DPParams", "FedAvgParams", "FedAvgRun", "epsilon", "model_hash", "run_fedavg"]
