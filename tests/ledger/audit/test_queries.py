"""Audit queries: the trails of a job, a source and a member, with their filters."""

from __future__ import annotations

import pytest

from ledger.audit.queries import AuditQueries
from ledger.audit.trails import TrailFilter
from ledger.errors import AuditError
from ledger.payout import split
from tests.ledger.audit.conftest import P1, P2, C, R, commit_result, open_job, register_source
from tests.ledger.audit.factory import IndexBuilder


def test_job_trail_lists_every_event_in_chain_order_with_status(history) -> None:
    trail = AuditQueries(history.store).job_trail(1)
    assert trail.status == "Finalized"
    assert [e.event for e in trail.events] == [
        "JobOpened",
        "ConsentGiven",
        "ConsentGiven",
        "JobReady",
        "ResultCommitted",
        "AttestationRecorded",
        "AttestationRecorded",
        "AttestationRecorded",
        "JobFinalized",
        "PaymentCredited",
        "PaymentCredited",
        "PaymentCredited",
        "EscrowReleased",
    ]
    positions = [(e.block_number, e.log_index) for e in trail.events]
    assert positions == sorted(positions)
    assert trail.events[3].actor == P1 and trail.events[0].args["computeParties"] == [C]


def test_job_trail_filters_by_kind_time_and_status(history) -> None:
    queries = AuditQueries(history.store)
    consents = queries.job_trail(1, TrailFilter(kinds=("ConsentGiven",))).events
    assert [e.args["sourceId"] for e in consents] == [2, 1]
    opened_at = queries.job_trail(1).events[0].block_time
    assert {e.block_time for e in queries.job_trail(1, TrailFilter(until=opened_at + 1)).events} == {opened_at}
    assert queries.job_trail(2, TrailFilter(status="Finalized")).events == ()
    assert queries.job_trail(2).status == "Aborted"


def test_source_trail_has_versions_and_every_job_with_consent_and_payout(history) -> None:
    trail = AuditQueries(history.store).source_trail(1)
    assert trail.owner == P1
    assert [(v.version, v.row_count) for v in trail.versions] == [(1, 100), (2, 120)]
    [first, second] = trail.uses
    assert (first.job_id, first.version, first.status, first.paid) == (1, 2, "Finalized", dict(history.credits)[P1])
    assert first.consent is not None and first.consent.args["automatic"] is False
    assert (second.job_id, second.status, second.consent, second.paid) == (2, "Aborted", None, 0)
    only_final = AuditQueries(history.store).source_trail(1, TrailFilter(status="Finalized"))
    assert [u.job_id for u in only_final.uses] == [1]
    assert all(e.args.get("jobId", 1) == 1 for e in only_final.events)


def test_member_trail_has_actions_credits_and_withdrawals(history) -> None:
    queries = AuditQueries(history.store)
    trail = queries.member_trail(P1.lower())
    assert trail.credited == dict(history.credits)[P1] and trail.withdrawn == trail.credited
    assert "CommitmentUpdated" in [e.event for e in trail.events]
    compute = queries.member_trail(C, TrailFilter(status="Aborted"))
    assert [e.event for e in compute.events] == ["JobOpened", "JobAborted"]
    assert queries.member_trail(R, TrailFilter(kinds=("JobOpened",))).events[1].args["jobId"] == 2
    assert queries.member_trail(P2).credited == dict(history.credits)[P2]


def test_jobs_are_listed_newest_first_with_status(history) -> None:
    jobs = AuditQueries(history.store).jobs()
    assert [(j.job_id, j.status, j.requester, j.budget) for j in jobs] == [
        (2, "Aborted", R, 200),
        (1, "Finalized", R, 1000),
    ]
    assert [j.job_id for j in AuditQueries(history.store).jobs("Finalized")] == [1]


def test_unknown_job_source_or_status_is_a_clear_error(history) -> None:
    queries = AuditQueries(history.store)
    with pytest.raises(AuditError, match="no job 9"):
        queries.job_trail(9)
    with pytest.raises(AuditError, match="no data source 9"):
        queries.source_trail(9)
    with pytest.raises(ValueError, match="unknown job status 'Done'"):
        TrailFilter(status="Done")


def test_source_used_by_list_honours_since_and_until(history) -> None:
    queries = AuditQueries(history.store)
    second_opened = queries.job_trail(2).events[0].block_time
    assert [u.job_id for u in queries.source_trail(1).uses] == [1, 2]
    assert [u.job_id for u in queries.source_trail(1, TrailFilter(since=second_opened)).uses] == [2]
    assert [u.job_id for u in queries.source_trail(1, TrailFilter(until=second_opened)).uses] == [1]


def test_an_owner_of_two_sources_is_paid_per_source_not_twice(builder: IndexBuilder) -> None:
    b = builder
    for source, price in ((1, 100), (2, 50)):
        register_source(b, source, P1, price)
    b.block()
    open_job(b, 1, [1, 2], [1, 1], budget=1000)
    for source in (1, 2):
        b.emit("ConsentGiven", P1, jobId=1, sourceId=source, owner=P1, automatic=False)
    commit_result(b, 1, [3, 1])
    credits = split(1000, [P1, P1], [100, 50], [3, 1], [C], 500)
    b.emit("JobFinalized", C, jobId=1, escrow=1000)
    for credit in credits:
        b.emit("PaymentCredited", C, jobId=1, payee=credit.payee, amount=credit.amount)
    b.emit("EscrowReleased", C, jobId=1, amount=1000, feeBps=500)
    b.block()
    queries = AuditQueries(b.store)
    paid = [queries.source_trail(s).uses[0].paid for s in (1, 2)]
    assert paid == [credits[0].amount, credits[1].amount]
    assert sum(paid) == sum(c.amount for c in credits if c.payee == P1)  # the owner's total, counted once


def test_an_abort_reason_prints_as_its_text() -> None:
    from ledger.audit.render import json_args, reason_text

    reason = "0x" + b"no consent from source 2".ljust(32, b"\0").hex()
    assert reason_text(reason) == "'no consent from source 2'"
    assert reason_text("0x" + "ff" * 32) == "0x" + "ff" * 32  # not text: left as hex
    assert json_args("JobAborted", {"reason": reason})["reason"] == {"hex": reason, "text": "no consent from source 2"}


def test_a_source_paid_beyond_2_to_the_63_is_exact(builder: IndexBuilder) -> None:
    huge, b = 773188704377408754817, builder  # the amount jq and JavaScript rounded
    register_source(b, 1, P1, price=0)
    b.block()
    open_job(b, 1, [1], [1], budget=huge)
    b.emit("ConsentGiven", P1, jobId=1, sourceId=1, owner=P1, automatic=False)
    b.emit("PaymentCredited", C, jobId=1, payee=P1, amount=huge)
    b.block()
    assert AuditQueries(b.store).source_trail(1).uses[0].paid == huge


def test_member_names_start_from_genesis_and_follow_admissions_and_key_rotations(builder: IndexBuilder) -> None:
    b = builder
    b.emit("MemberAdded", R, member=P2, roles=2, name="hospital")
    b.block()
    b.emit("MemberRotated", R, **{"from": P1, "to": C})
    b.block()
    names = AuditQueries(b.store, {P1: "bank", R: "bureau"}).member_names()
    assert names == {P1.lower(): "bank", R.lower(): "bureau", P2.lower(): "hospital", C.lower(): "bank"}
    assert AuditQueries(b.store).member_names() == {P2.lower(): "hospital"}  # no genesis members: events only
