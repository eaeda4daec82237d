"""Federated learning: FedAvg with secure aggregation and optional DP, Paillier hetero logistic
regression (guest / hosts / arbiter), the numpy models and metrics they share, and the
benchmark data sets (FATE's breast and default_credit vertical splits).
"""
