"""A source's uses from the derived `job_facts` (one lifecycle row per job) equal those its events rows give."""

from __future__ import annotations

from pathlib import Path

from ledger.audit.queries import AuditQueries
from ledger.index.store import EventStore
from tests.ledger.audit.conftest import P1, C, H, commit_result, open_job, register_source
from tests.ledger.audit.factory import IndexBuilder


def test_source_uses_from_job_facts_equal_the_events_rows_for_disputes_two_consents_and_big_credits(
    tmp_path: Path,
) -> None:
    b, h, big = IndexBuilder(EventStore(tmp_path / "i.db")), bytes.fromhex(H[2:]), 773188704377408754817  # past 2**64
    register_source(b, 1, P1, price=0)
    register_source(b, 2, P1, price=0)  # P1 owns both: job 11 pays it for each
    b.block()
    for job in (10, 11, 12, 13):
        open_job(b, job, [1, 2] if job == 11 else [1], [1, 1] if job == 11 else [1], budget=1000)
    b.emit("ConsentGiven", P1, jobId=10, sourceId=1, owner=P1, automatic=False)
    b.emit("ConsentGiven", P1, jobId=11, sourceId=1, owner=P1, automatic=False)
    b.emit("ConsentGiven", P1, jobId=11, sourceId=2, owner=P1, automatic=False)
    b.emit("JobReady", P1, jobId=10)
    b.emit("JobReady", P1, jobId=11)
    b.emit("ConsentGiven", P1, jobId=12, sourceId=1, owner=P1, automatic=False)
    b.block()
    commit_result(b, 10, [1])
    b.block()
    b.emit("JobDisputed", P1, jobId=10, disputer=P1, evidenceHash=h)
    for job in (11, 12):
        b.emit("JobFinalized", C, jobId=job, escrow=1000)
        b.emit("PaymentCredited", C, jobId=job, payee=P1, amount=big)
        b.emit("PaymentCredited", C, jobId=job, payee=P1, amount=5)
    b.block()
    b.emit("DisputeResolved", C, jobId=10, released=False)
    b.block()
    queries = AuditQueries(b.store)

    derived = queries.source_trail(1)
    from_rows = queries.source_trail(1, derived=False)

    assert derived == from_rows
    statuses = [(u.job_id, u.status) for u in derived.uses]
    assert statuses == [(10, "Refunded"), (11, "Finalized"), (12, "Finalized"), (13, "Open")]
    # Job 11 credits P1 for two sources: source 1's share is the payout rule's (no committed table: 0),
    # not P1's total; job 12 credits P1 for source 1 alone, past 64 bits exactly.
    assert [u.paid for u in derived.uses] == [0, 0, big + 5, 0]
