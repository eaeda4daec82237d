"""Paged lists in SQL: the same jobs and statuses as the audit queries, a page at a time, through indexes."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from ledger.audit.listing import event_of_tx, job_page, source_page, sources_registered_by
from ledger.audit.queries import AuditQueries
from ledger.audit.trails import STATUSES, TrailFilter
from ledger.index.store import EventStore
from tests.ledger.audit.conftest import P1, P2, C, H, History, R, register_source
from tests.ledger.audit.factory import TERMS, IndexBuilder

HASH = bytes.fromhex(H[2:])
COMMIT = {
    "committer": C,
    "resultHash": HASH,
    "transcriptRoot": HASH,
    "contributionHash": HASH,
    "weights": [1],
    "utilityTableHash": HASH,
}
# Lifecycle paths after JobOpened, one per status a job can end up in (DisputeResolved both ways).
PATHS: list[list[tuple[str, dict[str, Any]]]] = [
    [],
    [("JobReady", {})],
    [("JobReady", {}), ("ResultCommitted", COMMIT)],
    [("JobReady", {}), ("ResultCommitted", COMMIT), ("JobDisputed", {"disputer": P1, "evidenceHash": HASH})],
    [("JobReady", {}), ("ResultCommitted", COMMIT), ("JobEscalated", {"by": P1, "attestations": 1, "needed": 2})],
    [
        ("JobReady", {}),
        ("ResultCommitted", COMMIT),
        ("JobDisputed", {"disputer": P1, "evidenceHash": HASH}),
        ("DisputeResolved", {"released": True}),
    ],  # fmt: skip
    [
        ("JobReady", {}),
        ("ResultCommitted", COMMIT),
        ("JobDisputed", {"disputer": P1, "evidenceHash": HASH}),
        ("DisputeResolved", {"released": False}),
    ],  # fmt: skip
    [
        ("JobReady", {}),
        ("ResultCommitted", COMMIT),
        ("JobEscalated", {"by": P1, "attestations": 1, "needed": 2}),
        ("DisputeDefaulted", {"by": P1}),
    ],  # fmt: skip
    [("JobReady", {}), ("ResultCommitted", COMMIT), ("JobFinalized", {"escrow": 10})],
    [("JobCancelled", {"refund": 10})],
    [("JobAborted", {"by": C, "reason": HASH})],
]
JOBS = 33


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> EventStore:
    """Two sources and 33 jobs of five kinds, each ending in one of the lifecycle paths, a block apart."""
    store = EventStore(tmp_path_factory.mktemp("listing") / "index.db")
    b = IndexBuilder(store)
    register_source(b, 0, P1, price=1)
    register_source(b, 1, P2, price=1)
    b.block()
    for job_id, path in zip(range(JOBS), itertools.cycle(PATHS), strict=False):
        b.emit(
            "JobOpened",
            R,
            jobId=job_id,
            requester=R,
            kind=job_id % 5,
            sourceIds=[job_id % 2],
            versions=[1],
            paramsHash=HASH,
            inputsHash=HASH,
            computeParties=[C],
            budget=10,
            deadline=1_800_000_000,
            **TERMS,
        )
        b.block(seconds=60)
        for name, values in path:
            b.emit(name, C, jobId=job_id, **values)
            b.block()
    return store


def test_every_filter_gives_the_jobs_and_statuses_the_audit_queries_give(busy: EventStore) -> None:
    everything = AuditQueries(busy).jobs()
    assert {j.status for j in everything} == set(STATUSES)  # every status is exercised
    middle = everything[JOBS // 2].opened_at
    for status, kind, since, until in itertools.product(
        (None, *STATUSES), (None, 0, 3), (None, middle), (None, middle)
    ):
        expected = [
            (j.job_id, j.status)
            for j in everything
            if (status is None or j.status == status)
            and (kind is None or j.kind == kind)
            and (since is None or j.opened_at >= since)
            and (until is None or j.opened_at < until)
        ]
        page = job_page(busy, TrailFilter(status=status, since=since, until=until), 0, 100, kind)
        assert [(j.opened.args["jobId"], j.status) for j in page.items] == expected, (status, kind, since, until)
        assert page.total == len(expected)


def test_job_pages_are_consecutive_newest_first_slices(busy: EventStore) -> None:
    pages = [job_page(busy, TrailFilter(), offset, 10) for offset in range(0, 40, 10)]
    assert {p.total for p in pages} == {JOBS}
    assert [j.opened.args["jobId"] for p in pages for j in p.items] == list(range(JOBS - 1, -1, -1))
    assert job_page(busy, TrailFilter(), 100, 10).items == ()


def test_sources_are_paged_in_registration_order_and_found_by_owner(history: History) -> None:
    assert source_page(history.store, 0, 1).total == 2
    assert source_page(history.store, 0, 1).items == (1,)
    assert source_page(history.store, 1, 5).items == (2,)
    assert sources_registered_by(history.store, P2.lower()) == [2]
    assert sources_registered_by(history.store, R) == []


def test_a_transaction_hash_finds_its_first_event(history: History) -> None:
    opened = AuditQueries(history.store).job_trail(1).events[0]
    found = event_of_tx(history.store, opened.tx_hash)
    assert found is not None and (found.event, found.args["jobId"]) == ("JobOpened", 1)
    assert event_of_tx(history.store, b"\x11" * 32) is None


def test_lists_and_lookups_read_through_indexes_not_table_scans(busy: EventStore) -> None:
    ran: list[str] = []
    busy.conn.set_trace_callback(ran.append)
    try:
        job_page(busy, TrailFilter(), 0, 5, kind=3)
        source_page(busy, 0, 5)
        sources_registered_by(busy, P1)
        event_of_tx(busy, b"\x11" * 32)
    finally:
        busy.conn.set_trace_callback(None)
    plans = {sql: [str(row[-1]) for row in busy.conn.execute(f"EXPLAIN QUERY PLAN {sql}")] for sql in ran}
    assert len(plans) >= 5
    for sql, steps in plans.items():
        scans = [step for step in steps if step.startswith("SCAN") and "INDEX" not in step]
        assert not scans, f"{sql}\nscans a table: {scans}"
    assert any("events_by_tx" in step for step in plans[ran[-1]])


def test_a_job_list_refuses_an_event_name_filter(busy: EventStore) -> None:
    with pytest.raises(ValueError, match="filters jobs, not event names"):
        job_page(busy, TrailFilter(kinds=("JobOpened",)), 0, 5)
    refunded = job_page(busy, TrailFilter(status="Refunded"), 0, 50)
    assert refunded.total == 6  # resolved against and defaulted, each path three times in 33 jobs
