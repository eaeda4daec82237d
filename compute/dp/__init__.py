"""Differential privacy building blocks: exact discrete samplers over `secrets`, zCDP accounting."""

from compute.dp.accounting import epsilon_from_rho, gaussian_sum_rho
from compute.dp.sampling import bernoulli_exp, discrete_gaussian, discrete_gaussian_vector, discrete_laplace

__all__ = [
    "bernoulli_exp",
    "discrete_gaussian",
    "discrete_gaussian_vector",
    "discrete_laplace",
    "epsilon_from_rho",
    "gaussian_sum_rho",
]
