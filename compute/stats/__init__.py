"""Secure statistics by additive secret sharing (`secure_stats`)."""

from compute.stats.protocol import Statistics, StatsParams, secure_stats

__all__ = ["Statistics", "StatsParams", "secure_stats"]
