"""The job page's weight check is the one weight rule: a bundle's own say-so about replicas does not count."""

from __future__ import annotations

from gateway.utility_view import rule_weights

from .scenario import UTILITY_TABLE, WEIGHTS


def test_groups_a_bundle_declares_are_ignored_the_rule_finds_replicas_in_the_table() -> None:
    # A guest's software declares the two sources one replica group, to halve the other owner's share.
    declared = {"groups": [[0, 1]], "owners": ["card", "hospital"]}

    assert rule_weights(UTILITY_TABLE, declared) == WEIGHTS == [750000, 250000]
