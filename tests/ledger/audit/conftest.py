"""A small consortium's history in an event index: two sources, a finalised job, an aborted job."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.index.store import EventStore
from ledger.payout import split
from ledger.protocol import contribution_hash
from tests.ledger.audit.factory import TERMS, IndexBuilder

H = "0x" + "ab" * 32
R, P1, P2, C = ("0x" + c * 40 for c in "1234")
R, P1, P2, C = (a[:2] + a[2:].upper() for a in (R, P1, P2, C))


@dataclass
class History:
    store: EventStore
    credits: list[tuple[str, int]]


def register_source(
    b: IndexBuilder, source_id: int, owner: str, price: int, rows: int = 1, auto_consent: int = 0
) -> None:
    """Queue a DataSourceRegistered of `owner`'s source for the next block."""
    h = bytes.fromhex(H[2:])
    b.emit(
        "DataSourceRegistered",
        owner,
        sourceId=source_id,
        owner=owner,
        schemaHash=h,
        commitment=h,
        rowCount=rows,
        metadataURI=f"s{source_id}",
        pricePerUse=price,
        allowedKinds=1,
        openToAllRequesters=True,
        autoConsentKinds=auto_consent,
    )


def open_job(b: IndexBuilder, job_id: int, sources: list[int], versions: list[int], budget: int) -> None:
    """Queue R's JobOpened of job `job_id` over `sources` (at `versions`), computed by C, for the next block."""
    h = bytes.fromhex(H[2:])
    b.emit(
        "JobOpened",
        R,
        jobId=job_id,
        requester=R,
        kind=0,
        sourceIds=sources,
        versions=versions,
        paramsHash=h,
        inputsHash=h,
        computeParties=[C],
        budget=budget,
        deadline=1_800_000_000,
        **TERMS,
    )


def commit_result(b: IndexBuilder, job_id: int, weights: list[int]) -> None:
    """Queue C's ResultCommitted of job `job_id` with these contribution `weights`."""
    h = bytes.fromhex(H[2:])
    b.emit(
        "ResultCommitted",
        C,
        jobId=job_id,
        committer=C,
        resultHash=h,
        transcriptRoot=h,
        contributionHash=contribution_hash(weights, h),
        weights=weights,
        utilityTableHash=h,
    )


def write_history(store: EventStore, credits_override: list[tuple[str, int]] | None = None) -> History:
    """Write the scenario; `credits_override` replaces the credits Settlement emitted (a bad payout)."""
    b = IndexBuilder(store)
    h = bytes.fromhex(H[2:])
    register_source(b, 1, P1, price=100, rows=100)
    register_source(b, 2, P2, price=50, rows=50, auto_consent=1)
    b.block()
    b.emit("CommitmentUpdated", P1, sourceId=1, version=2, commitment=b"\x02" * 32, rowCount=120)
    b.block()
    open_job(b, 1, [1, 2], [2, 1], budget=1000)
    b.emit("ConsentGiven", R, jobId=1, sourceId=2, owner=P2, automatic=True)
    b.block()
    b.emit("ConsentGiven", P1, jobId=1, sourceId=1, owner=P1, automatic=False)
    b.emit("JobReady", P1, jobId=1)
    b.block()
    commit_result(b, 1, [3, 1])
    b.block()
    for signer in (P1, P2, C):
        b.emit("AttestationRecorded", C, jobId=1, signer=signer, submitter=C)
    b.block()
    credits = credits_override or [(c.payee, c.amount) for c in split(1000, [P1, P2], [100, 50], [3, 1], [C], 500)]
    b.emit("JobFinalized", C, jobId=1, escrow=1000)
    for payee, amount in credits:
        b.emit("PaymentCredited", C, jobId=1, payee=payee, amount=amount)
    b.emit("EscrowReleased", C, jobId=1, amount=1000, feeBps=500)
    b.block(seconds=3600)
    open_job(b, 2, [1], [2], budget=200)
    b.block()
    b.emit("JobAborted", C, jobId=2, by=C, reason=h)
    b.emit("PaymentWithdrawn", P1, payee=P1, amount=credits[0][1])
    b.block()
    return History(store, credits)


@pytest.fixture
def history(tmp_path: Path) -> History:
    return write_history(EventStore(tmp_path / "index.db"))


@pytest.fixture
def builder(tmp_path: Path) -> IndexBuilder:
    """An empty index to write a scenario of the test's own into."""
    return IndexBuilder(EventStore(tmp_path / "scenario.db"))
