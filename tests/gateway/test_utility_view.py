"""The job page's weight check is the one weight rule: a bundle's own say-so about replicas does not count."""

from __future__ import annotations

from gateway.schemas.audit import Contribution, JobSummary, JobTerms, JobTrail, SourceTerm
from gateway.utility_view import utility_view

from .scenario import REPORT, TRANSCRIPT_ROOT, WEIGHTS, result_bundle

OWNERS = ("0x" + "11" * 20, "0x" + "22" * 20)


def _trail(weights: list[int]) -> JobTrail:
    """Job 0 as the chain committed it: the scenario's table hash, `weights`, their contribution hash."""
    summary = JobSummary(
        job_id=0, kind="FEDAVG", status="Finalized", requester=OWNERS[0], participants=[], opened_block=1, opened_at=1
    )
    terms = JobTerms(
        kind="FEDAVG",
        params_hash="0x" + "00" * 32,
        inputs_hash="0x" + "00" * 32,
        budget=10,
        deadline=2,
        fee_bps=500,
        challenge_window=60,
        attestation_window=60,
        resolution_window=60,
        price_sum=0,
        sources=[SourceTerm(source_id=i, version=1, owner=o, price_per_use=0) for i, o in enumerate(OWNERS)],
        compute_parties=[],
        transcript_root="0x" + TRANSCRIPT_ROOT.hex(),
        contribution_hash="0x" + REPORT.contribution_hash.hex(),
        utility_table_hash="0x" + REPORT.utility_table_hash.hex(),
    )
    contributions = [
        Contribution(source_id=i, owner=o, weight=w, share="") for i, (o, w) in enumerate(zip(OWNERS, weights))
    ]
    return JobTrail(job=summary, steps=[], verified=True, terms=terms, contributions=contributions)


def test_groups_a_bundle_declares_are_ignored_the_rule_finds_replicas_in_the_table() -> None:
    # A guest's software declares the two sources one replica group, to halve the other owner's share.
    bundle = result_bundle(0)
    bundle["contribution"]["details"] = {"groups": [[0, 1]], "owners": ["card", "hospital"]}
    halved = [500_000, 500_000]
    bundle["contribution"]["weights"] = bundle["weights"] = halved

    view = utility_view(bundle, _trail(halved))

    assert view is not None and not view.verified
    rule = next(c for c in view.checks if c.name == "weights follow from the table")
    assert rule.status == "failed" and f"the rule gives {WEIGHTS}" in rule.detail


def test_a_bundle_that_follows_the_rule_passes_every_check() -> None:
    view = utility_view(result_bundle(0), _trail(WEIGHTS))

    assert view is not None and view.verified and [c.status for c in view.checks] == ["passed"] * 6
    assert view.sources == [0, 1] and len(view.entries) == 4
