"""Secure aggregation of vectors with dropout tolerance (`secure_aggregate`)."""

from compute.secagg.protocol import AggregationParams, secure_aggregate

__all__ = ["AggregationParams", "secure_aggregate"]
